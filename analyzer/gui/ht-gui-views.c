/* ht-gui-views.c - the views of one recording, each fed by the analyzer library.
 *
 * A view that needs what the recording lacks (a heap graph without record --graph) says
 * so, and how to get it, instead of showing an empty table.
 */
#include <string.h>

#include "ht-graph.h"
#include "ht-gui.h"
#include "ht-allocations-view.h"
#include "ht-call-tree-view.h"
#include "ht-flame-view.h"
#include "ht-leaks-view.h"
#include "ht-snapshots-view.h"
#include "ht-summary-view.h"
#include "ht-types-view.h"

const char *const ht_view_ids[HT_VIEW_COUNT] = {
  "summary", "allocations", "top-down", "bottom-up", "flame",
  "snapshots", "types", "leaks", "graph", "compare",
};

struct _HtViews
{
  HtDb *db;
  char *path;
  char *exe; /* the recorded program: source paths near it are shown from there */
  GtkStack *stack;
  gboolean has_graph;
  GPtrArray *snapshots; /* HtSnapshotInfo* */
  GtkStringList *snapshot_labels;

  HtAllocationsView *allocations_view;

  /* snapshots and types */
  HtSnapshotsView *snapshots_view;


  /* graph */
  GtkEntry *graph_what;
  GtkSpinButton *graph_depth;
  GtkPicture *graph_picture;
  GtkLabel *graph_status, *graph_detail;
  HtHeapView *graph_view;
  GArray *graph_boxes;
  double graph_zoom;
  HtBlockList *blocks;
  GtkColumnView *blocks_table;
  GtkLabel *blocks_title;
  GtkDropDown *graph_at;

  gint64 build_us[HT_VIEW_COUNT]; /* what building each view took, queries included */
  GtkWidget *slots[HT_VIEW_COUNT]; /* the stack's pages; a view is built into its slot */
  gboolean built[HT_VIEW_COUNT];

  /* summary */
  HtSummaryView *summary_view;
  HtRangeFunc on_range; /* what a range chosen on the summary's chart does */
  gpointer on_range_data;

  /* compare */
  HtDb *other;
  GListStore *compare_store;
  GtkColumnView *compare_table;
  GtkBox *compare_chart;
  GtkLabel *compare_status;
};

static void ensure_view (HtViews *v, HtView which);

/* ---------------------------------------------------------------------------------------
 * Helpers
 */
static GtkWidget *
scrolled (GtkWidget *child)
{
  GtkWidget *sw = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (sw), child);
  gtk_widget_set_vexpand (sw, TRUE);
  gtk_widget_set_hexpand (sw, TRUE);
  return sw;
}

static GtkWidget *
vbox (int spacing)
{
  GtkWidget *b = gtk_box_new (GTK_ORIENTATION_VERTICAL, spacing);
  gtk_widget_set_margin_start (b, 8);
  gtk_widget_set_margin_end (b, 8);
  gtk_widget_set_margin_top (b, 8);
  gtk_widget_set_margin_bottom (b, 8);
  return b;
}

static GtkWidget *
hbox (void)
{
  return gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
}

static GtkWidget *
label (const char *text)
{
  GtkWidget *l = gtk_label_new (text);
  gtk_label_set_xalign (GTK_LABEL (l), 0);
  gtk_label_set_wrap (GTK_LABEL (l), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (l), PANGO_WRAP_WORD_CHAR);
  return l;
}

/* A short label that never wraps (in tool bars). */
static GtkWidget *
tag (const char *text)
{
  GtkWidget *l = gtk_label_new (text);
  gtk_label_set_xalign (GTK_LABEL (l), 0);
  return l;
}

/* A view a recording cannot feed: why, and how to get it. */

static GtkDropDown *
dropdown (const char *const *items)
{
  return GTK_DROP_DOWN (gtk_drop_down_new_from_strings (items));
}

static const char *
dropdown_string (GtkDropDown *d)
{
  GtkStringObject *o = gtk_drop_down_get_selected_item (d);
  return o ? gtk_string_object_get_string (o) : NULL;
}

static void
show_error (GtkLabel *status, const GError *error)
{
  g_autofree char *text = g_strdup_printf (_("Cannot show this: %s"), error->message);
  gtk_label_set_text (status, text);
}


/* ---------------------------------------------------------------------------------------
 * Summary
 */
static void
summary_range_selected (GtkWidget *view, double from, double to, gpointer data)
{
  (void) view;
  HtViews *v = data;
  if (v->on_range)
    v->on_range (from, to, v->on_range_data);
}

