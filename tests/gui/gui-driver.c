/* gui-driver.c - heaptrail-gui driven by the tests: the application of the product (the
 * heaptrail_gui library), with two more options that open recordings and then, instead of
 * waiting for a user, work the views and check what they show.
 *
 *   heaptrail-gui-driver --self-test REC [REC2]   drive the views, check the models, exit 0
 *                                                 when every check passed
 *   heaptrail-gui-driver --bench REC              how long the recording took to open and
 *                                                 each view to build
 *
 * Environment: HT_SELF_TEST_EXPECT_GRAPH (the recording has a heap graph: check it),
 * HT_SELF_TEST_LABELS (write the labels on screen there), HT_SELF_TEST_CANCEL (cancel the
 * import at once).  tests/gui/gui.py runs it under Xvfb.
 */
#include <locale.h>
#include <math.h>
#include <string.h>

#include "ht-allocations-view.h"
#include "ht-compare-pane.h"
#include "ht-compare-view.h"
#include "ht-graph-view.h"
#include "ht-gui.h"
#include "ht-snapshots-view.h"

/* Label texts of the visible widgets under `w`, one per line (for the translation test). */
static void
collect_labels (GtkWidget *w, GString *out)
{
  if (!gtk_widget_get_mapped (w))
    return;
  if (GTK_IS_LABEL (w))
    g_string_append_printf (out, "%s\n", gtk_label_get_text (GTK_LABEL (w)));
  for (GtkWidget *c = gtk_widget_get_first_child (w); c; c = gtk_widget_get_next_sibling (c))
    collect_labels (c, out);
}

/* The widget named `name` under `w` (gtk_widget_set_name), or NULL. */
static GtkWidget *
find_named (GtkWidget *w, const char *name)
{
  if (g_strcmp0 (gtk_widget_get_name (w), name) == 0)
    return w;
  for (GtkWidget *c = gtk_widget_get_first_child (w); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_named (c, name);
      if (found)
        return found;
    }
  return NULL;
}

/* The first widget of type `type` under `w`, or NULL. */
static GtkWidget *
find_type (GtkWidget *w, GType type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (w, type))
    return w;
  for (GtkWidget *c = gtk_widget_get_first_child (w); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_type (c, type);
      if (found)
        return found;
    }
  return NULL;
}

#define CHECK(cond, ...)                                                                           \
  do                                                                                               \
    {                                                                                              \
      if (!(cond))                                                                                 \
        {                                                                                          \
          g_printerr ("self-test: FAIL: " __VA_ARGS__);                                            \
          g_printerr ("\n");                                                                       \
          ht_gui_set_exit_status (1);                                                              \
        }                                                                                          \
      else                                                                                         \
        g_print ("self-test: ok: " __VA_ARGS__), g_print ("\n");                                   \
    }                                                                                              \
  while (0)

static HtRow *
visible_row (GtkColumnView *table, guint i)
{
  return ht_table_row (table, i);
}

static guint64
allocated_total (GtkColumnView *table)
{
  guint64 total = 0;
  GListModel *rows = ht_table_visible (table);
  for (guint i = 0; i < g_list_model_get_n_items (rows); i++)
    {
      g_autoptr (HtRow) r = ht_table_row (table, i);
      total += (guint64)r->values[1];
    }
  return total;
}

/* The sum of a call tree view's top rows' totals (its column 0). */
static guint64
tree_total (GtkWidget *view)
{
  GtkWidget *cv = view ? find_type (view, GTK_TYPE_COLUMN_VIEW) : NULL;
  GListModel *model = cv ? G_LIST_MODEL (gtk_column_view_get_model (GTK_COLUMN_VIEW (cv))) : NULL;
  guint64 total = 0;
  for (guint i = 0; model && i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr (GtkTreeListRow) r = g_list_model_get_item (model, i);
      if (gtk_tree_list_row_get_depth (r) == 0)
        {
          g_autoptr (HtRow) row = gtk_tree_list_row_get_item (r);
          total += (guint64)row->values[0];
        }
    }
  return total;
}

/* A range dragged across the summary's chart, as the chart says it: its "range-selected". */
static void
choose_range (HtPage *page, double from, double to)
{
  GtkWidget *timeline = find_type (ht_page_view_widget (page, HT_VIEW_SUMMARY), HT_TYPE_TIMELINE);
  CHECK (timeline != NULL, "the summary has its timeline");
  if (timeline)
    g_signal_emit_by_name (timeline, "range-selected", from, to);
}

