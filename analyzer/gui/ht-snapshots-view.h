/* ht-snapshots-view.h - the Snapshots view: tracemalloc's compare_to between two snapshots. */
#pragma once

#include <gtk/gtk.h>

#include "ht-db.h"

G_BEGIN_DECLS

#define HT_TYPE_SNAPSHOTS_VIEW (ht_snapshots_view_get_type ())
G_DECLARE_FINAL_TYPE (HtSnapshotsView, ht_snapshots_view, HT, SNAPSHOTS_VIEW, GtkBox)

/* The view, or a page saying why there is none (fewer than two snapshots).  A row
 * activated emits "site-activated" with its line ("file:line"). */
GtkWidget *ht_snapshots_view_new (HtDb *db, GPtrArray *snapshots);
/* The rows as the user sees them (sorted). */
GListModel *ht_snapshots_view_rows (HtSnapshotsView *self);

/* The snapshots around a time range chosen on the timeline (to <= from: the default). */
void ht_snapshots_view_set_time_range (HtSnapshotsView *self, double from, double to);

G_END_DECLS