static GtkWidget *
build_summary (HtViews *v)
{
  GtkWidget *view = ht_summary_view_new (v->db, v->snapshots, v->has_graph);
  if (HT_IS_SUMMARY_VIEW (view))
    {
      v->summary_view = HT_SUMMARY_VIEW (view);
      g_signal_connect (view, "range-selected", G_CALLBACK (summary_range_selected), v);
    }
  return view;
}

/* ---------------------------------------------------------------------------------------
 * Allocations
 */
static void graph_show_row (HtViews *v, HtRow *row);

/* "Show in graph": the row's heap graph. */
static void
graph_requested (GtkWidget *view, HtRow *row, gpointer data)
{
  (void) view;
  HtViews *v = data;
  ensure_view (v, HT_VIEW_GRAPH);
  graph_show_row (v, row);
  gtk_stack_set_visible_child_name (v->stack, "graph");
}

static GtkWidget *
build_allocations (HtViews *v)
{
  GtkWidget *view = ht_allocations_view_new (v->db, v->exe, v->has_graph);
  v->allocations_view = HT_ALLOCATIONS_VIEW (view);
  g_signal_connect (view, "graph-requested", G_CALLBACK (graph_requested), v);
  return view;
}

/* ---------------------------------------------------------------------------------------
 * Snapshots and Types ask for another view
 */

/* A line of the Snapshots view, in Allocations: grouped by line, filtered to it. */
static void
site_activated (GtkWidget *view, const char *key, gpointer data)
{
  (void) view;
  HtViews *v = data;
  ensure_view (v, HT_VIEW_ALLOCATIONS);
  ht_allocations_view_filter (v->allocations_view, HT_GROUP_LINE, key);
  gtk_stack_set_visible_child_name (v->stack, ht_view_ids[HT_VIEW_ALLOCATIONS]);
}

/* A type of the Types view, in Graph. */
static void
type_activated (GtkWidget *view, const char *type, gpointer data)
{
  (void) view;
  HtViews *v = data;
  ensure_view (v, HT_VIEW_GRAPH);
  if (v->has_graph && v->graph_what)
    {
      gtk_editable_set_text (GTK_EDITABLE (v->graph_what), type);
      gtk_widget_activate (GTK_WIDGET (v->graph_what));
      gtk_stack_set_visible_child_name (v->stack, "graph");
    }
}

static GtkWidget *
build_snapshots (HtViews *v)
{
  GtkWidget *view = ht_snapshots_view_new (v->db, v->exe, v->snapshots);
  if (HT_IS_SNAPSHOTS_VIEW (view))
    {
      v->snapshots_view = HT_SNAPSHOTS_VIEW (view);
      g_signal_connect (view, "site-activated", G_CALLBACK (site_activated), v);
    }
  return view;
}

static GtkWidget *
build_types (HtViews *v)
{
  GtkWidget *view = ht_types_view_new (v->db, v->snapshots);
  g_signal_connect (view, "type-activated", G_CALLBACK (type_activated), v);
  return view;
}

/* ---------------------------------------------------------------------------------------
 * Graph: backrefs drawn by Graphviz inside the window
 */
static void
graph_render (HtViews *v)
{
  if (!v->graph_view)
    return;
  g_clear_pointer (&v->graph_boxes, g_array_unref);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) png = ht_heap_view_render_png (v->graph_view, 72.0 * v->graph_zoom,
                                                    &v->graph_boxes, &error);
  if (!png)
    {
      show_error (v->graph_status, error);
      return;
    }
  g_autoptr (GdkTexture) texture = gdk_texture_new_from_bytes (png, &error);
  if (!texture)
    {
      show_error (v->graph_status, error);
      return;
    }
  gtk_picture_set_paintable (v->graph_picture, GDK_PAINTABLE (texture));
  gtk_widget_set_size_request (GTK_WIDGET (v->graph_picture), gdk_texture_get_width (texture),
                               gdk_texture_get_height (texture));
}

static void
graph_load (HtViews *v, const HtHeapQuery *q)
{
  g_autoptr (GError) error = NULL;
  HtHeapView *view = ht_heap_backrefs (v->db, q, &error);
  if (!view)
    {
      show_error (v->graph_status, error);
      return;
    }
  g_clear_pointer (&v->graph_view, ht_heap_view_free);
  v->graph_view = view;
  g_autofree char *status = g_strdup_printf (
    _("%u nodes at snapshot '%s'; %u blocks match. Click a node for its stack."),
    view->nodes->len, view->snapshot, view->matched);
  gtk_label_set_text (v->graph_status, status);
  graph_render (v);
}

