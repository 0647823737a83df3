/* ht-graph-view.c - the Graph view.
 *
 * What objgraph's show_backrefs() draws: the chosen blocks (of a type, allocated at a site,
 * or one address) and what points to them, up to the roots, laid out by Graphviz and shown
 * as an image; clicking a node shows where its block was allocated.  Beside it, every live
 * block of the graph, largest retained size first, read from the database as the list
 * scrolls.  The graph exports as .dot, .svg and .png.
 */
#include <string.h>

#include "ht-graph-view.h"
#include "ht-graph.h"

struct _HtGraphView
{
  GtkBox parent_instance;

  /* template children */
  GtkEntry *what;
  GtkSpinButton *depth;
  GtkDropDown *at;
  GtkStringList *at_labels;
  GtkLabel *status;
  GtkLabel *blocks_title;
  GtkScrolledWindow *blocks_window;
  GtkScrolledWindow *graph_window;
  GtkPicture *picture;
  GtkLabel *detail;

  HtDb *db;
  HtHeapView *graph;   /* what is drawn, or NULL */
  GArray *boxes;       /* each node's box in the image (x, y, w, h) */
  double zoom;
  double focus_x, focus_y; /* where in the image to scroll to, once laid out; < 0: done */
  double time_from, time_to; /* the page's time range; time_to 0: the whole run */
  HtBlockList *blocks; /* the live blocks at the chosen snapshot */
  GtkColumnView *blocks_table;
};

G_DEFINE_FINAL_TYPE (HtGraphView, ht_graph_view, GTK_TYPE_BOX)

static void
show_error (HtGraphView *self, const GError *error)
{
  g_autofree char *text = g_strdup_printf (_("Cannot show this: %s"), error->message);
  gtk_label_set_text (self->status, text);
}

static const char *
chosen_snapshot (HtGraphView *self)
{
  GtkStringObject *o = gtk_drop_down_get_selected_item (self->at);
  return o ? gtk_string_object_get_string (o) : NULL;
}

static gboolean
scroll_now (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  (void) widget;
  (void) clock;
  HtGraphView *self = data;
  GtkAdjustment *h = gtk_scrolled_window_get_hadjustment (self->graph_window);
  GtkAdjustment *v = gtk_scrolled_window_get_vadjustment (self->graph_window);
  if (self->focus_x >= 0)
    {
      gtk_adjustment_set_value (h, self->focus_x - gtk_adjustment_get_page_size (h) / 2);
      gtk_adjustment_set_value (v, self->focus_y - gtk_adjustment_get_page_size (v) / 2);
    }
  self->focus_x = self->focus_y = -1;
  return G_SOURCE_REMOVE;
}

/* Brings the image's point (focus_x, focus_y) to the middle of the window, once the image's
 * new size has reached the scrollbars (their "changed", during the viewport's allocation:
 * the scroll itself waits for the next frame, before its layout, or the viewport would not
 * move its child). */
static void
scroll_to_focus (HtGraphView *self)
{
  if (self->focus_x < 0)
    return;
  GtkAdjustment *h = gtk_scrolled_window_get_hadjustment (self->graph_window);
  GtkAdjustment *v = gtk_scrolled_window_get_vadjustment (self->graph_window);
  if (gtk_adjustment_get_upper (h) < self->focus_x || gtk_adjustment_get_upper (v) < self->focus_y
      || gtk_adjustment_get_page_size (h) <= 0 || gtk_adjustment_get_page_size (v) <= 0)
    return; /* not laid out at its new size yet */
  gtk_widget_add_tick_callback (GTK_WIDGET (self->graph_window), scroll_now, self, NULL);
}

/* The first of the blocks asked about: drawn in the middle of the window. */
static void
focus_selection (HtGraphView *self)
{
  self->focus_x = self->focus_y = -1;
  for (guint i = 0; self->boxes && i < self->graph->nodes->len; i++)
    {
      const HtHeapNode *n = self->graph->nodes->pdata[i];
      const double *b = &g_array_index (self->boxes, double, 4 * i);
      if (n->selected && 4 * i + 3 < self->boxes->len)
        {
          self->focus_x = b[0] + b[2] / 2;
          self->focus_y = b[1] + b[3] / 2;
          break;
        }
    }
  scroll_to_focus (self);
}