/* Shows a view as Alt+N does (win.view), and returns its widget of `type`, or NULL. */
static GtkWidget *
show_view (HtPage *page, HtView which, GType type)
{
  gtk_widget_activate_action (GTK_WIDGET (ht_gui_window ()), "win.view", "s", ht_view_ids[which]);
  GtkWidget *slot = ht_page_view_widget (page, which);
  return slot ? find_type (slot, type) : NULL;
}

/* Every visible row of a Compare pane passes `ok`; how many rows there are. */
static guint
pane_rows (GtkWidget *pane, gboolean (*ok) (HtRow *, gpointer), gpointer data, gboolean *all)
{
  GtkColumnView *table = ht_compare_pane_get_table (HT_COMPARE_PANE (pane));
  GListModel *rows = ht_table_visible (table);
  guint n = g_list_model_get_n_items (rows);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (HtRow) r = ht_table_row (table, i);
      if (!ok (r, data))
        *all = FALSE;
    }
  return n;
}

static gboolean
key_is_file (HtRow *r, gpointer data)
{
  (void)data;
  return g_str_has_suffix (r->key, ".c") || g_str_has_prefix (r->key, "<");
}

static gboolean
key_holds (HtRow *r, gpointer data)
{
  return strstr (r->key, data) != NULL;
}

static gboolean
sorted_by_leaked (HtRow *r, gpointer data)
{
  gint64 *last = data;
  gboolean ok = r->values[HT_COMPARE_LEAKED] <= *last;
  *last = r->values[HT_COMPARE_LEAKED];
  return ok;
}

/* Compare, driven as a user would: pick B, click Compare, then check that both sides keep
 * in step (grouping, sort, filter, selection, the timelines' scale) and the difference. */
static void
drive_compare (HtPage *page, HtPage *other)
{
  ht_page_show_view (page, HT_VIEW_COMPARE);
  GtkWidget *view = GTK_WIDGET (page);
  GtkDropDown *pick = GTK_DROP_DOWN (find_named (view, "compare-with"));
  CHECK (g_list_model_get_n_items (G_LIST_MODEL (ht_gui_recordings ())) == 2 && pick,
         "Compare offers the 2 open recordings");
  if (!pick)
    return;
  const char *want = ht_db_path (ht_page_db (other));
  GListModel *choices = gtk_drop_down_get_model (pick);
  for (guint i = 0; i < g_list_model_get_n_items (choices); i++)
    {
      g_autoptr (GtkStringObject) o = g_list_model_get_item (choices, i);
      if (g_str_equal (gtk_string_object_get_string (o), want))
        gtk_drop_down_set_selected (pick, i);
    }
  g_signal_emit_by_name (find_named (view, "compare-go"), "clicked");

  GtkWidget *compare = find_type (view, HT_TYPE_COMPARE_VIEW);
  GListModel *diff = ht_compare_view_rows (HT_COMPARE_VIEW (compare));
  guint n = g_list_model_get_n_items (diff);
  g_autoptr (HtRow) first = n ? g_list_model_get_item (diff, 0) : NULL;
  g_autoptr (HtRow) last = n ? g_list_model_get_item (diff, n - 1) : NULL;
  CHECK (n > 0 && first->values[2] >= last->values[2] && first->values[2] > 0,
         "compare: the difference lists %u locations, the largest growth first (%lld B)", n,
         first ? (long long)first->values[2] : 0LL);

  GtkWidget *pane_a = find_named (view, "compare-a"), *pane_b = find_named (view, "compare-b");
  gboolean all = TRUE;
  gtk_drop_down_set_selected (GTK_DROP_DOWN (find_named (view, "compare-group-by")), 2);
  guint na = pane_rows (pane_a, key_is_file, NULL, &all);
  guint nb = pane_rows (pane_b, key_is_file, NULL, &all);
  CHECK (all && na > 0 && nb > 0, "compare: grouped by file on both sides (%u and %u rows)", na,
         nb);
  gtk_drop_down_set_selected (GTK_DROP_DOWN (find_named (view, "compare-group-by")), 0);
  gtk_drop_down_set_selected (GTK_DROP_DOWN (find_named (view, "compare-sort-by")),
                              HT_COMPARE_LEAKED);
  gint64 last_a = G_MAXINT64, last_b = G_MAXINT64;
  all = TRUE;
  na = pane_rows (pane_a, sorted_by_leaked, &last_a, &all);
  nb = pane_rows (pane_b, sorted_by_leaked, &last_b, &all);
  CHECK (all && na > 1 && nb > 1, "compare: both sides sorted by leaked bytes");
  gtk_editable_set_text (GTK_EDITABLE (find_named (view, "compare-search")), ".c:7");
  g_signal_emit_by_name (find_named (view, "compare-search"), "search-changed");
  all = TRUE;
  na = pane_rows (pane_a, key_holds, (gpointer) ".c:7", &all);
  nb = pane_rows (pane_b, key_holds, (gpointer) ".c:7", &all);
  CHECK (all && na > 0 && nb > 0, "compare: one filter on both sides (%u and %u rows)", na, nb);
  gtk_editable_set_text (GTK_EDITABLE (find_named (view, "compare-search")), "");
  g_signal_emit_by_name (find_named (view, "compare-search"), "search-changed");

  /* a location selected on A is selected on B */
  GtkColumnView *ta = ht_compare_pane_get_table (HT_COMPARE_PANE (pane_a));
  gtk_selection_model_select_item (GTK_SELECTION_MODEL (ht_table_visible (ta)), 1, TRUE);
  const char *sa = ht_compare_pane_selected (HT_COMPARE_PANE (pane_a));
  const char *sb = ht_compare_pane_selected (HT_COMPARE_PANE (pane_b));
  CHECK (sa && sb && g_str_equal (sa, sb), "compare: selecting %s on A selects it on B",
         sa ? sa : "nothing");

  /* one scale for both timelines */
  double ta_t, ta_v, tb_t, tb_v;
  GtkWidget *la = find_type (pane_a, HT_TYPE_TIMELINE), *lb = find_type (pane_b, HT_TYPE_TIMELINE);
  if (la && lb)
    {
      ht_timeline_get_axes (HT_TIMELINE (la), &ta_t, &ta_v);
      ht_timeline_get_axes (HT_TIMELINE (lb), &tb_t, &tb_v);
    }
  CHECK (la && lb && ta_t == tb_t && ta_v == tb_v, "compare: both timelines on one scale");
}