/* The entry holds a type, FUNCTION:LINE, or an address (0x...). */
static void
graph_entry_activated (GtkEntry *entry, gpointer data)
{
  HtViews *v = data;
  const char *text = gtk_editable_get_text (GTK_EDITABLE (entry));
  if (!text || !*text)
    return;
  HtHeapQuery q = { .depth = (guint) gtk_spin_button_get_value_as_int (v->graph_depth),
                    .too_many = 10, .at = v->graph_at ? dropdown_string (v->graph_at) : NULL };
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
  graph_load (v, &q);
}

static void
graph_show_row (HtViews *v, HtRow *row)
{
  ensure_view (v, HT_VIEW_GRAPH);
  if (!v->graph_what)
    return;
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
  gtk_editable_set_text (GTK_EDITABLE (v->graph_what), what);
  graph_entry_activated (v->graph_what, v);
}

static void
graph_clicked (GtkGestureClick *gesture, int n_press, double x, double y, gpointer data)
{
  (void) gesture;
  (void) n_press;
  HtViews *v = data;
  if (!v->graph_view || !v->graph_boxes)
    return;
  for (guint i = 0; i < v->graph_view->nodes->len; i++)
    {
      const double *b = &g_array_index (v->graph_boxes, double, 4 * i);
      if (x < b[0] || x > b[0] + b[2] || y < b[1] || y > b[1] + b[3])
        continue;
      const HtHeapNode *n = v->graph_view->nodes->pdata[i];
      g_autofree char *label_text = ht_heap_node_label (n);
      GString *s = g_string_new (label_text);
      if (n->kind == HT_HEAP_NODE_BLOCK)
        {
          g_string_append_printf (s, _("\nat 0x%llx\n\nAllocated at:\n"),
                                  (unsigned long long) n->address);
          g_autoptr (HtTraceNames) names = ht_trace_names_new (v->db, NULL);
          g_autoptr (GPtrArray) tb = names ? ht_trace_names_traceback (names, n->trace_id) : NULL;
          g_autofree char *text = ht_traceback_text (tb);
          g_string_append (s, text);
        }
      gtk_label_set_text (v->graph_detail, s->str);
      g_string_free (s, TRUE);
      return;
    }
}

static void
graph_zoom (GtkButton *b, gpointer data)
{
  HtViews *v = data;
  double factor = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (b), "ht-zoom")) > 0 ? 1.25 : 0.8;
  v->graph_zoom = CLAMP (v->graph_zoom * factor, 0.25, 4.0);
  graph_render (v);
}

static void
graph_saved (GtkNativeDialog *dialog, int response, gpointer data)
{
  HtViews *v = data;
  if (response == GTK_RESPONSE_ACCEPT && v->graph_view)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);
      g_autoptr (GError) error = NULL;
      if (path && !ht_heap_view_write (v->graph_view, path, &error))
        show_error (v->graph_status, error);
      else if (path)
        {
          g_autofree char *msg = g_strdup_printf (_("Wrote %s"), path);
          gtk_label_set_text (v->graph_status, msg);
        }
    }
  g_object_unref (dialog);
}

static void
graph_export (GtkButton *b, gpointer data)
{
  HtViews *v = data;
  if (!v->graph_view)
    return;
  const char *ext = g_object_get_data (G_OBJECT (b), "ht-ext");
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (b));
  GtkFileChooserNative *dialog = gtk_file_chooser_native_new (
    _("Export the graph"), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
    GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  g_autofree char *name = g_strdup_printf ("backrefs.%s", ext);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), name);
  g_signal_connect (dialog, "response", G_CALLBACK (graph_saved), v);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void graph_block_selected (GtkSelectionModel *model, guint pos, guint n, gpointer data);

/* The blocks list of the chosen snapshot's graph. */
static void
fill_blocks (HtViews *v)
{
  HtGraphInfo info;
  g_clear_object (&v->blocks);
  if (!ht_query_graph_info (v->db, v->graph_at ? dropdown_string (v->graph_at) : NULL, &info,
                            NULL))
    return;
  v->blocks = ht_block_list_new (v->db, info.snapshot_id, (guint) info.blocks);
  g_autofree char *title = g_strdup_printf (_("%lld live blocks at '%s', by retained size"),
                                            (long long) info.blocks, info.label);
  gtk_label_set_text (v->blocks_title, title);
  ht_graph_info_clear (&info);
  GtkSingleSelection *sel = gtk_single_selection_new (G_LIST_MODEL (g_object_ref (v->blocks)));
  gtk_single_selection_set_autoselect (sel, FALSE);
  gtk_single_selection_set_can_unselect (sel, TRUE);
  gtk_single_selection_set_selected (sel, GTK_INVALID_LIST_POSITION);
  g_signal_connect (sel, "selection-changed", G_CALLBACK (graph_block_selected), v);
  gtk_column_view_set_model (v->blocks_table, GTK_SELECTION_MODEL (sel));
  g_object_unref (sel);
}

