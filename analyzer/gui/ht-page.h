/* ht-page.h - HtPage: one recording in a tab, its import and its views. */
#pragma once

#include <gtk/gtk.h>

#include "ht-db.h"

G_BEGIN_DECLS

typedef enum
{
  HT_VIEW_SUMMARY,
  HT_VIEW_ALLOCATIONS,
  HT_VIEW_TOP_DOWN,
  HT_VIEW_BOTTOM_UP,
  HT_VIEW_FLAME,
  HT_VIEW_SNAPSHOTS,
  HT_VIEW_TYPES,
  HT_VIEW_LEAKS,
  HT_VIEW_GRAPH,
  HT_VIEW_COMPARE,
  HT_VIEW_COUNT,
} HtView;

extern const char *const ht_view_ids[HT_VIEW_COUNT];

#define HT_TYPE_PAGE (ht_page_get_type ())
G_DECLARE_FINAL_TYPE (HtPage, ht_page, HT, PAGE, GtkBox)

/* A page for the recording at `path` (a log or a database); a log is imported first, in
 * a worker thread, with a progress bar and Cancel.  Its "opened" signal says when the
 * database is open, or why it could not be (an error message). */
HtPage *ht_page_new (const char *path);
/* Opens the recording: its database when current, else an import (signal "opened"). */
void ht_page_start (HtPage *page);
const char *ht_page_title (HtPage *page);
const char *ht_page_path (HtPage *page);
gboolean ht_page_failed (HtPage *page);
const char *ht_page_error (HtPage *page); /* why it failed */
/* The log behind its database, or NULL. */
const char *ht_page_log (HtPage *page);
HtDb *ht_page_db (HtPage *page); /* NULL until open */
gboolean ht_page_ready (HtPage *page);
void ht_page_show_view (HtPage *page, HtView view);
HtView ht_page_current_view (HtPage *page);
void ht_page_focus_search (HtPage *page);
/* Shows only the allocations made between from and to (seconds; to 0: all), like the
 * CLI's --time: a query of the time buckets the database holds, nothing imported again. */
void ht_page_set_range (HtPage *page, double from, double to);
/* A view's widget (its slot in the page's stack; the view is its child once built). */
GtkWidget *ht_page_view_widget (HtPage *page, HtView view);

/* The views of an open page (NULL before it opened). */
typedef struct _HtViews HtViews;
HtViews *ht_page_views (HtPage *page);

/* ht-page.c: the databases of the recordings open in the window (the latest first) and of
 * the recent ones, for Compare. */
GtkStringList *ht_gui_recordings (void);
void ht_gui_recordings_add (const char *db_path, gboolean open);

G_END_DECLS