static void
render (HtGraphView *self)
{
  if (!self->graph)
    return;
  g_clear_pointer (&self->boxes, g_array_unref);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) png = ht_heap_view_render_png (self->graph, 72.0 * self->zoom, &self->boxes,
                                                    &error);
  g_autoptr (GdkTexture) texture = png ? gdk_texture_new_from_bytes (png, &error) : NULL;
  if (!texture)
    {
      show_error (self, error);
      return;
    }
  gtk_picture_set_paintable (self->picture, GDK_PAINTABLE (texture));
  gtk_widget_set_size_request (GTK_WIDGET (self->picture), gdk_texture_get_width (texture),
                               gdk_texture_get_height (texture));
  focus_selection (self);
}

static void
load (HtGraphView *self, const HtHeapQuery *q)
{
  g_autoptr (GError) error = NULL;
  HtHeapView *graph = ht_heap_backrefs (self->db, q, &error);
  if (!graph)
    {
      show_error (self, error);
      return;
    }
  g_clear_pointer (&self->graph, ht_heap_view_free);
  self->graph = graph;
  g_autofree char *status = g_strdup_printf (
    _("%u nodes at snapshot '%s'; %u blocks match. Click a node for its stack."),
    graph->nodes->len, graph->snapshot, graph->matched);
  gtk_label_set_text (self->status, status);
  render (self);
}

/* The entry holds a type, FUNCTION:LINE, or an address (0x...). */
static void
reload (HtGraphView *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->what));
  if (!self->db || !text || !*text)
    return;
  HtHeapQuery q = { .depth = (guint) gtk_spin_button_get_value_as_int (self->depth),
                    .too_many = 10, .at = chosen_snapshot (self),
                    .time_from_s = self->time_from, .time_to_s = self->time_to };
  g_autofree char *copy = g_strstrip (g_strdup (text));
  if (g_str_has_prefix (copy, "0x"))
    {
      q.by_address = TRUE;
      q.address = g_ascii_strtoull (copy, NULL, 16);
    }
  else if (strchr (copy, ':') && g_ascii_isdigit (copy[strlen (copy) - 1]))
    q.site = copy;
  else
    q.type = copy;
  load (self, &q);
}

static void
picture_pressed (GtkGestureClick *gesture, int n_press, double x, double y, HtGraphView *self)
{
  (void) gesture;
  (void) n_press;
  if (!self->graph || !self->boxes)
    return;
  for (guint i = 0; i < self->graph->nodes->len; i++)
    {
      const double *b = &g_array_index (self->boxes, double, 4 * i);
      if (x < b[0] || x > b[0] + b[2] || y < b[1] || y > b[1] + b[3])
        continue;
      const HtHeapNode *n = self->graph->nodes->pdata[i];
      g_autofree char *label_text = ht_heap_node_label (n);
      GString *s = g_string_new (label_text);
      if (n->kind == HT_HEAP_NODE_BLOCK)
        {
          g_string_append_printf (s, _("\nat 0x%llx\n\nAllocated at:\n"),
                                  (unsigned long long) n->address);
          g_autoptr (HtTraceNames) names = ht_trace_names_new (self->db, NULL);
          g_autoptr (GPtrArray) tb = names ? ht_trace_names_traceback (names, n->trace_id) : NULL;
          g_autofree char *text = ht_traceback_text (tb);
          g_string_append (s, text);
        }
      gtk_label_set_text (self->detail, s->str);
      g_string_free (s, TRUE);
      return;
    }
}

static void
zoom_by (HtGraphView *self, double factor)
{
  self->zoom = CLAMP (self->zoom * factor, 0.25, 4.0);
  render (self);
}

static void
zoom_in (HtGraphView *self)
{
  zoom_by (self, 1.25);
}

static void
zoom_out (HtGraphView *self)
{
  zoom_by (self, 0.8);
}

static void
export_response (GtkNativeDialog *dialog, int response, HtGraphView *self)
{
  if (response == GTK_RESPONSE_ACCEPT && self->graph)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);
      g_autoptr (GError) error = NULL;
      if (path && !ht_heap_view_write (self->graph, path, &error))
        show_error (self, error);
      else if (path)
        {
          g_autofree char *msg = g_strdup_printf (_("Wrote %s"), path);
          gtk_label_set_text (self->status, msg);
        }
    }
  g_object_unref (dialog);
}