static void
graph_at_changed (GObject *o, GParamSpec *p, gpointer data)
{
  (void) o;
  (void) p;
  HtViews *v = data;
  fill_blocks (v);
  graph_entry_activated (v->graph_what, v);
}

static void
graph_block_selected (GtkSelectionModel *model, guint pos, guint n, gpointer data)
{
  (void) model;
  (void) pos;
  (void) n;
  HtViews *v = data;
  HtRow *row = ht_table_selected (v->blocks_table);
  if (!row || !row->address)
    return;
  g_autofree char *addr = g_strdup_printf ("0x%llx", (unsigned long long) row->address);
  gtk_editable_set_text (GTK_EDITABLE (v->graph_what), addr);
  graph_entry_activated (v->graph_what, v);
}

static GtkWidget *
build_graph (HtViews *v)
{
  if (!v->has_graph)
    return ht_unavailable_new (_("This recording has no heap graph"),
                        _("Record the program with: heaptrail record --graph -- PROGRAM ARGS\n"
                          "The graph is taken at each heaptrail_snapshot() and at exit."));
  GtkWidget *box = vbox (6);
  GtkWidget *bar = hbox ();
  gtk_box_append (GTK_BOX (bar), tag (_("Backrefs of")));
  v->graph_what = GTK_ENTRY (gtk_entry_new ());
  gtk_entry_set_placeholder_text (v->graph_what, _("a type, FUNCTION:LINE, or 0xADDRESS"));
  gtk_widget_set_hexpand (GTK_WIDGET (v->graph_what), TRUE);
  gtk_editable_set_width_chars (GTK_EDITABLE (v->graph_what), 12); /* never squeezed away */
  g_signal_connect (v->graph_what, "activate", G_CALLBACK (graph_entry_activated), v);
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (v->graph_what));
  gtk_box_append (GTK_BOX (bar), tag (_("Depth")));
  v->graph_depth = GTK_SPIN_BUTTON (gtk_spin_button_new_with_range (1, 30, 1));
  gtk_spin_button_set_value (v->graph_depth, 6);
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (v->graph_depth));
  gtk_box_append (GTK_BOX (bar), tag (_("at")));
  g_auto (GStrv) labels = ht_query_graph_labels (v->db);
  v->graph_at = dropdown ((const char *const *) labels);
  gtk_drop_down_set_selected (v->graph_at, g_strv_length (labels) - 1); /* the last: exit */
  g_signal_connect (v->graph_at, "notify::selected", G_CALLBACK (graph_at_changed), v);
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (v->graph_at));
  for (int z = -1; z <= 1; z += 2)
    {
      GtkWidget *b = gtk_button_new_from_icon_name (z > 0 ? "zoom-in-symbolic"
                                                           : "zoom-out-symbolic");
      gtk_widget_set_tooltip_text (b, z > 0 ? _("Zoom in") : _("Zoom out"));
      g_object_set_data (G_OBJECT (b), "ht-zoom", GINT_TO_POINTER (z));
      g_signal_connect (b, "clicked", G_CALLBACK (graph_zoom), v);
      gtk_box_append (GTK_BOX (bar), b);
    }
  static const char *const exts[] = { "dot", "svg", "png" };
  gtk_box_append (GTK_BOX (bar), tag (_("Export")));
  for (guint i = 0; i < G_N_ELEMENTS (exts); i++)
    {
      /* short labels: the bar fits a 1024-pixel window */
      g_autofree char *text = g_strdup_printf (".%s", exts[i]);
      g_autofree char *tip = g_strdup_printf (_("Export .%s"), exts[i]);
      GtkWidget *b = gtk_button_new_with_label (text);
      gtk_widget_set_tooltip_text (b, tip);
      g_object_set_data (G_OBJECT (b), "ht-ext", (gpointer) exts[i]);
      g_signal_connect (b, "clicked", G_CALLBACK (graph_export), v);
      gtk_box_append (GTK_BOX (bar), b);
    }
  gtk_box_append (GTK_BOX (box), bar);
  v->graph_status = GTK_LABEL (label (_("Type a type name and press Enter, or pick a row in "
                                        "Allocations or Types.")));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (v->graph_status));
  v->graph_picture = GTK_PICTURE (gtk_picture_new ());
  gtk_picture_set_can_shrink (v->graph_picture, FALSE);
  gtk_widget_set_halign (GTK_WIDGET (v->graph_picture), GTK_ALIGN_START);
  gtk_widget_set_valign (GTK_WIDGET (v->graph_picture), GTK_ALIGN_START);
  GtkGesture *click = gtk_gesture_click_new ();
  g_signal_connect (click, "pressed", G_CALLBACK (graph_clicked), v);
  gtk_widget_add_controller (GTK_WIDGET (v->graph_picture), GTK_EVENT_CONTROLLER (click));
  GtkWidget *paned = gtk_paned_new (GTK_ORIENTATION_VERTICAL);
  gtk_paned_set_start_child (GTK_PANED (paned), scrolled (GTK_WIDGET (v->graph_picture)));
  v->graph_detail = GTK_LABEL (label (_("Click a node for its allocation stack.")));
  /* every live block of the graph, largest retained size first, read as it scrolls */
  GtkWidget *blocks_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  v->blocks_title = GTK_LABEL (tag (""));
  gtk_box_append (GTK_BOX (blocks_box), GTK_WIDGET (v->blocks_title));
  const char *titles[] = { _("Block"), _("Type"), _("Size (B)"), _("Retains (B)"), NULL };
  g_autoptr (GListStore) none = g_list_store_new (HT_TYPE_ROW);
  GtkWidget *table = ht_table_new_lazy (G_LIST_MODEL (none), titles, TRUE);
  v->blocks_table = GTK_COLUMN_VIEW (table);
  g_autoptr (GtkColumnViewColumn) address_col = g_list_model_get_item (
    gtk_column_view_get_columns (v->blocks_table), 0);
  gtk_column_view_column_set_fixed_width (address_col, 120);
  gtk_box_append (GTK_BOX (blocks_box), scrolled (table));
  fill_blocks (v);
  GtkWidget *outer = gtk_paned_new (GTK_ORIENTATION_HORIZONTAL);
  gtk_paned_set_start_child (GTK_PANED (outer), blocks_box);
  gtk_paned_set_end_child (GTK_PANED (outer), paned);
  gtk_paned_set_position (GTK_PANED (outer), 400); /* the block list reads whole */
  gtk_widget_set_vexpand (outer, TRUE);
  gtk_label_set_yalign (v->graph_detail, 0);
  gtk_label_set_selectable (v->graph_detail, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (v->graph_detail), "monospace");
  gtk_paned_set_end_child (GTK_PANED (paned), scrolled (GTK_WIDGET (v->graph_detail)));
  gtk_paned_set_position (GTK_PANED (paned), 380);
  gtk_widget_set_vexpand (paned, TRUE);
  gtk_box_append (GTK_BOX (box), outer);

  /* start with the type that grew most between the program's own snapshots (the first and
   * the last, or the first and the end), else over the run, else the largest retained one */
  const char *first = NULL, *last = "end";
  guint own = 0;
  for (guint i = 0; i < v->snapshots->len; i++)
    {
      const HtSnapshotInfo *si = v->snapshots->pdata[i];
      if (!g_str_equal (si->kind, "snapshot"))
        continue;
      if (!first)
        first = si->label;
      else
        last = si->label;
      own++;
    }
  if (!first && v->snapshots->len)
    first = ((HtSnapshotInfo *) v->snapshots->pdata[0])->label;
  g_autoptr (GPtrArray) growth = first ? ht_query_growth (v->db, first, last, NULL, NULL) : NULL;
  HtTopOptions opt = { .by = HT_GROUP_TYPE, .retained = TRUE };
  g_autoptr (GPtrArray) types = growth && growth->len ? NULL : ht_query_top (v->db, &opt, NULL);
  const char *start = growth && growth->len ? ((HtGrowth *) growth->pdata[0])->type
                      : types && types->len ? ((HtStat *) types->pdata[0])->key
                                            : NULL;
  if (start)
    {
      /* shown where it was counted: at the last of those snapshots, when it has a graph */
      GListModel *at = gtk_drop_down_get_model (v->graph_at);
      for (guint i = 0; growth && growth->len && i < g_list_model_get_n_items (at); i++)
        {
          g_autoptr (GtkStringObject) item = g_list_model_get_item (at, i);
          if (g_str_equal (gtk_string_object_get_string (item), last))
            gtk_drop_down_set_selected (v->graph_at, i);
        }
      gtk_editable_set_text (GTK_EDITABLE (v->graph_what), start);
      graph_entry_activated (v->graph_what, v);
    }
  return box;
}

