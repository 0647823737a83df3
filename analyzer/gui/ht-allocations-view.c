/* ht-allocations-view.c - the Allocations view.
 *
 * tracemalloc's statistics('lineno' | 'filename' | 'traceback') and more: for each line,
 * function, file or traceback, what it allocated, how often, on average, what was live at
 * the peak and at exit, what was temporary and (with a heap graph) what it retains; for a
 * sampled recording, how far each estimate of the bytes allocated may be.  A filter
 * narrows the rows; the selected row's stack shows below; double-clicking opens the
 * source; "Show in graph" asks the page for the row's heap graph.
 */
#include "ht-allocations-view.h"
#include "ht-gui.h"

struct _HtAllocationsView
{
  GtkBox parent_instance;

  /* template children */
  GtkDropDown *group_by;
  GtkCheckButton *cumulative;
  GtkSearchEntry *search;
  GtkButton *graph_button;
  GtkScrolledWindow *table_window;
  GtkLabel *stack_panel;
  GtkLabel *status;

  HtDb *db;
  gboolean has_graph;
  gint64 sample_bytes; /* record --sample's rate, or 0 */
  GListStore *store; /* HtRow */
  GtkCustomFilter *filter;
  GtkColumnView *table;
  GtkColumnViewColumn *sd_column; /* shown for sampled recordings only; the table's */
  double time_from, time_to; /* the page's time range; time_to 0: the whole run */
  double span_from, span_to; /* what its time buckets cover */
};

G_DEFINE_FINAL_TYPE (HtAllocationsView, ht_allocations_view, GTK_TYPE_BOX)

enum
{
  GRAPH_REQUESTED,
  N_SIGNALS,
};
static guint signals[N_SIGNALS];

enum
{
  COL_ALLOC_BYTES,
  COL_ALLOC_COUNT,
  COL_AVERAGE,
  COL_PEAK,
  COL_LEAKED,
  COL_TEMPORARY,
  COL_RETAINED,
  COL_ALLOC_SD, /* sampled recordings: the standard deviation of COL_ALLOC_BYTES */
};

/* Queries every column for the grouping chosen, and shows the rows. */
static void
refill (HtAllocationsView *self)
{
  if (!self->db)
    return;
  HtTopOptions opt = { .by = (HtGroupBy) gtk_drop_down_get_selected (self->group_by),
                       .cumulative = gtk_check_button_get_active (self->cumulative) };
  if (opt.by == HT_GROUP_TRACEBACK)
    opt.cumulative = FALSE;
  opt.time_from_s = self->time_from;
  opt.time_to_s = self->time_to;
  gboolean ranged = self->time_to > self->time_from;
  g_autoptr (GHashTable) rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                       g_object_unref);
  struct
  {
    int column;
    HtTopOptions opt;
  } queries[] = {
    { COL_ALLOC_BYTES, opt }, { COL_PEAK, opt }, { COL_LEAKED, opt }, { COL_TEMPORARY, opt },
    { COL_RETAINED, opt },
  };
  queries[0].opt.allocations = TRUE;
  queries[1].opt.at = "peak";
  queries[2].opt.at = "end";
  queries[3].opt.temporary = TRUE;
  queries[4].opt.retained = TRUE;
  queries[4].opt.cumulative = FALSE;
  for (guint q = 0; q < G_N_ELEMENTS (queries); q++)
    {
      if (queries[q].column == COL_RETAINED && (!self->has_graph || ranged))
        continue; /* a heap graph is of a moment, not of a range */
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) stats = ht_query_top (self->db, &queries[q].opt, &error);
      if (!stats)
        {
          g_autofree char *text = g_strdup_printf (_("Cannot show this: %s"), error->message);
          gtk_label_set_text (self->status, text);
          return;
        }
      ht_rows_add_stats (rows, stats, queries[q].column,
                         queries[q].column == COL_ALLOC_BYTES ? COL_ALLOC_COUNT : -1, self->db);
    }
  g_autoptr (GPtrArray) all = ht_rows_values (rows);
  for (guint i = 0; i < all->len; i++)
    {
      HtRow *row = all->pdata[i];
      gint64 n = row->values[COL_ALLOC_COUNT];
      row->values[COL_AVERAGE] = n ? row->values[COL_ALLOC_BYTES] / n : 0;
      row->values[COL_ALLOC_SD] = (gint64) ht_sample_deviation (
          (double) row->values[COL_ALLOC_BYTES], (double) n, (double) self->sample_bytes);
    }
  ht_store_replace (self->store, all);
  g_autofree char *status
    = ranged
        ? g_strdup_printf (_("%u groups of the allocations made between %.3f s and %.3f s "
                             "(the time buckets the range overlaps). Peak and leaked: those "
                             "of them live at the peak and at exit."),
                           g_list_model_get_n_items (G_LIST_MODEL (self->store)),
                           self->span_from, self->span_to)
        : g_strdup_printf (_("%u groups. Peak and leaked are live bytes at the peak and at "
                             "exit%s."),
                           g_list_model_get_n_items (G_LIST_MODEL (self->store)),
                           self->has_graph ? _("; retained: what freeing them would free")
                                           : _("; retained needs record --graph"));
  gtk_label_set_text (self->status, status);
}