/* Drives the first page the way a user would and checks what the models hold. */
/* --screenshot, --self-test and --bench on a recording that cannot be opened: say so, fail */
static gboolean
any_failed (GPtrArray *pages)
{
  for (guint i = 0; i < pages->len; i++)
    {
      HtPage *p = pages->pdata[i];
      if (ht_page_failed (p))
        {
          g_printerr ("heaptrail-gui: %s could not be opened (%s)\n", ht_page_path (p),
                      ht_page_error (p));
          ht_gui_set_exit_status (1);
          gtk_window_destroy (ht_gui_window ());
          g_ptr_array_unref (pages);
          return TRUE;
        }
    }
  return FALSE;
}

static gboolean
self_test_step (gpointer data)
{
  GPtrArray *pages = data;
  if (g_getenv ("HT_SELF_TEST_CANCEL"))
    for (guint i = 0; i < pages->len; i++)
      {
        /* the user's way: the page's Cancel button */
        GtkWidget *cancel = find_named (GTK_WIDGET (pages->pdata[i]), "cancel-import");
        if (cancel)
          g_signal_emit_by_name (cancel, "clicked");
      }
  if (any_failed (pages))
    return G_SOURCE_REMOVE;
  for (guint i = 0; i < pages->len; i++)
    if (!ht_page_ready (pages->pdata[i]))
      return G_SOURCE_CONTINUE;
  HtPage *page = pages->pdata[0];
  GtkWidget *window = GTK_WIDGET (ht_gui_window ());
  /* as Alt+2 does */
  GtkWidget *allocations = show_view (page, HT_VIEW_ALLOCATIONS, HT_TYPE_ALLOCATIONS_VIEW);
  CHECK (ht_page_current_view (page) == HT_VIEW_ALLOCATIONS && allocations,
         "win.view shows Allocations");
  if (!allocations)
    return G_SOURCE_REMOVE;
  GtkColumnView *table = ht_allocations_view_get_table (HT_ALLOCATIONS_VIEW (allocations));
  GtkDropDown *group_by = GTK_DROP_DOWN (find_named (GTK_WIDGET (page), "group-by"));

  /* group by line, then function */
  guint by_line = g_list_model_get_n_items (ht_table_visible (table));
  g_autoptr (HtRow) first_line = by_line ? visible_row (table, 0) : NULL;
  CHECK (by_line > 0 && first_line && strchr (first_line->key, ':'),
         "by line: %u groups, first '%s'", by_line, first_line ? first_line->key : "");
  /* a sampled recording shows how far each estimate of the bytes allocated may be, in a
   * column beside it (Where, Allocated, ±, Allocations...); an exact one has no such column */
  gint64 rate = ht_db_meta_int (ht_page_db (page), "sample_bytes");
  g_autoptr (GtkColumnViewColumn) sd_col
      = g_list_model_get_item (gtk_column_view_get_columns (table), 2);
  CHECK (gtk_column_view_column_get_visible (sd_col) == (rate > 0),
         "the deviation column is shown only when sampled (sample_bytes %lld)", (long long) rate);
  if (rate > 0)
    {
      /* every row's, and some are not 0 (blocks far larger than the rate are each
       * recorded: their deviation is) */
      guint wrong = 0, spread = 0;
      g_autoptr (HtRow) shown = NULL;
      for (guint i = 0; i < by_line; i++)
        {
          g_autoptr (HtRow) r = visible_row (table, i);
          double want = ht_sample_deviation ((double) r->values[0], (double) r->values[1],
                                             (double) rate);
          wrong += fabs ((double) r->values[7] - want) > 1;
          if (r->values[7] > 0 && spread++ == 0)
            shown = g_object_ref (r);
        }
      CHECK (wrong == 0 && shown, "sampled: %u of %u lines have a deviation; '%s' allocated "
             "%lld B, ± %lld B", spread, by_line, shown ? shown->key : "",
             shown ? (long long) shown->values[0] : 0LL, shown ? (long long) shown->values[7] : 0LL);
    }
  gtk_drop_down_set_selected (group_by, HT_GROUP_FUNCTION); /* the user's pick */
  guint by_function = g_list_model_get_n_items (ht_table_visible (table));
  gboolean no_lines = TRUE;
  for (guint i = 0; i < by_function; i++)
    {
      g_autoptr (HtRow) r = visible_row (table, i);
      no_lines = no_lines && !g_regex_match_simple (":[0-9]+$", r->key, 0, 0);
    }
  CHECK (by_function > 0 && no_lines, "by function: %u groups, keys are functions", by_function);

  /* sort by the allocation count, descending, then ascending */
  GListModel *cols = gtk_column_view_get_columns (table);
  g_autoptr (GtkColumnViewColumn) count_col = g_list_model_get_item (cols, 3);
  gtk_column_view_sort_by_column (table, count_col, GTK_SORT_DESCENDING);
  gboolean sorted = TRUE;
  for (guint i = 1; i < by_function; i++)
    {
      g_autoptr (HtRow) a = visible_row (table, i - 1);
      g_autoptr (HtRow) b = visible_row (table, i);
      sorted = sorted && a->values[1] >= b->values[1];
    }
  CHECK (sorted, "sorted by allocations, descending");
  gtk_column_view_sort_by_column (table, count_col, GTK_SORT_ASCENDING);
  g_autoptr (HtRow) low = visible_row (table, 0);
  g_autoptr (HtRow) high = visible_row (table, by_function - 1);
  CHECK (low->values[1] <= high->values[1], "sorted by allocations, ascending");

  /* back to lines; select the largest allocated line and open its graph */
  gtk_drop_down_set_selected (group_by, HT_GROUP_LINE);
  g_autoptr (GtkColumnViewColumn) size_col = g_list_model_get_item (cols, 1);
  gtk_column_view_sort_by_column (table, size_col, GTK_SORT_DESCENDING);
  GtkSelectionModel *sel = gtk_column_view_get_model (table);
  gtk_selection_model_select_item (sel, 0, TRUE);
  HtRow *row = ht_table_selected (table);
  CHECK (row && row->traceback && row->traceback->len > 0, "selected '%s' has a traceback",
         row ? row->key : "");
  /* the row expands to its traceback, frame by frame */
  {
    GListModel *visible = ht_table_visible (table);
    guint before = g_list_model_get_n_items (visible);
    g_autoptr (GObject) first = g_list_model_get_item (visible, 0);
    if (GTK_IS_TREE_LIST_ROW (first))
      gtk_tree_list_row_set_expanded (GTK_TREE_LIST_ROW (first), TRUE);
    guint after = g_list_model_get_n_items (visible);
    guint frames = row && row->traceback ? row->traceback->len : 0;
    CHECK (after == before + frames, "the row expands to its %u frames (%u -> %u rows)", frames,
           before, after);
    if (GTK_IS_TREE_LIST_ROW (first))
      gtk_tree_list_row_set_expanded (GTK_TREE_LIST_ROW (first), FALSE);
  }
  if (row)
    {
      /* the selected row's "Show in graph" button */
      g_signal_emit_by_name (find_named (GTK_WIDGET (page), "show-in-graph"), "clicked");
      CHECK (!g_getenv ("HT_SELF_TEST_EXPECT_GRAPH") || ht_page_current_view (page) == HT_VIEW_GRAPH,
             "Show in graph shows Graph");
      GtkWidget *graph = find_type (ht_page_view_widget (page, HT_VIEW_GRAPH), HT_TYPE_GRAPH_VIEW);
      gtk_widget_activate_action (window, "win.view", "s", ht_view_ids[HT_VIEW_ALLOCATIONS]);
      guint nodes = graph ? ht_graph_view_node_count (HT_GRAPH_VIEW (graph)) : 0;
      g_print ("self-test: graph of '%s': %u nodes\n", row->key, nodes);
      if (g_getenv ("HT_SELF_TEST_EXPECT_GRAPH"))
        CHECK (nodes > 0, "the row's graph has %u nodes", nodes);
    }

  /* the graph's blocks, read from SQLite a page at a time as the list shows them */
  GtkWidget *graph = show_view (page, HT_VIEW_GRAPH, HT_TYPE_GRAPH_VIEW);
  GListModel *blocks = graph ? ht_graph_view_blocks (HT_GRAPH_VIEW (graph)) : NULL;
  if (blocks)
    {
      guint n = g_list_model_get_n_items (blocks);
      g_autoptr (HtRow) mid = n ? g_list_model_get_item (blocks, n / 2) : NULL;
      g_autoptr (HtRow) top = n ? g_list_model_get_item (blocks, 0) : NULL;
      CHECK (n > 0 && mid && top && top->values[1] >= mid->values[1]
                 && ht_block_list_pages_read (HT_BLOCK_LIST (blocks)) <= 3,
             "blocks: %u, largest retained first, %u page reads", n,
             ht_block_list_pages_read (HT_BLOCK_LIST (blocks)));
    }

  /* two snapshots: the first and the last, picked in the view's drop-downs */
  GtkWidget *snapshots_view = show_view (page, HT_VIEW_SNAPSHOTS, HT_TYPE_SNAPSHOTS_VIEW);
  GListModel *diff = NULL;
  if (snapshots_view)
    {
      GtkDropDown *from = GTK_DROP_DOWN (find_named (snapshots_view, "snapshot-from"));
      GtkDropDown *to = GTK_DROP_DOWN (find_named (snapshots_view, "snapshot-to"));
      gtk_drop_down_set_selected (from, 0);
      gtk_drop_down_set_selected (to, g_list_model_get_n_items (gtk_drop_down_get_model (to)) - 1);
      diff = ht_snapshots_view_rows (HT_SNAPSHOTS_VIEW (snapshots_view));
    }
  CHECK (diff && g_list_model_get_n_items (diff) > 0,
         "diff between the first and last snapshots: %u rows",
         diff ? g_list_model_get_n_items (diff) : 0);
  if (diff && g_list_model_get_n_items (diff) > 0)
    {
      /* click through to the site: Allocations filtered to that line */
      g_autoptr (GObject) item = g_list_model_get_item (diff, 0);
      /* a double-click on the first row: the table's "activate" */
      GtkWidget *snapshots = ht_page_view_widget (page, HT_VIEW_SNAPSHOTS);
      GtkWidget *diff_table = find_type (snapshots, GTK_TYPE_COLUMN_VIEW);
      CHECK (diff_table != NULL, "the Snapshots view has its table");
      if (diff_table)
        g_signal_emit_by_name (diff_table, "activate", 0);
      guint shown = g_list_model_get_n_items (ht_table_visible (table));
      g_autoptr (HtRow) only = shown ? ht_table_row (table, 0) : NULL;
      CHECK (ht_page_current_view (page) == HT_VIEW_ALLOCATIONS && shown == 1 && only
                 && g_str_equal (only->key, HT_ROW (item)->key),
             "a diff row opens its site in Allocations (%u rows shown)", shown);
      gtk_editable_set_text (GTK_EDITABLE (find_named (allocations, "allocations-search")), "");
    }

  /* the help overlay lists the shortcuts */
  GtkShortcutsWindow *help
      = gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (ht_gui_window ()));
  CHECK (help != NULL, "the help overlay (Ctrl+?) is loaded");

  /* compare with the second recording, picked in Compare's list and its button clicked */
  if (pages->len > 1)
    drive_compare (page, pages->pdata[1]);

  /* what is on screen, for the translation test */
  if (g_getenv ("HT_SELF_TEST_LABELS"))
    {
      const char *want = g_getenv ("HT_SELF_TEST_VIEW");
      HtView shown = HT_VIEW_SUMMARY;
      for (int i = 0; want && i < HT_VIEW_COUNT; i++)
        if (g_str_equal (want, ht_view_ids[i]))
          shown = (HtView)i;
      ht_page_show_view (page, shown);
      GString *labels = g_string_new (NULL);
      collect_labels (GTK_WIDGET (ht_gui_window ()), labels);
      g_autofree char *path = g_strdup (g_getenv ("HT_SELF_TEST_LABELS"));
      g_file_set_contents (path, labels->str, -1, NULL);
      g_string_free (labels, TRUE);
    }
  /* a time range chosen on the chart: every view of allocations then counts only those
   * made in it, at once (a query of the time buckets, no import); a click clears it */
  for (int i = 0; i < HT_VIEW_COUNT; i++)
    show_view (page, (HtView)i, GTK_TYPE_WIDGET);
  GtkWidget *top_down = ht_page_view_widget (page, HT_VIEW_TOP_DOWN);
  GtkWidget *bottom_up = ht_page_view_widget (page, HT_VIEW_BOTTOM_UP);
  guint64 before[3] = { allocated_total (table), tree_total (top_down), tree_total (bottom_up) };
  double duration = ht_db_meta_double (ht_page_db (page), "duration_s");
  guint64 half[2][3];
  for (int h = 0; h < 2; h++)
    {
      choose_range (page, duration * h / 2, duration * (h + 1) / 2);
      half[h][0] = allocated_total (table);
      half[h][1] = tree_total (top_down);
      half[h][2] = tree_total (bottom_up);
    }
  /* each half counts less than the whole, and together at least all of it (the bucket at
   * the middle is in both) */
  for (int k = 0; k < 3; k++)
    CHECK (half[0][k] <= before[k] && half[1][k] <= before[k]
               && half[0][k] + half[1][k] >= before[k]
               && (half[0][k] < before[k] || half[1][k] < before[k]),
           "time range (%s): first half %llu, second half %llu, the whole run %llu",
           k == 0 ? "allocations" : k == 1 ? "top-down" : "bottom-up",
           (unsigned long long)half[0][k], (unsigned long long)half[1][k],
           (unsigned long long)before[k]);
  /* Snapshots compares the snapshots around the range; Leaks lists those allocated in it */
  choose_range (page, duration * 0.25, duration * 0.75);
  GtkWidget *leaks = ht_page_view_widget (page, HT_VIEW_LEAKS);
  GtkWidget *leaks_summary = leaks ? find_type (leaks, GTK_TYPE_LABEL) : NULL;
  const char *leaks_text = leaks_summary ? gtk_label_get_text (GTK_LABEL (leaks_summary)) : "";
  /* the summary names the range (in any language: its numbers) */
  g_autofree char *range_from = g_strdup_printf ("%.3f", duration * 0.25);
  CHECK (strstr (leaks_text, range_from) != NULL, "time range: Leaks names the range (%s s)",
         range_from);
  GtkWidget *snaps = find_type (ht_page_view_widget (page, HT_VIEW_SNAPSHOTS),
                                HT_TYPE_SNAPSHOTS_VIEW);
  if (snaps)
    {
      g_autoptr (GPtrArray) infos = ht_query_snapshots (ht_page_db (page), NULL);
      guint ia = gtk_drop_down_get_selected (GTK_DROP_DOWN (find_named (snaps, "snapshot-from")));
      guint ib = gtk_drop_down_get_selected (GTK_DROP_DOWN (find_named (snaps, "snapshot-to")));
      const HtSnapshotInfo *a = infos && ia < infos->len ? infos->pdata[ia] : NULL;
      const HtSnapshotInfo *b = infos && ib < infos->len ? infos->pdata[ib] : NULL;
      CHECK (a && b && a->time_s <= duration * 0.25 && b->time_s >= duration * 0.75
                 && (ia + 1 == ib || ((const HtSnapshotInfo *)infos->pdata[ia + 1])->time_s
                                       > duration * 0.25),
             "time range: Snapshots compares %s (%.3f s) with %s (%.3f s) around %.3f-%.3f s",
             a ? a->label : "?", a ? a->time_s : 0, b ? b->label : "?", b ? b->time_s : 0,
             duration * 0.25, duration * 0.75);
    }
  choose_range (page, 0, 0);
  CHECK (allocated_total (table) == before[0] && tree_total (top_down) == before[1],
         "a click on the chart brings the whole run back");
  g_ptr_array_unref (pages);
  gtk_window_destroy (ht_gui_window ());
  return G_SOURCE_REMOVE;
}