/* ---------------------------------------------------------------------------------------
 * Compare: two recordings side by side
 */
static void
compare_clicked (GtkButton *b, gpointer data)
{
  HtViews *v = data;
  GtkDropDown *pick = g_object_get_data (G_OBJECT (b), "ht-pick");
  const char *path = dropdown_string (pick);
  g_autoptr (GError) error = NULL;
  if (path && !ht_views_compare_with (v, path, &error))
    show_error (v->compare_status, error);
}

/* Recordings are listed by their file name; the full path is the tooltip. */
static void
compare_item_setup (GtkSignalListItemFactory *f, GtkListItem *item, gpointer data)
{
  (void) f;
  (void) data;
  gtk_list_item_set_child (item, gtk_label_new (NULL));
}

static void
compare_item_bind (GtkSignalListItemFactory *f, GtkListItem *item, gpointer data)
{
  (void) f;
  (void) data;
  const char *path = gtk_string_object_get_string (gtk_list_item_get_item (item));
  g_autofree char *base = g_path_get_basename (path);
  GtkWidget *l = gtk_list_item_get_child (item);
  gtk_label_set_text (GTK_LABEL (l), base);
  gtk_widget_set_tooltip_text (l, path);
}

static void
compare_choices_changed (GListModel *choices, guint pos, guint removed, guint added, gpointer go)
{
  (void) pos;
  (void) removed;
  (void) added;
  gtk_widget_set_sensitive (go, g_list_model_get_n_items (choices) > 0);
}