static gboolean
row_matches (gpointer item, gpointer data)
{
  HtAllocationsView *self = data;
  return ht_row_key_holds (item, gtk_editable_get_text (GTK_EDITABLE (self->search)));
}

static void
search_changed (HtAllocationsView *self)
{
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
}

static void
selection_changed (GtkSelectionModel *model, guint pos, guint n, HtAllocationsView *self)
{
  (void) model;
  (void) pos;
  (void) n;
  HtRow *row = ht_table_selected (self->table);
  if (!row)
    {
      gtk_label_set_text (self->stack_panel, _("Select a row to see its stack."));
      return;
    }
  g_autofree char *text = ht_traceback_text (row->traceback);
  gtk_label_set_text (self->stack_panel, text);
}

/* The source file of a row's innermost frame, read-only, scrolled to its line.  Nothing
 * named in a recording is ever run: the file is only read. */
static void
show_source (GtkWidget *parent, const HtLocation *l)
{
  g_autofree char *text = NULL;
  if (!l || !l->file || !g_file_get_contents (l->file, &text, NULL, NULL)
      || !g_utf8_validate (text, -1, NULL))
    return;
  GtkWidget *win = gtk_window_new ();
  gtk_window_set_title (GTK_WINDOW (win), l->file);
  gtk_window_set_default_size (GTK_WINDOW (win), 800, 600);
  GtkRoot *root = gtk_widget_get_root (parent);
  if (GTK_IS_WINDOW (root))
    gtk_window_set_transient_for (GTK_WINDOW (win), GTK_WINDOW (root));
  GtkWidget *tv = gtk_text_view_new ();
  gtk_text_view_set_editable (GTK_TEXT_VIEW (tv), FALSE);
  gtk_text_view_set_monospace (GTK_TEXT_VIEW (tv), TRUE);
  GtkTextBuffer *buf = gtk_text_view_get_buffer (GTK_TEXT_VIEW (tv));
  gtk_text_buffer_set_text (buf, text, -1);
  GtkTextTag *mark = gtk_text_buffer_create_tag (buf, NULL, "background", "#fff3b0", NULL);
  GtkTextIter a, b;
  gtk_text_buffer_get_iter_at_line (buf, &a, l->line > 0 ? (int) l->line - 1 : 0);
  b = a;
  gtk_text_iter_forward_to_line_end (&b);
  gtk_text_buffer_apply_tag (buf, mark, &a, &b);
  gtk_text_buffer_place_cursor (buf, &a);
  GtkWidget *sw = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (sw), tv);
  gtk_window_set_child (GTK_WINDOW (win), sw);
  gtk_window_present (GTK_WINDOW (win));
  GtkTextMark *m = gtk_text_buffer_create_mark (buf, NULL, &a, TRUE);
  gtk_text_view_scroll_to_mark (GTK_TEXT_VIEW (tv), m, 0.1, TRUE, 0, 0.3);
}

static void
row_activated (GtkColumnView *table, guint pos, HtAllocationsView *self)
{
  (void) self;
  g_autoptr (HtRow) row = ht_table_row (table, pos);
  if (row && row->traceback && row->traceback->len)
    {
      /* the key frame: the first one in the program's own files */
      const HtLocation *l = row->traceback->pdata[0];
      for (guint i = 0; i < row->traceback->len; i++)
        {
          const HtLocation *c = row->traceback->pdata[i];
          if (c->file && g_file_test (c->file, G_FILE_TEST_IS_REGULAR)
              && !g_str_has_prefix (c->file, "/usr/"))
            {
              l = c;
              break;
            }
        }
      show_source (GTK_WIDGET (table), l);
    }
}

static void
graph_clicked (HtAllocationsView *self)
{
  HtRow *row = ht_table_selected (self->table);
  if (row)
    g_signal_emit (self, signals[GRAPH_REQUESTED], 0, row);
}

