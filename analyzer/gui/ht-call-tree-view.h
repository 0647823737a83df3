/* ht-call-tree-view.h - the Top-down and Bottom-up views: the call tree of a cost. */
#pragma once

#include <gtk/gtk.h>

#include "ht-db.h"
#include "ht-query.h"

G_BEGIN_DECLS

#define HT_TYPE_CALL_TREE_VIEW (ht_call_tree_view_get_type ())
G_DECLARE_FINAL_TYPE (HtCallTreeView, ht_call_tree_view, HT, CALL_TREE_VIEW, GtkBox)

/* The call tree of the recording in `db`: callers first (top-down), or allocating functions
 * first (`bottom_up`). */
GtkWidget *ht_call_tree_view_new (HtDb *db, gboolean bottom_up);
/* Only the allocations made between `from` and `to` seconds (to <= from: all of them). */
void ht_call_tree_view_set_time_range (HtCallTreeView *self, double from, double to);

/* The costs both call trees and the flame graph offer, as their drop-downs list them. */
HtTopOptions ht_cost_options (guint cost);

G_END_DECLS
