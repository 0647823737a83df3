/* ht-summary.c - the summary of a recording, its allocations by size and per thread. */

#include "ht-error.h"
#include "ht-query-private.h"
#include "ht-suppressions.h"

gboolean
ht_query_summary (HtDb *db, HtSummary *s, GError **error)
{
  (void) error;
  memset (s, 0, sizeof *s);
  s->exe = ht_db_meta_string (db, "exe");
  s->command_line = ht_db_meta_string (db, "command_line");
  s->pid = ht_db_meta_int (db, "pid");
  s->duration_s = ht_db_meta_double (db, "duration_s");
  s->allocations = ht_db_meta_int (db, "allocations");
  s->frees = ht_db_meta_int (db, "frees");
  s->allocated_bytes = ht_db_meta_int (db, "allocated_bytes");
  s->temporary = ht_db_meta_int (db, "temporary");
  s->short_lived = ht_db_meta_int (db, "short_lived");
  s->short_lived_ms = ht_db_meta_double (db, "short_lived_ms");
  s->unmatched_frees = ht_db_meta_int (db, "unmatched_frees");
  s->attached = ht_db_meta_int (db, "attached") != 0;
  s->peak_heap_bytes = ht_db_meta_int (db, "peak_heap_bytes");
  s->peak_heap_blocks = ht_db_meta_int (db, "peak_heap_blocks");
  s->peak_time_s = ht_db_meta_double (db, "peak_time_s");
  s->peak_rss_bytes = ht_db_meta_int (db, "peak_rss_bytes");
  s->not_freed_bytes = ht_db_meta_int (db, "leaked_bytes");
  s->not_freed_blocks = ht_db_meta_int (db, "leaked_blocks");
  s->recorder_peak_bytes = ht_db_meta_int (db, "recorder_peak_bytes");
  s->recorder_time_s = ht_db_meta_double (db, "recorder_time_s");
  s->threads = ht_db_meta_int (db, "threads");
  s->lost_events = ht_db_meta_int (db, "lost_events");
  s->complete = ht_db_meta_int (db, "complete") != 0;
  s->warning = ht_db_meta_string (db, "warning");
  s->end_reason = ht_db_meta_string (db, "end_reason");
  s->exec_chain = ht_db_meta_string (db, "exec_chain");
  s->exec_released_blocks = ht_db_meta_int (db, "exec_released_blocks");
  s->exec_released_bytes = ht_db_meta_int (db, "exec_released_bytes");
  s->sample_bytes = ht_db_meta_int (db, "sample_bytes");
  s->sampled_allocations = ht_db_meta_int (db, "sampled_allocations");
  s->counted_allocations = ht_db_meta_int (db, "counted_allocations");
  s->counted_bytes = ht_db_meta_int (db, "counted_bytes");
  if (!s->end_reason)
    s->end_reason = g_strdup (s->complete ? "exit" : "incomplete");
  if (!s->exe)
    {
      g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_NOT_OURS, "the database has no summary");
      return FALSE;
    }
  /* what is left at exit counts as the `leaks` command counts it: the runtime's own
   * blocks (the built-in suppressions) apart */
  g_autoptr (HtSuppressions) supp = ht_suppressions_new ();
  ht_suppressions_add_builtin (supp);
  ht_suppressions_add_program (supp, db);
  HtLeaks leaks;
  if (!ht_query_leaks (db, supp, NULL, &leaks, error))
    return FALSE;
  s->leaked_bytes = (gint64) leaks.bytes;
  s->leaked_blocks = (gint64) leaks.blocks;
  s->suppressed_bytes = (gint64) leaks.suppressed_bytes;
  s->suppressed_blocks = (gint64) leaks.suppressed_blocks;
  ht_leaks_clear (&leaks);
  return TRUE;
}

void
ht_summary_clear (HtSummary *s)
{
  g_free (s->exe);
  g_free (s->command_line);
  g_free (s->warning);
  g_free (s->end_reason);
  g_free (s->exec_chain);
  memset (s, 0, sizeof *s);
}
GArray *
ht_query_size_histogram (HtDb *db, GError **error)
{
  sqlite3_stmt *st;
  if (!ht_db_prepare (ht_db_handle (db),
                      "SELECT min_size, max_size, count, bytes FROM size_histogram ORDER BY min_size",
                      &st, error))
    return NULL;
  GArray *out = g_array_new (FALSE, FALSE, sizeof (HtSizeBucket));
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      HtSizeBucket b = { sqlite3_column_int64 (st, 0), sqlite3_column_int64 (st, 1),
                         sqlite3_column_int64 (st, 2), sqlite3_column_int64 (st, 3) };
      g_array_append_val (out, b);
    }
  sqlite3_finalize (st);
  return out;
}

GArray *
ht_query_threads (HtDb *db, GError **error)
{
  sqlite3_stmt *st;
  if (!ht_db_prepare (ht_db_handle (db),
                      "SELECT tid, alloc_count, alloc_bytes, temporary, frees FROM threads"
                      " ORDER BY alloc_count DESC, tid",
                      &st, error))
    return NULL;
  GArray *out = g_array_new (FALSE, FALSE, sizeof (HtThreadStats));
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      HtThreadStats t = { sqlite3_column_int64 (st, 0), sqlite3_column_int64 (st, 1),
                          sqlite3_column_int64 (st, 2), sqlite3_column_int64 (st, 3),
                          sqlite3_column_int64 (st, 4) };
      g_array_append_val (out, t);
    }
  sqlite3_finalize (st);
  return out;
}