static gboolean
is_other_recording (gpointer item, gpointer data)
{
  return g_strcmp0 (gtk_string_object_get_string (item), data) != 0;
}

static GtkWidget *
build_compare (HtViews *v)
{
  GtkWidget *box = vbox (6);
  GtkWidget *bar = hbox ();
  gtk_box_append (GTK_BOX (bar), tag (_("Compare with")));
  GtkListItemFactory *f = gtk_signal_list_item_factory_new ();
  g_signal_connect (f, "setup", G_CALLBACK (compare_item_setup), NULL);
  g_signal_connect (f, "bind", G_CALLBACK (compare_item_bind), NULL);
  /* every recording open or recent but this one */
  GtkFilter *others = GTK_FILTER (gtk_custom_filter_new (is_other_recording,
                                                         g_strdup (ht_db_path (v->db)), g_free));
  GtkFilterListModel *choices
    = gtk_filter_list_model_new (G_LIST_MODEL (g_object_ref (ht_gui_recordings ())), others);
  GtkWidget *pick = gtk_drop_down_new (G_LIST_MODEL (choices), NULL);
  gtk_drop_down_set_factory (GTK_DROP_DOWN (pick), f);
  g_object_unref (f);
  gtk_box_append (GTK_BOX (bar), pick);
  GtkWidget *go = gtk_button_new_with_label (_("Compare"));
  g_object_set_data (G_OBJECT (go), "ht-pick", pick);
  g_signal_connect (go, "clicked", G_CALLBACK (compare_clicked), v);
  gtk_box_append (GTK_BOX (bar), go);
  gtk_box_append (GTK_BOX (box), bar);
  v->compare_status = GTK_LABEL (label (_("Open a second recording (a tab, or Ctrl+O) and pick "
                                          "it here to compare live memory at the peak, "
                                          "aligned by source location.")));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (v->compare_status));
  v->compare_chart = GTK_BOX (gtk_box_new (GTK_ORIENTATION_VERTICAL, 0));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (v->compare_chart));
  v->compare_store = g_list_store_new (HT_TYPE_ROW);
  const char *titles[] = { _("Where"), _("This (B)"), _("Other (B)"), _("Change (B)"),
                           _("Count here"), _("Count there"), NULL };
  GtkWidget *table = ht_table_new (v->compare_store, titles, FALSE, NULL, FALSE);
  v->compare_table = GTK_COLUMN_VIEW (table);
  gtk_box_append (GTK_BOX (box), scrolled (table));
  /* another recording is at hand: the view opens compared with it, not empty */
  compare_choices_changed (G_LIST_MODEL (choices), 0, 0, 0, go);
  g_signal_connect_object (choices, "items-changed", G_CALLBACK (compare_choices_changed), go, 0);
  const char *first = dropdown_string (GTK_DROP_DOWN (pick));
  if (first && !ht_views_compare_with (v, first, NULL))
    gtk_label_set_text (v->compare_status, _("Pick a recording to compare with."));
  return box;
}

