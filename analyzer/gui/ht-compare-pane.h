/* ht-compare-pane.h - one recording's side of Compare's side by side. */
#pragma once

#include <gtk/gtk.h>

#include "ht-db.h"
#include "ht-query.h"

G_BEGIN_DECLS

#define HT_TYPE_COMPARE_PANE (ht_compare_pane_get_type ())
G_DECLARE_FINAL_TYPE (HtComparePane, ht_compare_pane, HT, COMPARE_PANE, GtkBox)

/* The columns of a pane's table, as ht_compare_pane_set_sort() names them. */
typedef enum
{
  HT_COMPARE_PEAK,
  HT_COMPARE_ALLOCATED,
  HT_COMPARE_LEAKED,
  HT_COMPARE_WHERE,
} HtCompareColumn;

/* Shows `db` (not owned; it must outlive the pane's use of it) under `title`, its
 * locations grouped by base->by, of the allocations made in base's time range if it has
 * one.  FALSE when a query fails. */
gboolean ht_compare_pane_load (HtComparePane *self, HtDb *db, const char *title,
                               const HtTopOptions *base, GError **error);
/* The recording's heap and RSS, drawn on a scale both sides share. */
void ht_compare_pane_set_timeline (HtComparePane *self, GArray *points, double tmax,
                                   double vmax);
void ht_compare_pane_set_sort (HtComparePane *self, HtCompareColumn column);
/* Only the locations whose name holds `text` (case-insensitive); NULL or "": all. */
void ht_compare_pane_set_filter (HtComparePane *self, const char *text);
/* Selects the location that `match` names (as HtStat's match), or none; TRUE if found. */
gboolean ht_compare_pane_select (HtComparePane *self, const char *match);
/* The location selected, or NULL. */
const char *ht_compare_pane_selected (HtComparePane *self);
GtkColumnView *ht_compare_pane_get_table (HtComparePane *self);

G_END_DECLS