/* --bench: the time from the command line to a usable window, and each view's share. */
static gboolean
bench_step (gpointer data)
{
  GPtrArray *pages = data;
  HtPage *page = pages->pdata[0];
  if (any_failed (pages))
    return G_SOURCE_REMOVE;
  if (!ht_page_ready (page))
    return G_SOURCE_CONTINUE;
  double open_ms = (double)(g_get_monotonic_time () - ht_gui_started ()) / 1000;
  /* each view shown as Alt+N does, the first time: built then, its queries included */
  gint64 us[HT_VIEW_COUNT];
  for (int i = 0; i < HT_VIEW_COUNT; i++)
    {
      gint64 start = g_get_monotonic_time ();
      show_view (page, (HtView)i, GTK_TYPE_WIDGET);
      us[i] = g_get_monotonic_time () - start;
    }
  /* a range on the chart, every view built: what all of them take to follow it */
  double duration = ht_db_meta_double (ht_page_db (page), "duration_s");
  gint64 t0 = g_get_monotonic_time ();
  choose_range (page, duration * 0.4, duration * 0.6);
  gint64 t1 = g_get_monotonic_time ();
  choose_range (page, 0, 0);
  gint64 t2 = g_get_monotonic_time ();
  GString *json = g_string_new (NULL);
  g_string_append_printf (json, "{\"open_ms\": %.1f", open_ms);
  for (int i = 0; i < HT_VIEW_COUNT; i++)
    g_string_append_printf (json, ", \"%s_ms\": %.1f", ht_view_ids[i], (double)us[i] / 1000);
  g_string_append_printf (json, ", \"range_ms\": %.1f, \"range_clear_ms\": %.1f}",
                          (double)(t1 - t0) / 1000, (double)(t2 - t1) / 1000);
  g_print ("%s\n", json->str); /* one line, after what the checks printed */
  g_string_free (json, TRUE);
  g_ptr_array_unref (pages);
  gtk_window_destroy (ht_gui_window ());
  return G_SOURCE_REMOVE;
}

static gboolean self_test, bench;

static int
local_options (GVariantDict *options)
{
  self_test = g_variant_dict_contains (options, "self-test");
  bench = g_variant_dict_contains (options, "bench");
  return -1;
}

static void
opened (GPtrArray *pages)
{
  if (bench)
    g_timeout_add (20, bench_step, pages);
  else if (self_test)
    g_timeout_add (g_getenv ("HT_SELF_TEST_CANCEL") ? 5 : 300, self_test_step, pages);
  else
    g_ptr_array_unref (pages);
}

int
main (int argc, char **argv)
{
  static const GOptionEntry options[] = {
    { "self-test", 0, 0, G_OPTION_ARG_NONE, NULL,
      "Drive the views of the first recording, check what they show, then quit", NULL },
    { "bench", 0, 0, G_OPTION_ARG_NONE, NULL,
      "Print how long the first recording took to open and each view to build, then quit", NULL },
    { NULL },
  };
  static const HtGuiDriver driver = { options, local_options, opened };
  return ht_gui_run (argc, argv, &driver);
}
