/* ht-compare-pane.c - HtComparePane: one recording's side of Compare's side by side.
 *
 * Its name, its timeline on the scale both sides share, and its locations (live at the
 * peak, allocated, leaked) at the grouping, sort, filter and selection the
 * Compare view keeps the same on both sides: the pane shows, the view decides.  A location
 * the user selects is said with "location-selected" (its match: function, file and line,
 * as `heaptrail diff` aligns recordings), so that the other side can select it too.
 */
#include "ht-compare-pane.h"
#include "ht-gui.h"

struct _HtComparePane
{
  GtkBox parent_instance;

  /* template children */
  GtkLabel *title;
  GtkBox *chart_box;
  GtkScrolledWindow *table_window;

  GListStore *store; /* HtRow */
  char *needle;      /* the filter; NULL: none */
  GtkCustomFilter *filter;
  HtCompareColumn sort_column;
  GtkCustomSorter *sorter;
  GtkColumnView *table;
  gboolean selecting; /* a selection made by the view, not the user: not said again */
};

G_DEFINE_FINAL_TYPE (HtComparePane, ht_compare_pane, GTK_TYPE_BOX)

enum
{
  LOCATION_SELECTED,
  N_SIGNALS,
};
static guint signals[N_SIGNALS];

static gboolean
row_passes (gpointer item, gpointer data)
{
  HtComparePane *self = data;
  return ht_row_key_holds (item, self->needle);
}

static int
row_order (gconstpointer a, gconstpointer b, gpointer data)
{
  const HtComparePane *self = data;
  const HtRow *x = a, *y = b;
  if (self->sort_column == HT_COMPARE_WHERE)
    return g_strcmp0 (x->key, y->key);
  gint64 u = x->values[self->sort_column], v = y->values[self->sort_column];
  return u > v ? -1 : u < v ? 1 : g_strcmp0 (x->key, y->key); /* largest first */
}

static GtkSingleSelection *
selection (HtComparePane *self)
{
  return GTK_SINGLE_SELECTION (gtk_column_view_get_model (self->table));
}

static void
selection_changed (GtkSelectionModel *model, guint pos, guint n, HtComparePane *self)
{
  (void) model;
  (void) pos;
  (void) n;
  if (!self->selecting)
    g_signal_emit (self, signals[LOCATION_SELECTED], 0, ht_compare_pane_selected (self));
}

static void
ht_compare_pane_dispose (GObject *object)
{
  HtComparePane *self = HT_COMPARE_PANE (object);
  gtk_widget_dispose_template (GTK_WIDGET (self), HT_TYPE_COMPARE_PANE);
  g_clear_object (&self->store);
  g_clear_object (&self->filter);
  g_clear_object (&self->sorter);
  g_clear_pointer (&self->needle, g_free);
  G_OBJECT_CLASS (ht_compare_pane_parent_class)->dispose (object);
}

