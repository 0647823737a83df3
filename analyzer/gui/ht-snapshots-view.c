/* ht-snapshots-view.c - the Snapshots view.
 *
 * What tracemalloc's Snapshot.compare_to(old, 'lineno') shows: for each line, its live
 * size and count at snapshot B and how they changed since A.  Double-clicking a line asks
 * the page ("site-activated") to show its allocations.
 */
#include "ht-gui.h"
#include "ht-snapshot-pair.h"
#include "ht-snapshots-view.h"

struct _HtSnapshotsView
{
  GtkBox parent_instance;

  /* template children */
  HtSnapshotPair *pair;
  GtkScrolledWindow *table_window;

  HtDb *db;
  GListStore *store; /* HtRow */
  GtkColumnView *table;
};

G_DEFINE_FINAL_TYPE (HtSnapshotsView, ht_snapshots_view, GTK_TYPE_BOX)

enum
{
  SITE_ACTIVATED,
  N_SIGNALS,
};
static guint signals[N_SIGNALS];

static void
refill (HtSnapshotsView *self)
{
  if (!self->db)
    return;
  const char *a = ht_snapshot_pair_get_a (self->pair), *b = ht_snapshot_pair_get_b (self->pair);
  g_list_store_remove_all (self->store);
  if (!a || !b)
    return;
  HtTopOptions opt = { .by = HT_GROUP_LINE };
  g_autoptr (GPtrArray) diffs = ht_query_diff (self->db, a, self->db, b, &opt, NULL);
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; diffs && i < diffs->len; i++)
    {
      const HtStatDiff *d = diffs->pdata[i];
      HtRow *row = ht_row_from_stat (d->stat, self->db);
      row->values[0] = (gint64) d->stat->size;
      row->values[1] = d->size_diff;
      row->values[2] = (gint64) d->stat->count;
      row->values[3] = d->count_diff;
      g_ptr_array_add (rows, row);
    }
  ht_store_replace (self->store, rows);
}

static void
row_activated (GtkColumnView *table, guint position, HtSnapshotsView *self)
{
  g_autoptr (HtRow) row = ht_table_row (table, position);
  if (row)
    g_signal_emit (self, signals[SITE_ACTIVATED], 0, row->key);
}

static void
ht_snapshots_view_dispose (GObject *object)
{
  HtSnapshotsView *self = HT_SNAPSHOTS_VIEW (object);
  gtk_widget_dispose_template (GTK_WIDGET (self), HT_TYPE_SNAPSHOTS_VIEW);
  g_clear_object (&self->store);
  G_OBJECT_CLASS (ht_snapshots_view_parent_class)->dispose (object);
}

static void
ht_snapshots_view_class_init (HtSnapshotsViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = ht_snapshots_view_dispose;
  g_type_ensure (HT_TYPE_SNAPSHOT_PAIR);
  gtk_widget_class_set_template_from_resource (
    widget_class, "/org/heaptrail/Heaptrail/gtk/ht-snapshots-view.ui");
  gtk_widget_class_bind_template_child (widget_class, HtSnapshotsView, pair);
  gtk_widget_class_bind_template_child (widget_class, HtSnapshotsView, table_window);
  gtk_widget_class_bind_template_callback (widget_class, refill);
  /* a line was double-clicked: its "file:line" */
  signals[SITE_ACTIVATED] = g_signal_new ("site-activated", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                                          1, G_TYPE_STRING);
}

static void
ht_snapshots_view_init (HtSnapshotsView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->store = g_list_store_new (HT_TYPE_ROW);
  const char *titles[] = { _("Where"), _("Size (B)"), _("Size change (B)"), _("Count"),
                           _("Count change"), NULL };
  self->table = GTK_COLUMN_VIEW (ht_table_new (self->store, titles, FALSE, NULL, FALSE));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->table),
                               _("Double-click a line for its allocations"));
  g_signal_connect_object (self->table, "activate", G_CALLBACK (row_activated), self, 0);
  gtk_scrolled_window_set_child (self->table_window, GTK_WIDGET (self->table));
  ht_snapshot_pair_set_hint (self->pair, _("like tracemalloc's Snapshot.compare_to(), by line"));
}

GtkWidget *
ht_snapshots_view_new (HtDb *db, GPtrArray *snapshots)
{
  if (snapshots->len < 2)
    return ht_unavailable_new (_("This recording has a single snapshot"),
                               _("Take more with heaptrail_snapshot() in the program, or "
                                 "heaptrail snapshot PID while it runs."));
  HtSnapshotsView *self = g_object_new (HT_TYPE_SNAPSHOTS_VIEW, NULL);
  self->db = db;
  ht_snapshot_pair_set_snapshots (self->pair, snapshots);
  return GTK_WIDGET (self);
}

GListModel *
ht_snapshots_view_rows (HtSnapshotsView *self)
{
  return ht_table_visible (self->table);
}

void
ht_snapshots_view_set_time_range (HtSnapshotsView *self, double from, double to)
{
  ht_snapshot_pair_set_time_range (self->pair, from, to);
}
