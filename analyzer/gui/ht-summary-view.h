/* ht-summary-view.h - the Summary view: what `heaptrail summary` says, and the timeline. */
#pragma once

#include <gtk/gtk.h>

#include "ht-db.h"

G_BEGIN_DECLS

#define HT_TYPE_SUMMARY_VIEW (ht_summary_view_get_type ())
G_DECLARE_FINAL_TYPE (HtSummaryView, ht_summary_view, HT, SUMMARY_VIEW, GtkBox)

/* The view, or a page saying why there is none.  Dragging across its chart emits
 * "range-selected" (from, to in seconds; to 0: the whole run again). */
GtkWidget *ht_summary_view_new (HtDb *db, GPtrArray *snapshots, gboolean has_graph);
/* Marks [from, to] as the range every view shows (to 0: none). */
void ht_summary_view_show_range (HtSummaryView *self, double from, double to);

G_END_DECLS