static void
ht_allocations_view_dispose (GObject *object)
{
  HtAllocationsView *self = HT_ALLOCATIONS_VIEW (object);
  gtk_widget_dispose_template (GTK_WIDGET (self), HT_TYPE_ALLOCATIONS_VIEW);
  g_clear_object (&self->store);
  G_OBJECT_CLASS (ht_allocations_view_parent_class)->dispose (object);
}

static void
ht_allocations_view_class_init (HtAllocationsViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = ht_allocations_view_dispose;
  gtk_widget_class_set_template_from_resource (
    widget_class, "/org/heaptrail/Heaptrail/gtk/ht-allocations-view.ui");
  gtk_widget_class_bind_template_child (widget_class, HtAllocationsView, group_by);
  gtk_widget_class_bind_template_child (widget_class, HtAllocationsView, cumulative);
  gtk_widget_class_bind_template_child (widget_class, HtAllocationsView, search);
  gtk_widget_class_bind_template_child (widget_class, HtAllocationsView, graph_button);
  gtk_widget_class_bind_template_child (widget_class, HtAllocationsView, table_window);
  gtk_widget_class_bind_template_child (widget_class, HtAllocationsView, stack_panel);
  gtk_widget_class_bind_template_child (widget_class, HtAllocationsView, status);
  gtk_widget_class_bind_template_callback (widget_class, refill);
  gtk_widget_class_bind_template_callback (widget_class, search_changed);
  gtk_widget_class_bind_template_callback (widget_class, graph_clicked);
  /* "Show in graph" was pressed: the selected row (HtRow) */
  signals[GRAPH_REQUESTED] = g_signal_new ("graph-requested", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                                           1, HT_TYPE_ROW);
}

static void
ht_allocations_view_init (HtAllocationsView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->store = g_list_store_new (HT_TYPE_ROW);
  self->filter = gtk_custom_filter_new (row_matches, self, NULL);
  const char *titles[] = { _("Where"), _("Allocated (B)"), _("Allocations"), _("Average (B)"),
                           _("Peak (B)"), _("Leaked (B)"), _("Temporary (B)"),
                           _("Retained (B)"), _("± (B)"), NULL };
  self->table = GTK_COLUMN_VIEW (ht_table_new (self->store, titles, FALSE,
                                               GTK_FILTER (self->filter), TRUE));
  /* the deviation beside the estimate it is of ("Where" is column 0) */
  g_autoptr (GtkColumnViewColumn) sd
      = g_list_model_get_item (gtk_column_view_get_columns (self->table), COL_ALLOC_SD + 1);
  gtk_column_view_insert_column (self->table, COL_ALLOC_BYTES + 2, sd);
  self->sd_column = sd;
  g_signal_connect_object (self->table, "activate", G_CALLBACK (row_activated), self, 0);
  g_signal_connect_object (gtk_column_view_get_model (self->table), "selection-changed",
                           G_CALLBACK (selection_changed), self, 0);
  gtk_scrolled_window_set_child (self->table_window, GTK_WIDGET (self->table));
}

GtkWidget *
ht_allocations_view_new (HtDb *db, gboolean has_graph)
{
  HtAllocationsView *self = g_object_new (HT_TYPE_ALLOCATIONS_VIEW, NULL);
  self->db = db;
  self->has_graph = has_graph;
  self->sample_bytes = ht_db_meta_int (db, "sample_bytes");
  gtk_column_view_column_set_visible (self->sd_column, self->sample_bytes > 0);
  gtk_widget_set_sensitive (GTK_WIDGET (self->graph_button), has_graph);
  refill (self);
  return GTK_WIDGET (self);
}

void
ht_allocations_view_set_group_by (HtAllocationsView *self, HtGroupBy by)
{
  gtk_drop_down_set_selected (self->group_by, by);
}

void
ht_allocations_view_filter (HtAllocationsView *self, HtGroupBy by, const char *key)
{
  gtk_drop_down_set_selected (self->group_by, by);
  gtk_editable_set_text (GTK_EDITABLE (self->search), key);
  /* now, not after the search entry's delay */
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
}

void
ht_allocations_view_focus_search (HtAllocationsView *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self->search));
}

GtkColumnView *
ht_allocations_view_get_table (HtAllocationsView *self)
{
  return self->table;
}

void
ht_allocations_view_set_time_range (HtAllocationsView *self, double from, double to)
{
  self->time_from = from;
  self->time_to = to;
  if (to > from
      && !ht_query_time_range (self->db, from, to, &self->span_from, &self->span_to, NULL, NULL))
    self->span_from = from, self->span_to = to;
  refill (self);
}
