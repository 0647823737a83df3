/* ht-compare-view.c - the Compare view: this recording (A) and another (B).
 *
 * Side by side: two HtComparePanes kept in step (one grouping, sort and filter for both;
 * a location selected on one side is selected on the other; both timelines on one
 * scale).  Difference: live memory at the peak of each, location by location, sorted by
 * the change, above a differential flame graph (B's shape, red where it grew, blue where it
 * shrank).  Locations align as `heaptrail diff` aligns them, by function, file and line,
 * so differently built binaries compare.
 */
#include "ht-compare-pane.h"
#include "ht-compare-view.h"
#include "ht-gui.h"

struct _HtCompareView
{
  GtkBox parent_instance;

  /* template children */
  GtkDropDown *pick;
  GtkButton *go;
  GtkDropDown *group_by;
  GtkDropDown *sort_by;
  GtkSearchEntry *search;
  GtkLabel *status;
  GtkStack *modes;
  HtComparePane *pane_a;
  HtComparePane *pane_b;
  GtkBox *chart_box;
  GtkScrolledWindow *table_window;
  GtkBox *flame_box;

  HtDb *db;
  HtDb *other;
  char *other_title;
  GListStore *store; /* HtRow: the difference */
  GtkCustomFilter *filter;
  GtkColumnView *table;
  GtkWidget *flame;
  double time_from, time_to; /* the page's time range; time_to 0: the whole runs */
};

G_DEFINE_FINAL_TYPE (HtCompareView, ht_compare_view, GTK_TYPE_BOX)

static void
choice_setup (GtkSignalListItemFactory *f, GtkListItem *item, gpointer data)
{
  (void) f;
  (void) data;
  gtk_list_item_set_child (item, gtk_label_new (NULL));
}

static void
choice_bind (GtkSignalListItemFactory *f, GtkListItem *item, gpointer data)
{
  (void) f;
  (void) data;
  const char *path = gtk_string_object_get_string (gtk_list_item_get_item (item));
  g_autofree char *base = g_path_get_basename (path);
  GtkWidget *l = gtk_list_item_get_child (item);
  gtk_label_set_text (GTK_LABEL (l), base);
  gtk_widget_set_tooltip_text (l, path);
}

static const char *
chosen (HtCompareView *self)
{
  GtkStringObject *o = gtk_drop_down_get_selected_item (self->pick);
  return o ? gtk_string_object_get_string (o) : NULL;
}

static void
go_clicked (HtCompareView *self)
{
  const char *path = chosen (self);
  g_autoptr (GError) error = NULL;
  if (path && !ht_compare_view_compare_with (self, path, &error))
    {
      g_autofree char *text = g_strdup_printf (_("Cannot show this: %s"), error->message);
      gtk_label_set_text (self->status, text);
    }
}

static void
choices_changed (GListModel *choices, guint pos, guint removed, guint added,
                 HtCompareView *self)
{
  (void) pos;
  (void) removed;
  (void) added;
  gtk_widget_set_sensitive (GTK_WIDGET (self->go), g_list_model_get_n_items (choices) > 0);
}

static gboolean
is_other_recording (gpointer item, gpointer data)
{
  return g_strcmp0 (gtk_string_object_get_string (item), data) != 0;
}

static gboolean
diff_row_passes (gpointer item, gpointer data)
{
  HtCompareView *self = data;
  return ht_row_key_holds (item, gtk_editable_get_text (GTK_EDITABLE (self->search)));
}

static HtGroupBy
grouping (HtCompareView *self)
{
  static const HtGroupBy by[] = { HT_GROUP_LINE, HT_GROUP_FUNCTION, HT_GROUP_FILE };
  guint i = gtk_drop_down_get_selected (self->group_by);
  return by[MIN (i, G_N_ELEMENTS (by) - 1)];
}

/* The difference: B's locations at its peak against A's, sorted by the change. */
static gboolean
fill_difference (HtCompareView *self, GError **error)
{
  HtTopOptions opt = { .by = grouping (self), .time_from_s = self->time_from,
                       .time_to_s = self->time_to };
  g_autoptr (GPtrArray) diffs = ht_query_diff (self->db, "peak", self->other, "peak", &opt,
                                               error);
  if (!diffs)
    return FALSE;
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < diffs->len; i++)
    {
      const HtStatDiff *d = diffs->pdata[i];
      HtRow *row = ht_row_from_stat (d->stat, self->other);
      row->values[0] = (gint64) d->stat->size - d->size_diff;
      row->values[1] = (gint64) d->stat->size;
      row->values[2] = d->size_diff;
      row->values[3] = (gint64) d->stat->count - d->count_diff;
      row->values[4] = (gint64) d->stat->count;
      g_ptr_array_add (rows, row);
    }
  ht_store_replace (self->store, rows);
  return TRUE;
}

