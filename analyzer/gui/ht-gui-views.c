/* ht-gui-views.c - the views of one recording in the page's stack.
 *
 * Each view is its own widget (ht-*-view.c, with its template); this builds them when
 * they are first shown, and carries out what one asks of another through its signals
 * (a line of Snapshots opens in Allocations, a type of Types in Graph, a row of
 * Allocations in Graph, a range of the Summary's chart in the page).  A view that needs
 * what the recording lacks (a heap graph without record --graph) says so, and how to get
 * it, instead of showing an empty table.
 */
#include "ht-allocations-view.h"
#include "ht-call-tree-view.h"
#include "ht-compare-view.h"
#include "ht-flame-view.h"
#include "ht-graph-view.h"
#include "ht-gui.h"
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
  GtkStack *stack;
  gboolean has_graph;
  GPtrArray *snapshots; /* HtSnapshotInfo* */

  GtkWidget *slots[HT_VIEW_COUNT]; /* the stack's pages; a view is built into its slot */
  gboolean built[HT_VIEW_COUNT];

  /* the views others ask things of, once built (NULL when unavailable) */
  HtSummaryView *summary_view;
  HtAllocationsView *allocations_view;
  HtSnapshotsView *snapshots_view;
  HtGraphView *graph_view;
  HtCompareView *compare_view;
  GtkWidget *range_views[HT_VIEW_COUNT]; /* those a time range filters, once built */

  double range_from, range_to; /* the time range of the page; range_to 0: the whole run */

  HtRangeFunc on_range; /* what a range chosen on the summary's chart does */
  gpointer on_range_data;
};

static void ensure_view (HtViews *v, HtView which);

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
  GtkWidget *view = ht_allocations_view_new (v->db, v->has_graph);
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
  GtkWidget *view = ht_snapshots_view_new (v->db, v->snapshots);
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

static GtkWidget *
build_compare (HtViews *v)
{
  GtkWidget *view = ht_compare_view_new (v->db, G_LIST_MODEL (ht_gui_recordings ()));
  v->compare_view = HT_COMPARE_VIEW (view);
  return view;
}

gboolean
ht_views_compare_with (HtViews *v, const char *db_path, GError **error)
{
  ensure_view (v, HT_VIEW_COMPARE);
  return ht_compare_view_compare_with (v->compare_view, db_path, error);
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
      return ht_leaks_view_new (v->db);
    case HT_VIEW_GRAPH:
      return build_graph (v);
    case HT_VIEW_COMPARE:
    default:
      return build_compare (v);
    }
}

/* A time range filters the views of allocations by when they were made, as a query of
 * the time buckets written at import (nothing is imported again); the views of snapshots
 * compare the snapshots around it. */
static void
apply_range (GtkWidget *view, double from, double to)
{
  if (HT_IS_ALLOCATIONS_VIEW (view))
    ht_allocations_view_set_time_range (HT_ALLOCATIONS_VIEW (view), from, to);
  else if (HT_IS_CALL_TREE_VIEW (view))
    ht_call_tree_view_set_time_range (HT_CALL_TREE_VIEW (view), from, to);
  else if (HT_IS_FLAME_VIEW (view))
    ht_flame_view_set_time_range (HT_FLAME_VIEW (view), from, to);
  else if (HT_IS_SNAPSHOTS_VIEW (view))
    ht_snapshots_view_set_time_range (HT_SNAPSHOTS_VIEW (view), from, to);
  else if (HT_IS_TYPES_VIEW (view))
    ht_types_view_set_time_range (HT_TYPES_VIEW (view), from, to);
  else if (HT_IS_LEAKS_VIEW (view))
    ht_leaks_view_set_time_range (HT_LEAKS_VIEW (view), from, to);
  else if (HT_IS_GRAPH_VIEW (view))
    ht_graph_view_set_time_range (HT_GRAPH_VIEW (view), from, to);
  else if (HT_IS_COMPARE_VIEW (view))
    ht_compare_view_set_time_range (HT_COMPARE_VIEW (view), from, to);
}

static void
ensure_view (HtViews *v, HtView which)
{
  if (v->built[which])
    return;
  v->built[which] = TRUE;
  GtkWidget *content = build_view (v, which);
  if (HT_IS_ALLOCATIONS_VIEW (content) || HT_IS_CALL_TREE_VIEW (content)
      || HT_IS_FLAME_VIEW (content) || HT_IS_SNAPSHOTS_VIEW (content)
      || HT_IS_TYPES_VIEW (content) || HT_IS_LEAKS_VIEW (content)
      || HT_IS_GRAPH_VIEW (content) || HT_IS_COMPARE_VIEW (content))
    {
      v->range_views[which] = content;
      if (v->range_to > v->range_from)
        apply_range (content, v->range_from, v->range_to);
    }
  gtk_widget_set_vexpand (content, TRUE);
  gtk_box_append (GTK_BOX (v->slots[which]), content);
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


HtViews *
ht_views_new (HtDb *db, const char *path, GtkStack *stack)
{
  HtViews *v = g_new0 (HtViews, 1);
  v->db = db;
  v->path = g_strdup (path);
  v->stack = stack;
  HtGraphInfo info;
  v->has_graph = ht_query_graph_info (db, NULL, &info, NULL);
  if (v->has_graph)
    ht_graph_info_clear (&info);
  v->snapshots = ht_query_snapshots (db, NULL);
  if (!v->snapshots)
    v->snapshots = g_ptr_array_new ();

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
  if (to <= from)
    from = to = 0;
  gboolean changed = from != v->range_from || to != v->range_to;
  v->range_from = from;
  v->range_to = to;
  if (v->summary_view)
    ht_summary_view_show_range (v->summary_view, from, to);
  for (int i = 0; changed && i < HT_VIEW_COUNT; i++)
    if (v->range_views[i])
      apply_range (v->range_views[i], from, to);
}

void
ht_views_free (HtViews *v)
{
  if (!v)
    return;
  g_free (v->path);
  g_ptr_array_unref (v->snapshots);
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