gboolean
ht_views_compare_with (HtViews *v, const char *db_path, GError **error)
{
  ensure_view (v, HT_VIEW_COMPARE);
  HtDb *other = ht_db_open (db_path, error);
  if (!other)
    return FALSE;
  g_clear_pointer (&v->other, ht_db_close);
  v->other = other;
  HtTopOptions opt = { .by = HT_GROUP_LINE };
  g_autoptr (GPtrArray) diffs = ht_query_diff (v->db, "peak", other, "peak", &opt, error);
  if (!diffs)
    return FALSE;
  g_list_store_remove_all (v->compare_store);
  for (guint i = 0; i < diffs->len; i++)
    {
      const HtStatDiff *d = diffs->pdata[i];
      g_autoptr (HtRow) row = ht_row_from_stat (d->stat, v->exe);
      row->values[0] = (gint64) d->stat->size - d->size_diff;
      row->values[1] = (gint64) d->stat->size;
      row->values[2] = d->size_diff;
      row->values[3] = (gint64) d->stat->count - d->count_diff;
      row->values[4] = (gint64) d->stat->count;
      g_list_store_append (v->compare_store, row);
    }
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (v->compare_chart))))
    gtk_box_remove (v->compare_chart, child);
  g_autoptr (GArray) a = ht_query_timeline (v->db, NULL);
  g_autoptr (GArray) b = ht_query_timeline (other, NULL);
  if (a && b)
    {
      GtkWidget *chart = ht_timeline_overlay_new (a, b, _("this"), _("other"));
      gtk_widget_set_vexpand (chart, FALSE);
      gtk_box_append (v->compare_chart, chart);
    }
  g_autofree char *base = g_path_get_basename (db_path);
  g_autofree char *status = g_strdup_printf (_("Compared with %s: %u locations, at the peak of "
                                               "each; positive change: more in the other."),
                                             base, diffs->len);
  gtk_label_set_text (v->compare_status, status);
  return TRUE;
}

GListModel *
ht_views_compare_rows (HtViews *v)
{
  return ht_table_visible (v->compare_table);
}

/* ---------------------------------------------------------------------------------------
 * The views together
 */
/* Views are built the first time they are shown (or asked for), each into the slot the
 * stack lists from the start: opening a recording costs only its summary. */
static GtkWidget *
build_view (HtViews *v, HtView which)
{
  switch (which)
    {
    case HT_VIEW_SUMMARY:
      return build_summary (v);
    case HT_VIEW_ALLOCATIONS:
      return build_allocations (v);
    case HT_VIEW_TOP_DOWN:
      return ht_call_tree_view_new (v->db, FALSE);
    case HT_VIEW_BOTTOM_UP:
      return ht_call_tree_view_new (v->db, TRUE);
    case HT_VIEW_FLAME:
      return ht_flame_view_new (v->db);
    case HT_VIEW_SNAPSHOTS:
      return build_snapshots (v);
    case HT_VIEW_TYPES:
      return build_types (v);
    case HT_VIEW_LEAKS:
      return ht_leaks_view_new (v->db, v->exe);
    case HT_VIEW_GRAPH:
      return build_graph (v);
    case HT_VIEW_COMPARE:
    default:
      return build_compare (v);
    }
}

static void
ensure_view (HtViews *v, HtView which)
{
  if (v->built[which])
    return;
  v->built[which] = TRUE;
  gint64 start = g_get_monotonic_time ();
  GtkWidget *content = build_view (v, which);
  gtk_widget_set_vexpand (content, TRUE);
  gtk_box_append (GTK_BOX (v->slots[which]), content);
  v->build_us[which] = g_get_monotonic_time () - start;
}

static void
visible_view_changed (GtkStack *stack, GParamSpec *p, gpointer data)
{
  (void) p;
  const char *name = gtk_stack_get_visible_child_name (stack);
  for (int i = 0; name && i < HT_VIEW_COUNT; i++)
    if (g_str_equal (name, ht_view_ids[i]))
      ensure_view (data, (HtView) i);
}

void
ht_views_build_all (HtViews *v)
{
  for (int i = 0; i < HT_VIEW_COUNT; i++)
    ensure_view (v, (HtView) i);
}

const gint64 *
ht_views_build_times (HtViews *v)
{
  return v->build_us;
}