/* Both sides and the difference, at the grouping chosen. */
static gboolean
load_all (HtCompareView *self, GError **error)
{
  g_autofree char *this_title = g_path_get_basename (ht_db_path (self->db));
  g_autofree char *a = g_strdup_printf (_("A: %s (this)"), this_title);
  g_autofree char *b = g_strdup_printf (_("B: %s"), self->other_title);
  HtTopOptions base = { .by = grouping (self), .time_from_s = self->time_from,
                        .time_to_s = self->time_to };
  return ht_compare_pane_load (self->pane_a, self->db, a, &base, error)
         && ht_compare_pane_load (self->pane_b, self->other, b, &base, error)
         && fill_difference (self, error);
}

/* The same, when the grouping changed: a failure is said in the status line. */
static void
reload (HtCompareView *self)
{
  if (!self->other)
    return;
  g_autoptr (GError) error = NULL;
  if (!load_all (self, &error))
    {
      g_autofree char *text = g_strdup_printf (_("Cannot show this: %s"), error->message);
      gtk_label_set_text (self->status, text);
    }
}

static void
sort_changed (HtCompareView *self)
{
  HtCompareColumn c = (HtCompareColumn) gtk_drop_down_get_selected (self->sort_by);
  ht_compare_pane_set_sort (self->pane_a, c);
  ht_compare_pane_set_sort (self->pane_b, c);
}

static void
filter_changed (HtCompareView *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->search));
  ht_compare_pane_set_filter (self->pane_a, text);
  ht_compare_pane_set_filter (self->pane_b, text);
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
}

/* A location selected on one side is selected on the other (or nothing, when it has no
 * such location). */
static void
location_selected (HtCompareView *self, const char *match, HtComparePane *pane)
{
  ht_compare_pane_select (pane == self->pane_a ? self->pane_b : self->pane_a, match);
}

static void
ht_compare_view_dispose (GObject *object)
{
  HtCompareView *self = HT_COMPARE_VIEW (object);
  gtk_widget_dispose_template (GTK_WIDGET (self), HT_TYPE_COMPARE_VIEW);
  g_clear_pointer (&self->other, ht_db_close);
  g_clear_object (&self->store);
  g_clear_object (&self->filter);
  g_clear_pointer (&self->other_title, g_free);
  G_OBJECT_CLASS (ht_compare_view_parent_class)->dispose (object);
}

static void
ht_compare_view_class_init (HtCompareViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = ht_compare_view_dispose;
  g_type_ensure (HT_TYPE_COMPARE_PANE);
  gtk_widget_class_set_template_from_resource (
    widget_class, "/org/heaptrail/Heaptrail/gtk/ht-compare-view.ui");
  gtk_widget_class_bind_template_child (widget_class, HtCompareView, pick);
  gtk_widget_class_bind_template_child (widget_class, HtCompareView, go);
  gtk_widget_class_bind_template_child (widget_class, HtCompareView, group_by);
  gtk_widget_class_bind_template_child (widget_class, HtCompareView, sort_by);
  gtk_widget_class_bind_template_child (widget_class, HtCompareView, search);
  gtk_widget_class_bind_template_child (widget_class, HtCompareView, status);
  gtk_widget_class_bind_template_child (widget_class, HtCompareView, modes);
  gtk_widget_class_bind_template_child (widget_class, HtCompareView, pane_a);
  gtk_widget_class_bind_template_child (widget_class, HtCompareView, pane_b);
  gtk_widget_class_bind_template_child (widget_class, HtCompareView, chart_box);
  gtk_widget_class_bind_template_child (widget_class, HtCompareView, table_window);
  gtk_widget_class_bind_template_child (widget_class, HtCompareView, flame_box);
  gtk_widget_class_bind_template_callback (widget_class, choice_setup);
  gtk_widget_class_bind_template_callback (widget_class, choice_bind);
  gtk_widget_class_bind_template_callback (widget_class, go_clicked);
  gtk_widget_class_bind_template_callback (widget_class, reload);
  gtk_widget_class_bind_template_callback (widget_class, sort_changed);
  gtk_widget_class_bind_template_callback (widget_class, filter_changed);
  gtk_widget_class_bind_template_callback (widget_class, location_selected);
}

static void
ht_compare_view_init (HtCompareView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->store = g_list_store_new (HT_TYPE_ROW);
  self->filter = gtk_custom_filter_new (diff_row_passes, self, NULL);
  const char *titles[] = { _("Where"), _("A (B)"), _("B (B)"), _("Change (B)"),
                           _("Count in A"), _("Count in B"), NULL };
  self->table = GTK_COLUMN_VIEW (ht_table_new (self->store, titles, FALSE,
                                               GTK_FILTER (self->filter), FALSE));
  ht_table_sort_by (GTK_WIDGET (self->table), 3); /* the change, growth first */
  gtk_scrolled_window_set_child (self->table_window, GTK_WIDGET (self->table));
  self->flame = ht_flame_graph_new (NULL);
  gtk_widget_set_size_request (self->flame, -1, 160);
  gtk_box_append (self->flame_box, self->flame);
}

