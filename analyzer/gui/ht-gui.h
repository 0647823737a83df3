/* ht-gui.h - heaptrail-gui's parts.
 *
 *   heaptrail-gui.c  main()
 *   ht-application.c HtApplication: command line (--compare, --screenshot, --window-size),
 *                    its actions and shortcuts
 *   ht-window.c      HtWindow (template ht-window.ui; actions in ht-window-actions.c): the
 *                    header bar, one tab per recording, drop, the size and recent files
 *   ht-page.c        HtPage, one tab per recording: its import in a worker thread, its views
 *   ht-gui-views.c   the views in the page's stack, built when first shown; each view is its
 *                    own widget with its template: ht-summary-view.c, ht-allocations-view.c,
 *                    ht-call-tree-view.c, ht-flame-view.c, ht-snapshots-view.c,
 *                    ht-types-view.c, ht-leaks-view.c, ht-graph-view.c, ht-compare-view.c
 *                    (its two sides: ht-compare-pane.c) (data/gtk/ht-*.ui); a time range
 *                    chosen on the summary's chart goes to every one of them
 *   ht-timeline.c, ht-flame-graph.c   the drawn widgets (own headers and templates)
 *   ht-gui-row.c     HtRow, the one GObject every table lists, and the tables
 *   ht-gui-lazy.c    HtBlockList: a heap graph's blocks, read a page at a time
 *   ht-gui-util.c    small shared pieces
 *
 * Every figure comes from the analyzer library (ht-query.h, ht-heap.h), as in the CLI.
 */
#pragma once

#include <glib/gi18n.h>
#include <gtk/gtk.h>

#include "ht-db.h"
#include "ht-flame-graph.h"
#include "ht-heap.h"
#include "ht-page.h"
#include "ht-query.h"
#include "ht-suppressions.h"
#include "ht-timeline.h"

G_BEGIN_DECLS

/* A time range chosen on a chart, in seconds from the start (to 0: none). */
typedef void (*HtRangeFunc) (double from_s, double to_s, gpointer data);

/* ---------------------------------------------------------------------------------------
 * HtRow: a table row: a key, a few numbers, and what the row stands for
 */
#define HT_ROW_VALUES 8

#define HT_TYPE_ROW (ht_row_get_type ())
G_DECLARE_FINAL_TYPE (HtRow, ht_row, HT, ROW, GObject)

struct _HtRow
{
  GObject parent;
  char *key;      /* first column */
  char *detail;   /* second text column (class, site...), or NULL */
  char *match;    /* what names the row across recordings (HtStat's match), or NULL */
  gint64 values[HT_ROW_VALUES]; /* the numeric columns, as the view defines them */
  GPtrArray *traceback;         /* HtLocation*, innermost first, or NULL */
  guint64 address;              /* a block's (graph views), 0 otherwise */
};

HtRow *ht_row_new (const char *key, const char *detail);
HtRow *ht_row_from_stat (const HtStat *stat, HtDb *db);
/* Adds `stats` (HtStat*) into `rows` (match -> HtRow, made as needed with every value 0):
 * each group's size into value `column`, its count into `count_column` (-1: none). */
void ht_rows_add_stats (GHashTable *rows, GPtrArray *stats, int column, int count_column,
                        HtDb *db);
/* Whether the row's key holds `text`, case aside (NULL or "": every row does). */
gboolean ht_row_key_holds (const HtRow *row, const char *text);
/* The rows of such a table, each a new reference (GLib 2.74 has no
 * g_hash_table_get_values_as_ptr_array). */
GPtrArray *ht_rows_values (GHashTable *rows);
/* The store's items become `rows` at once: one change for the models over it, not one per
 * row (a table of thousands is sorted and bound once). */
void ht_store_replace (GListStore *store, GPtrArray *rows);

/* A column view over a list of HtRow: `titles` name the key column, then each value
 * column (NULL-terminated); values with a name ending in "B" are shown as sizes.  Every
 * column sorts; the returned view's model is a GtkSingleSelection over a sort model over a
 * filter model over `store`. */
GtkWidget *ht_table_new (GListStore *store, const char *const *titles, gboolean detail_column,
                         GtkFilter *filter, gboolean expandable);
void ht_table_sort_by (GtkWidget *table, guint index);
/* With `expandable`, each row expands to the frames of its traceback. */
/* A table over a model in its own order (not sortable), such as HtBlockList. */
GtkWidget *ht_table_new_lazy (GListModel *model, const char *const *titles,
                              gboolean detail_column);

/* ht-gui-lazy.c: the live blocks of a heap graph, largest retained size first, as a list
 * model that reads them from SQLite a page at a time, when the list shows them: a graph of
 * millions of blocks scrolls without loading it.  Items are HtRow: key "0xADDRESS", detail
 * the type, values size, retained size, class (HtReach). */
#define HT_TYPE_BLOCK_LIST (ht_block_list_get_type ())
G_DECLARE_FINAL_TYPE (HtBlockList, ht_block_list, HT, BLOCK_LIST, GObject)
HtBlockList *ht_block_list_new (HtDb *db, gint64 snapshot, guint n_blocks);
guint ht_block_list_pages_read (HtBlockList *self); /* SQL queries made so far */
HtRow *ht_table_selected (GtkColumnView *table);
HtRow *ht_table_row (GtkColumnView *table, guint position); /* a new ref, or NULL */
/* The GListModel the user sees (sorted and filtered), for tests. */
GListModel *ht_table_visible (GtkColumnView *table);

/* ---------------------------------------------------------------------------------------
 * ht-application.c: the application
 */

/* Who drives the application instead of a user (tests/gui's driver): more options, what
 * they mean (-1: go on, else the exit status), and the pages of the recordings given on
 * the command line once their tabs exist (the driver owns the array). */
typedef struct
{
  const GOptionEntry *options;
  int (*local_options) (GVariantDict *options);
  void (*opened) (GPtrArray *pages);
} HtGuiDriver;

/* Runs heaptrail-gui (driver: NULL for a user's session); returns the exit status. */
int ht_gui_run (int argc, char **argv, const HtGuiDriver *driver);
GtkWindow *ht_gui_window (void);
void ht_gui_set_exit_status (int status);
gint64 ht_gui_started (void); /* g_get_monotonic_time() at the start */

/* ht-gui-views.c: builds the views of an open database into `stack`. */
HtViews *ht_views_new (HtDb *db, const char *path, GtkStack *stack);
/* The time range the views show: the summary marks it, the views of allocations keep only
 * those made in it (a query of the database's time buckets); dragging across the summary's
 * chart calls on_range. */
void ht_views_set_range (HtViews *views, double from, double to, HtRangeFunc on_range,
                         gpointer data);
void ht_views_free (HtViews *views);
void ht_views_focus_search (HtViews *views);
/* Compare (built if need be) on the recording whose database is at `path`. */
gboolean ht_views_compare_with (HtViews *views, const char *path, GError **error);

/* ht-gui-util.c */
GtkWidget *ht_unavailable_new (const char *why, const char *how);
char *ht_traceback_text (GPtrArray *traceback);
/* A tooltip kept as the widget's data and given when asked (query-tooltip): a list's cells
 * are bound often, and GTK 4.8's gtk_widget_set_tooltip_text() makes an X round trip each
 * time (thousands on a long table). */
void ht_set_lazy_tooltip (GtkWidget *w, const char *text);

G_END_DECLS
