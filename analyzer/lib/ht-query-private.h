/* ht-query-private.h - what the query families (ht-query.c and the files beside it) share:
 * the stacks of a database, and grouping them as tracemalloc does. */
#pragma once

#include <sqlite3.h>

#include "ht-query.h"

G_BEGIN_DECLS

/* A recording's locations by id, and each trace's frames (GArray of location ids). */
struct _HtTraceNames
{
  GHashTable *locations, *frames;
};

/* All locations by id, and each trace's frames (loaded once per database, shared). */
G_GNUC_INTERNAL GHashTable *load_locations (HtDb *db, GError **error);
/* " AND <column> BETWEEN ..." for the time buckets a range overlaps, its two bounds (from,
 * to in seconds) in parameters ?<first> and ?<first + 1>; bind them with bind_time_range. */
G_GNUC_INTERNAL char *time_range_sql (const char *column, int first);
G_GNUC_INTERNAL void bind_time_range (sqlite3_stmt *st, int first, double from, double to);
G_GNUC_INTERNAL void location_free (gpointer data);
G_GNUC_INTERNAL HtLocation *location_copy (const HtLocation *l);
G_GNUC_INTERNAL void stat_free (gpointer data);
G_GNUC_INTERNAL gint stat_compare (gconstpointer a, gconstpointer b);

/* Whether a trace passes --include / --exclude; its group key; recursion folded. */
G_GNUC_INTERNAL gboolean trace_passes (const HtTopOptions *options, GArray *frames,
                                       GHashTable *locations);
G_GNUC_INTERNAL char *trace_key (const HtTopOptions *options, GArray *fr, GHashTable *locations,
                                 const char *type);
G_GNUC_INTERNAL GArray *fold_recursion (GArray *fr, GHashTable *locations);

/* Grouping rows of (trace, count, bytes) into HtStat groups, then sorted groups. */
G_GNUC_INTERNAL HtStat *add_to_group (GHashTable *groups, char *key, gint64 count, gint64 bytes,
                                      GArray *frames, GHashTable *locations);
G_GNUC_INTERNAL GHashTable *group_rows (const HtTopOptions *options, sqlite3_stmt *st,
                                        GHashTable *locations, GHashTable *frames);
G_GNUC_INTERNAL GPtrArray *finish_groups (GHashTable *groups, const HtTopOptions *options);
G_GNUC_INTERNAL sqlite3_stmt *metric_rows (HtDb *db, const HtTopOptions *options, GError **error);

/* top --metric retained (ht-query-graph.c) */
G_GNUC_INTERNAL GPtrArray *top_retained (HtDb *db, const HtTopOptions *options, GError **error);

G_END_DECLS
