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
#include "ht-graph-view.h"
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
  HtGraphView *graph_view;

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
/* "Show in graph": the row's heap graph. */
static void
graph_requested (GtkWidget *view, HtRow *row, gpointer data)
{
  (void) view;
  HtViews *v = data;
  ensure_view (v, HT_VIEW_GRAPH);
  if (v->graph_view)
    {
      ht_graph_view_show_row (v->graph_view, row);
      gtk_stack_set_visible_child_name (v->stack, "graph");
    }
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
  if (v->graph_view)
    {
      ht_graph_view_show (v->graph_view, type);
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

static GtkWidget *
build_graph (HtViews *v)
{
  GtkWidget *view = ht_graph_view_new (v->db, v->snapshots);
  if (HT_IS_GRAPH_VIEW (view))
    v->graph_view = HT_GRAPH_VIEW (view);
  return view;
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
  if (v->graph_view)
    ht_graph_view_show_row (v->graph_view, row);
}

GListModel *
ht_views_block_list (HtViews *v)
{
  ensure_view (v, HT_VIEW_GRAPH);
  return v->graph_view ? ht_graph_view_blocks (v->graph_view) : NULL;
}

guint
ht_views_graph_nodes (HtViews *v)
{
  return v->graph_view ? ht_graph_view_node_count (v->graph_view) : 0;
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
