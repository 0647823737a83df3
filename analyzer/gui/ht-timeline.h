/* ht-timeline.h - HtTimeline: heap and RSS over time, snapshots marked; or two recordings
 * overlaid. */
#pragma once

#include <gtk/gtk.h>

#include "ht-query.h"

G_BEGIN_DECLS

#define HT_TYPE_TIMELINE (ht_timeline_get_type ())
G_DECLARE_FINAL_TYPE (HtTimeline, ht_timeline, HT, TIMELINE, GtkDrawingArea)
GtkWidget *ht_timeline_new (GArray *points, GPtrArray *snapshots, double duration_s);
GtkWidget *ht_timeline_overlay_new (GArray *a, GArray *b, const char *label_a,
                                    const char *label_b);
/* Shows [from, to] as selected (to 0: none). */
void ht_timeline_set_range (HtTimeline *timeline, double from, double to);
/* The axes reach at least tmax seconds and vmax bytes: charts side by side share a scale. */
void ht_timeline_set_scale (HtTimeline *timeline, double tmax, double vmax);
/* What the axes reach before rounding: the longest time and the largest heap or RSS drawn,
 * or the shared scale when larger. */
void ht_timeline_get_axes (HtTimeline *timeline, double *tmax, double *vmax);
/* Dragging across it selects a range: "range-selected" (from, to; to 0 for a click). */
void ht_timeline_set_selectable (HtTimeline *timeline, gboolean selectable);

G_END_DECLS
