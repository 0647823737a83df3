/* ht-snapshot-pair.h - "From [A] to [B]": two snapshot pickers and a note about them. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define HT_TYPE_SNAPSHOT_PAIR (ht_snapshot_pair_get_type ())
G_DECLARE_FINAL_TYPE (HtSnapshotPair, ht_snapshot_pair, HT, SNAPSHOT_PAIR, GtkBox)

/* Offers the recording's snapshots (HtSnapshotInfo*) and picks the program's own first and
 * last when it took two or more, else the first and the last of all.  "changed" is
 * emitted whenever either pick changes. */
void ht_snapshot_pair_set_snapshots (HtSnapshotPair *self, GPtrArray *snapshots);
void ht_snapshot_pair_set_hint (HtSnapshotPair *self, const char *hint);
/* The chosen labels; NULL when there is none. */
const char *ht_snapshot_pair_get_a (HtSnapshotPair *self);
const char *ht_snapshot_pair_get_b (HtSnapshotPair *self);
/* Picks snapshots by position (clamped to the last). */
void ht_snapshot_pair_pick (HtSnapshotPair *self, guint a, guint b);
/* The snapshots around a time range (seconds): the latest at or before `from`, the earliest
 * at or after `to`; to <= from: the default pair again. */
void ht_snapshot_pair_set_time_range (HtSnapshotPair *self, double from, double to);

G_END_DECLS
