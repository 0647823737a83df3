/* ht-compare-view.h - the Compare view: this recording and another, side by side or as a
 * difference, by location. */
#pragma once

#include <gtk/gtk.h>

#include "ht-db.h"

G_BEGIN_DECLS

#define HT_TYPE_COMPARE_VIEW (ht_compare_view_get_type ())
G_DECLARE_FINAL_TYPE (HtCompareView, ht_compare_view, HT, COMPARE_VIEW, GtkBox)

/* `recordings` (GtkStringObject paths of databases) are what it offers to compare with,
 * but for this one; it opens compared with the first of them. */
GtkWidget *ht_compare_view_new (HtDb *db, GListModel *recordings);
gboolean ht_compare_view_compare_with (HtCompareView *self, const char *db_path, GError **error);
/* The difference's rows as the user sees them. */
GListModel *ht_compare_view_rows (HtCompareView *self);
/* Whether another recording is being compared with this one. */
gboolean ht_compare_view_compared (HtCompareView *self);
/* The difference (a table and a differential flame graph), or the two side by side. */
void ht_compare_view_show_difference (HtCompareView *self, gboolean difference);

/* Both recordings: only the allocations made between `from` and `to` seconds from each
 * one's start (to <= from: all of them). */
void ht_compare_view_set_time_range (HtCompareView *self, double from, double to);

G_END_DECLS
