/* ht-allocations-view.h - the Allocations view: tracemalloc's statistics, by a key. */
#pragma once

#include <gtk/gtk.h>

#include "ht-db.h"
#include "ht-query.h"

G_BEGIN_DECLS

#define HT_TYPE_ALLOCATIONS_VIEW (ht_allocations_view_get_type ())
G_DECLARE_FINAL_TYPE (HtAllocationsView, ht_allocations_view, HT, ALLOCATIONS_VIEW, GtkBox)

/* "Show in graph" emits "graph-requested" with the selected row (an HtRow). */
GtkWidget *ht_allocations_view_new (HtDb *db, gboolean has_graph);
void ht_allocations_view_set_group_by (HtAllocationsView *self, HtGroupBy by);
/* Grouped by `by`, only the rows whose key holds `key` (a "file:line", say). */
void ht_allocations_view_filter (HtAllocationsView *self, HtGroupBy by, const char *key);
/* Only the allocations made between `from` and `to` seconds (to <= from: all of them). */
void ht_allocations_view_set_time_range (HtAllocationsView *self, double from, double to);
void ht_allocations_view_focus_search (HtAllocationsView *self);
GtkColumnView *ht_allocations_view_get_table (HtAllocationsView *self);

G_END_DECLS