static void
ht_compare_pane_class_init (HtComparePaneClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = ht_compare_pane_dispose;
  gtk_widget_class_set_template_from_resource (
    widget_class, "/org/heaptrail/Heaptrail/gtk/ht-compare-pane.ui");
  gtk_widget_class_bind_template_child (widget_class, HtComparePane, title);
  gtk_widget_class_bind_template_child (widget_class, HtComparePane, chart_box);
  gtk_widget_class_bind_template_child (widget_class, HtComparePane, table_window);
  /* the user selected a location (its match), or none (NULL) */
  signals[LOCATION_SELECTED] = g_signal_new ("location-selected", G_TYPE_FROM_CLASS (klass),
                                             G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                             G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
ht_compare_pane_init (HtComparePane *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->store = g_list_store_new (HT_TYPE_ROW);
  self->filter = gtk_custom_filter_new (row_passes, self, NULL);
  self->sorter = gtk_custom_sorter_new (row_order, self, NULL);
  GtkFilterListModel *filtered
    = gtk_filter_list_model_new (G_LIST_MODEL (g_object_ref (self->store)),
                                 GTK_FILTER (g_object_ref (self->filter)));
  GtkSortListModel *sorted
    = gtk_sort_list_model_new (G_LIST_MODEL (filtered), GTK_SORTER (g_object_ref (self->sorter)));
  /* sorted by the view's choice, the same on both sides: the headers do not sort */
  const char *titles[] = { _("Where"), _("Peak (B)"), _("Allocated (B)"), _("Leaked (B)"),
                           NULL };
  self->table = GTK_COLUMN_VIEW (ht_table_new_lazy (G_LIST_MODEL (sorted), titles, FALSE));
  g_object_unref (sorted);
  GListModel *columns = gtk_column_view_get_columns (self->table);
  g_autoptr (GtkColumnViewColumn) where = g_list_model_get_item (columns, 0);
  gtk_column_view_column_set_fixed_width (where, 170);
  gtk_scrolled_window_set_child (self->table_window, GTK_WIDGET (self->table));
  g_signal_connect (selection (self), "selection-changed", G_CALLBACK (selection_changed), self);
}

gboolean
ht_compare_pane_load (HtComparePane *self, HtDb *db, const char *title,
                      const HtTopOptions *base, GError **error)
{
  gtk_label_set_text (self->title, title);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->title), ht_db_path (db));
  g_autoptr (GHashTable) rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                       g_object_unref);
  HtTopOptions queries[] = { *base, *base, *base };
  queries[HT_COMPARE_PEAK].at = "peak";
  queries[HT_COMPARE_ALLOCATED].allocations = TRUE;
  queries[HT_COMPARE_LEAKED].at = "end";
  for (guint q = 0; q < G_N_ELEMENTS (queries); q++)
    {
      g_autoptr (GPtrArray) stats = ht_query_top (db, &queries[q], error);
      if (!stats)
        return FALSE;
      ht_rows_add_stats (rows, stats, (int) q, -1, db);
    }
  /* one splice: one change for the sort and the list, not one per row */
  g_autoptr (GPtrArray) all = ht_rows_values (rows);
  ht_store_replace (self->store, all);
  return TRUE;
}

void
ht_compare_pane_set_timeline (HtComparePane *self, GArray *points, double tmax, double vmax)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->chart_box))))
    gtk_box_remove (self->chart_box, child);
  if (!points)
    return;
  GtkWidget *timeline = ht_timeline_new (points, NULL, tmax);
  ht_timeline_set_scale (HT_TIMELINE (timeline), tmax, vmax);
  gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (timeline), 150);
  gtk_widget_set_vexpand (timeline, FALSE);
  gtk_box_append (self->chart_box, timeline);
}

void
ht_compare_pane_set_sort (HtComparePane *self, HtCompareColumn column)
{
  self->sort_column = column;
  gtk_sorter_changed (GTK_SORTER (self->sorter), GTK_SORTER_CHANGE_DIFFERENT);
}

void
ht_compare_pane_set_filter (HtComparePane *self, const char *text)
{
  g_clear_pointer (&self->needle, g_free);
  if (text && *text)
    self->needle = g_strdup (text);
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
}

gboolean
ht_compare_pane_select (HtComparePane *self, const char *match)
{
  GtkSingleSelection *sel = selection (self);
  GListModel *model = G_LIST_MODEL (sel);
  guint found = GTK_INVALID_LIST_POSITION;
  for (guint i = 0; match && i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr (HtRow) row = g_list_model_get_item (model, i);
      if (g_strcmp0 (row->match, match) == 0)
        {
          found = i;
          break;
        }
    }
  self->selecting = TRUE;
  gtk_single_selection_set_selected (sel, found);
  self->selecting = FALSE;
  return found != GTK_INVALID_LIST_POSITION;
}

const char *
ht_compare_pane_selected (HtComparePane *self)
{
  HtRow *row = ht_table_selected (self->table);
  return row ? row->match : NULL;
}

GtkColumnView *
ht_compare_pane_get_table (HtComparePane *self)
{
  return self->table;
}