GtkWidget *
ht_compare_view_new (HtDb *db, GListModel *recordings)
{
  HtCompareView *self = g_object_new (HT_TYPE_COMPARE_VIEW, NULL);
  self->db = db;
  /* every recording open or recent but this one */
  GtkFilter *others = GTK_FILTER (gtk_custom_filter_new (is_other_recording,
                                                         g_strdup (ht_db_path (db)), g_free));
  GtkFilterListModel *choices = gtk_filter_list_model_new (g_object_ref (recordings), others);
  gtk_drop_down_set_model (self->pick, G_LIST_MODEL (choices));
  choices_changed (G_LIST_MODEL (choices), 0, 0, 0, self);
  g_signal_connect_object (choices, "items-changed", G_CALLBACK (choices_changed), self, 0);
  g_object_unref (choices);
  /* another recording is at hand: the view opens compared with it, not empty */
  const char *first = chosen (self);
  if (first && !ht_compare_view_compare_with (self, first, NULL))
    gtk_label_set_text (self->status, _("Pick a recording to compare with."));
  return GTK_WIDGET (self);
}

/* The flame graphs of both at their peaks, by function: B's drawn against A's. */
static void
fill_flame (HtCompareView *self)
{
  HtTopOptions opt = { .by = HT_GROUP_FUNCTION, .at = "peak", .time_from_s = self->time_from,
                       .time_to_s = self->time_to };
  HtCallNode *a = ht_query_call_tree (self->db, &opt, FALSE, NULL);
  HtCallNode *b = ht_query_call_tree (self->other, &opt, FALSE, NULL);
  ht_flame_graph_set_root (HT_FLAME_GRAPH (self->flame), b);
  ht_flame_graph_set_baseline (HT_FLAME_GRAPH (self->flame), a);
}

/* Both timelines on one scale: the longer run's time, the larger heap or RSS. */
static void
fill_timelines (HtCompareView *self)
{
  g_autoptr (GArray) a = ht_query_timeline (self->db, NULL);
  g_autoptr (GArray) b = ht_query_timeline (self->other, NULL);
  double tmax = 0, vmax = 0;
  GArray *sets[] = { a, b };
  for (guint s = 0; s < 2; s++)
    for (guint i = 0; sets[s] && i < sets[s]->len; i++)
      {
        const HtTimePoint *p = &g_array_index (sets[s], HtTimePoint, i);
        tmax = MAX (tmax, p->time_s);
        vmax = MAX (vmax, (double) MAX (p->heap_bytes, p->rss_bytes));
      }
  ht_compare_pane_set_timeline (self->pane_a, a, tmax, vmax);
  ht_compare_pane_set_timeline (self->pane_b, b, tmax, vmax);
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->chart_box))))
    gtk_box_remove (self->chart_box, child);
  if (a && b)
    {
      GtkWidget *overlay = ht_timeline_overlay_new (a, b, "A", "B");
      gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (overlay), 140);
      gtk_widget_set_vexpand (overlay, FALSE);
      gtk_box_append (self->chart_box, overlay);
    }
}

gboolean
ht_compare_view_compare_with (HtCompareView *self, const char *db_path, GError **error)
{
  HtDb *other = ht_db_open (db_path, error);
  if (!other)
    return FALSE;
  g_clear_pointer (&self->other, ht_db_close);
  self->other = other;
  g_free (self->other_title);
  self->other_title = g_path_get_basename (db_path);
  if (!load_all (self, error))
    return FALSE;
  sort_changed (self);
  fill_timelines (self);
  fill_flame (self);
  g_autofree char *status
    = g_strdup_printf (_("A is this recording, B is %s: %u locations at the peak of each; "
                         "a positive change is more in B."),
                       self->other_title, g_list_model_get_n_items (G_LIST_MODEL (self->store)));
  gtk_label_set_text (self->status, status);
  return TRUE;
}

GListModel *
ht_compare_view_rows (HtCompareView *self)
{
  return ht_table_visible (self->table);
}

void
ht_compare_view_show_difference (HtCompareView *self, gboolean difference)
{
  gtk_stack_set_visible_child_name (self->modes, difference ? "difference" : "side");
}

gboolean
ht_compare_view_compared (HtCompareView *self)
{
  return self->other != NULL;
}

void
ht_compare_view_set_time_range (HtCompareView *self, double from, double to)
{
  self->time_from = from;
  self->time_to = to;
  if (!self->other)
    return;
  reload (self);
  sort_changed (self);
  fill_flame (self);
}