/* An export button: its name is the file's extension. */
static void
export_clicked (GtkButton *button, HtGraphView *self)
{
  if (!self->graph)
    return;
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkFileChooserNative *dialog = gtk_file_chooser_native_new (
    _("Export the graph"), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
    GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  g_autofree char *name = g_strdup_printf ("backrefs.%s",
                                           gtk_widget_get_name (GTK_WIDGET (button)));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), name);
  g_signal_connect_object (dialog, "response", G_CALLBACK (export_response), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
block_selected (GtkSelectionModel *model, guint pos, guint n, HtGraphView *self)
{
  (void) model;
  (void) pos;
  (void) n;
  HtRow *row = ht_table_selected (self->blocks_table);
  if (!row || !row->address)
    return;
  g_autofree char *addr = g_strdup_printf ("0x%llx", (unsigned long long) row->address);
  ht_graph_view_show (self, addr);
}

/* The blocks list of the chosen snapshot's graph. */
static void
fill_blocks (HtGraphView *self)
{
  HtGraphInfo info;
  g_clear_object (&self->blocks);
  if (!ht_query_graph_info (self->db, chosen_snapshot (self), &info, NULL))
    return;
  self->blocks = ht_block_list_new (self->db, info.snapshot_id, (guint) info.blocks);
  g_autofree char *title = g_strdup_printf (_("%lld live blocks at '%s', by retained size"),
                                            (long long) info.blocks, info.label);
  gtk_label_set_text (self->blocks_title, title);
  ht_graph_info_clear (&info);
  GtkSingleSelection *sel = gtk_single_selection_new (G_LIST_MODEL (g_object_ref (self->blocks)));
  gtk_single_selection_set_autoselect (sel, FALSE);
  gtk_single_selection_set_can_unselect (sel, TRUE);
  gtk_single_selection_set_selected (sel, GTK_INVALID_LIST_POSITION);
  g_signal_connect_object (sel, "selection-changed", G_CALLBACK (block_selected), self, 0);
  gtk_column_view_set_model (self->blocks_table, GTK_SELECTION_MODEL (sel));
  g_object_unref (sel);
}

static void
at_changed (HtGraphView *self)
{
  if (!self->db)
    return;
  fill_blocks (self);
  reload (self);
}

static void
ht_graph_view_dispose (GObject *object)
{
  HtGraphView *self = HT_GRAPH_VIEW (object);
  gtk_widget_dispose_template (GTK_WIDGET (self), HT_TYPE_GRAPH_VIEW);
  g_clear_pointer (&self->graph, ht_heap_view_free);
  g_clear_pointer (&self->boxes, g_array_unref);
  g_clear_object (&self->blocks);
  G_OBJECT_CLASS (ht_graph_view_parent_class)->dispose (object);
}

static void
ht_graph_view_class_init (HtGraphViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = ht_graph_view_dispose;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/heaptrail/Heaptrail/gtk/ht-graph-view.ui");
  gtk_widget_class_bind_template_child (widget_class, HtGraphView, what);
  gtk_widget_class_bind_template_child (widget_class, HtGraphView, depth);
  gtk_widget_class_bind_template_child (widget_class, HtGraphView, at);
  gtk_widget_class_bind_template_child (widget_class, HtGraphView, at_labels);
  gtk_widget_class_bind_template_child (widget_class, HtGraphView, status);
  gtk_widget_class_bind_template_child (widget_class, HtGraphView, blocks_title);
  gtk_widget_class_bind_template_child (widget_class, HtGraphView, blocks_window);
  gtk_widget_class_bind_template_child (widget_class, HtGraphView, graph_window);
  gtk_widget_class_bind_template_child (widget_class, HtGraphView, picture);
  gtk_widget_class_bind_template_child (widget_class, HtGraphView, detail);
  gtk_widget_class_bind_template_callback (widget_class, reload);
  gtk_widget_class_bind_template_callback (widget_class, at_changed);
  gtk_widget_class_bind_template_callback (widget_class, zoom_in);
  gtk_widget_class_bind_template_callback (widget_class, zoom_out);
  gtk_widget_class_bind_template_callback (widget_class, export_clicked);
  gtk_widget_class_bind_template_callback (widget_class, picture_pressed);
}

static void
ht_graph_view_init (HtGraphView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->zoom = 1.0;
  self->focus_x = self->focus_y = -1;
  g_signal_connect_swapped (gtk_scrolled_window_get_hadjustment (self->graph_window), "changed",
                            G_CALLBACK (scroll_to_focus), self);
  g_signal_connect_swapped (gtk_scrolled_window_get_vadjustment (self->graph_window), "changed",
                            G_CALLBACK (scroll_to_focus), self);
  const char *titles[] = { _("Block"), _("Type"), _("Size (B)"), _("Retains (B)"), NULL };
  g_autoptr (GListStore) none = g_list_store_new (HT_TYPE_ROW);
  self->blocks_table = GTK_COLUMN_VIEW (ht_table_new_lazy (G_LIST_MODEL (none), titles, TRUE));
  g_autoptr (GtkColumnViewColumn) address = g_list_model_get_item (
    gtk_column_view_get_columns (self->blocks_table), 0);
  gtk_column_view_column_set_fixed_width (address, 120);
  gtk_scrolled_window_set_child (self->blocks_window, GTK_WIDGET (self->blocks_table));
}

/* Opens on the type that grew most between the program's own snapshots (the first and the
 * last, or the first and the end), at the last of them: what objgraph's show_growth then
 * show_backrefs would look at.  A program that took no snapshot of its own opens on the type
 * that retains the most (the allocating function that grew most over a whole run is mostly
 * the C library's strdup, which says nothing). */
static void
open_on_growth (HtGraphView *self, GPtrArray *snapshots)
{
  const char *first = NULL, *last = "end";
  for (guint i = 0; i < snapshots->len; i++)
    {
      const HtSnapshotInfo *si = snapshots->pdata[i];
      if (!g_str_equal (si->kind, "snapshot"))
        continue;
      if (!first)
        first = si->label;
      else
        last = si->label;
    }
  g_autoptr (GPtrArray) growth
    = first ? ht_query_growth (self->db, first, last, NULL, NULL) : NULL;
  HtTopOptions opt = { .by = HT_GROUP_TYPE, .retained = TRUE };
  g_autoptr (GPtrArray) types
    = growth && growth->len ? NULL : ht_query_top (self->db, &opt, NULL);
  const char *start = growth && growth->len ? ((HtGrowth *) growth->pdata[0])->type
                      : types && types->len ? ((HtStat *) types->pdata[0])->key
                                            : NULL;
  if (!start)
    return;
  /* shown where it was counted: at the last of those snapshots, when it has a graph */
  GListModel *at = G_LIST_MODEL (self->at_labels);
  for (guint i = 0; growth && growth->len && i < g_list_model_get_n_items (at); i++)
    if (g_str_equal (gtk_string_list_get_string (self->at_labels, i), last))
      gtk_drop_down_set_selected (self->at, i);
  ht_graph_view_show (self, start);
}

GtkWidget *
ht_graph_view_new (HtDb *db, GPtrArray *snapshots)
{
  HtGraphInfo info;
  if (!ht_query_graph_info (db, NULL, &info, NULL))
    return ht_unavailable_new (_("This recording has no heap graph"),
                               _("Record the program with: heaptrail record --graph -- PROGRAM "
                                 "ARGS\nThe graph is taken at each heaptrail_snapshot() and at "
                                 "exit."));
  ht_graph_info_clear (&info);
  HtGraphView *self = g_object_new (HT_TYPE_GRAPH_VIEW, NULL);
  g_auto (GStrv) labels = ht_query_graph_labels (db);
  for (guint i = 0; labels && labels[i]; i++)
    gtk_string_list_append (self->at_labels, labels[i]);
  guint n = labels ? g_strv_length (labels) : 0;
  gtk_drop_down_set_selected (self->at, n ? n - 1 : 0); /* the last: exit */
  self->db = db;
  fill_blocks (self);
  open_on_growth (self, snapshots);
  return GTK_WIDGET (self);
}

void
ht_graph_view_show (HtGraphView *self, const char *what)
{
  gtk_editable_set_text (GTK_EDITABLE (self->what), what);
  reload (self);
}

void
ht_graph_view_show_row (HtGraphView *self, HtRow *row)
{
  /* a group's key frame: its function, at the line when the group is one */
  const HtLocation *l = row->traceback && row->traceback->len ? row->traceback->pdata[0] : NULL;
  for (guint i = 0; row->traceback && i < row->traceback->len; i++)
    {
      const HtLocation *c = row->traceback->pdata[i];
      if (c->file && !g_str_has_prefix (c->file, "/usr/") && !g_str_has_prefix (c->file, "."))
        {
          l = c;
          break;
        }
    }
  if (!l)
    return;
  g_autofree char *what = l->line ? g_strdup_printf ("%s:%u", l->function, l->line)
                                  : g_strdup (l->function);
  ht_graph_view_show (self, what);
}

guint
ht_graph_view_node_count (HtGraphView *self)
{
  return self->graph ? self->graph->nodes->len : 0;
}

GListModel *
ht_graph_view_blocks (HtGraphView *self)
{
  return self->blocks ? G_LIST_MODEL (self->blocks) : NULL;
}

void
ht_graph_view_set_time_range (HtGraphView *self, double from, double to)
{
  self->time_from = from;
  self->time_to = to;
  reload (self);
}