HtViews *
ht_views_new (HtDb *db, const char *path, GtkStack *stack)
{
  HtViews *v = g_new0 (HtViews, 1);
  v->db = db;
  v->path = g_strdup (path);
  v->exe = ht_db_meta_string (db, "exe");
  v->stack = stack;
  v->graph_zoom = 1.0;
  HtGraphInfo info;
  v->has_graph = ht_query_graph_info (db, NULL, &info, NULL);
  if (v->has_graph)
    ht_graph_info_clear (&info);
  v->snapshots = ht_query_snapshots (db, NULL);
  if (!v->snapshots)
    v->snapshots = g_ptr_array_new ();
  v->snapshot_labels = gtk_string_list_new (NULL);
  for (guint i = 0; i < v->snapshots->len; i++)
    gtk_string_list_append (v->snapshot_labels,
                            ((HtSnapshotInfo *) v->snapshots->pdata[i])->label);

  const char *titles[HT_VIEW_COUNT] = { _("Summary"), _("Allocations"), _("Top-down"),
                                        _("Bottom-up"), _("Flame graph"), _("Snapshots"),
                                        _("Types"), _("Leaks"), _("Graph"), _("Compare") };
  for (int i = 0; i < HT_VIEW_COUNT; i++)
    {
      v->slots[i] = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
      gtk_stack_add_titled (stack, v->slots[i], ht_view_ids[i], titles[i]);
    }
  ensure_view (v, HT_VIEW_SUMMARY);
  g_signal_connect (stack, "notify::visible-child", G_CALLBACK (visible_view_changed), v);
  return v;
}

void
ht_views_set_range (HtViews *v, double from, double to, HtRangeFunc on_range, gpointer data)
{
  v->on_range = on_range;
  v->on_range_data = data;
  if (v->summary_view)
    ht_summary_view_show_range (v->summary_view, from, to);
}

void
ht_views_free (HtViews *v)
{
  if (!v)
    return;
  g_free (v->path);
  g_free (v->exe);
  g_ptr_array_unref (v->snapshots);
  g_object_unref (v->snapshot_labels);
  g_clear_pointer (&v->graph_view, ht_heap_view_free);
  g_clear_pointer (&v->graph_boxes, g_array_unref);
  g_clear_object (&v->blocks);
  g_clear_pointer (&v->other, ht_db_close);
  g_clear_object (&v->compare_store);
  g_free (v);
}

void
ht_views_focus_search (HtViews *v)
{
  ensure_view (v, HT_VIEW_ALLOCATIONS);
  gtk_stack_set_visible_child_name (v->stack, "allocations");
  ht_allocations_view_focus_search (v->allocations_view);
}

/* ---------------------------------------------------------------------------------------
 * Test hooks
 */
void
ht_views_set_group_by (HtViews *v, HtGroupBy by)
{
  ensure_view (v, HT_VIEW_ALLOCATIONS);
  ht_allocations_view_set_group_by (v->allocations_view, by);
}

GtkColumnView *
ht_views_allocations_table (HtViews *v)
{
  ensure_view (v, HT_VIEW_ALLOCATIONS);
  return ht_allocations_view_get_table (v->allocations_view);
}

void
ht_views_graph_for_row (HtViews *v, HtRow *row)
{
  ensure_view (v, HT_VIEW_GRAPH);
  if (v->has_graph)
    graph_show_row (v, row);
}

GListModel *
ht_views_block_list (HtViews *v)
{
  ensure_view (v, HT_VIEW_GRAPH);
  return v->blocks ? G_LIST_MODEL (v->blocks) : NULL;
}

guint
ht_views_graph_nodes (HtViews *v)
{
  return v->graph_view ? v->graph_view->nodes->len : 0;
}

void
ht_views_pick_snapshots (HtViews *v, guint a, guint b)
{
  ensure_view (v, HT_VIEW_SNAPSHOTS);
  if (v->snapshots_view)
    ht_snapshots_view_pick (v->snapshots_view, a, b);
}

void
ht_views_clear_filter (HtViews *v)
{
  ensure_view (v, HT_VIEW_ALLOCATIONS);
  ht_allocations_view_clear_filter (v->allocations_view);
}

void
ht_views_open_diff_row (HtViews *v, guint position)
{
  if (v->snapshots_view)
    ht_snapshots_view_activate (v->snapshots_view, position);
}

GListModel *
ht_views_snapshot_diff (HtViews *v)
{
  return v->snapshots_view ? ht_snapshots_view_rows (v->snapshots_view) : NULL;
}
