/* ht-types-view.c - the Types view.
 *
 * What objgraph's show_growth() shows: for each type, its count and size at snapshot B and
 * how they changed since A, sorted by the change in count.  Double-clicking a type asks the
 * page ("type-activated") for its graph.
 */
#include "ht-gui.h"
#include "ht-snapshot-pair.h"
#include "ht-types-view.h"

struct _HtTypesView
{
  GtkBox parent_instance;

  /* template children */
  HtSnapshotPair *pair;
  GtkScrolledWindow *table_window;

  HtDb *db;
  GListStore *store; /* HtRow */
  GtkColumnView *table;
};

G_DEFINE_FINAL_TYPE (HtTypesView, ht_types_view, GTK_TYPE_BOX)

enum
{
  TYPE_ACTIVATED,
  N_SIGNALS,
};
static guint signals[N_SIGNALS];

static void
refill (HtTypesView *self)
{
  if (!self->db)
    return;
  const char *a = ht_snapshot_pair_get_a (self->pair), *b = ht_snapshot_pair_get_b (self->pair);
  g_list_store_remove_all (self->store);
  if (!a || !b)
    return;
  g_autoptr (GPtrArray) growth = ht_query_growth (self->db, a, b, NULL, NULL);
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; growth && i < growth->len; i++)
    {
      const HtGrowth *g = growth->pdata[i];
      HtRow *row = ht_row_new (g->type, NULL);
      row->values[0] = g->count_b;
      row->values[1] = g->count_b - g->count_a;
      row->values[2] = g->bytes_b;
      row->values[3] = g->bytes_b - g->bytes_a;
      g_ptr_array_add (rows, row);
    }
  ht_store_replace (self->store, rows);
}

static void
row_activated (GtkColumnView *table, guint position, HtTypesView *self)
{
  g_autoptr (HtRow) row = ht_table_row (table, position);
  if (row)
    g_signal_emit (self, signals[TYPE_ACTIVATED], 0, row->key);
}

static void
ht_types_view_dispose (GObject *object)
{
  HtTypesView *self = HT_TYPES_VIEW (object);
  gtk_widget_dispose_template (GTK_WIDGET (self), HT_TYPE_TYPES_VIEW);
  g_clear_object (&self->store);
  G_OBJECT_CLASS (ht_types_view_parent_class)->dispose (object);
}

static void
ht_types_view_class_init (HtTypesViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = ht_types_view_dispose;
  g_type_ensure (HT_TYPE_SNAPSHOT_PAIR);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/heaptrail/Heaptrail/gtk/ht-types-view.ui");
  gtk_widget_class_bind_template_child (widget_class, HtTypesView, pair);
  gtk_widget_class_bind_template_child (widget_class, HtTypesView, table_window);
  gtk_widget_class_bind_template_callback (widget_class, refill);
  /* a type was double-clicked: its name */
  signals[TYPE_ACTIVATED] = g_signal_new ("type-activated", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                                          1, G_TYPE_STRING);
}

static void
ht_types_view_init (HtTypesView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->store = g_list_store_new (HT_TYPE_ROW);
  const char *titles[] = { _("Type"), _("Count"), _("Count change"), _("Size (B)"),
                           _("Size change (B)"), NULL };
  self->table = GTK_COLUMN_VIEW (ht_table_new (self->store, titles, FALSE, NULL, FALSE));
  ht_table_sort_by (GTK_WIDGET (self->table), 2); /* by count change, as show_growth() sorts */
  g_signal_connect_object (self->table, "activate", G_CALLBACK (row_activated), self, 0);
  gtk_scrolled_window_set_child (self->table_window, GTK_WIDGET (self->table));
  ht_snapshot_pair_set_hint (self->pair,
                             _("A type is a heaptrail_tag(), a C++ or Python class (record "
                               "--graph), else the allocating function. Double-click: its graph."));
}

GtkWidget *
ht_types_view_new (HtDb *db, GPtrArray *snapshots)
{
  HtTypesView *self = g_object_new (HT_TYPE_TYPES_VIEW, NULL);
  self->db = db;
  ht_snapshot_pair_set_snapshots (self->pair, snapshots);
  return GTK_WIDGET (self);
}

void
ht_types_view_set_time_range (HtTypesView *self, double from, double to)
{
  ht_snapshot_pair_set_time_range (self->pair, from, to);
}
