/* cmd-summary.c - heaptrail summary REC: the key figures of a recording. */
#include <stdio.h>

#include "ht-cli.h"

int
cmd_summary (int argc, char **argv)
{
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    HT_SHORT_LIVED_ENTRY,
    { NULL }
  };
  int code = 0;
  if (!parse_options (entries, "REC", _("Key figures of a recording."), &argc, &argv, 1, 1,
                      &code))
    return code;
  g_autoptr (HtDb) db = open_recording (argv[1], &code);
  if (!db)
    return code;
  HtSummary s;
  g_autoptr (GError) error = NULL;
  if (!ht_query_summary (db, &s, &error))
    return fail (exit_code_for (error), argv[1], "%s", error->message);
  g_autoptr (GArray) hist = ht_query_size_histogram (db, NULL);
  g_autoptr (GArray) threads = ht_query_threads (db, NULL);

  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      JSON_STR (b, "exe", s.exe);
      JSON_STR (b, "command_line", s.command_line);
      JSON_INT (b, "pid", s.pid);
      JSON_DBL (b, "duration_s", s.duration_s);
      JSON_INT (b, "allocations", s.allocations);
      JSON_INT (b, "frees", s.frees);
      JSON_INT (b, "allocated_bytes", s.allocated_bytes);
      JSON_INT (b, "temporary", s.temporary);
      JSON_INT (b, "short_lived", s.short_lived);
      JSON_DBL (b, "short_lived_ms", s.short_lived_ms);
      JSON_INT (b, "peak_heap_bytes", s.peak_heap_bytes);
      JSON_INT (b, "peak_heap_blocks", s.peak_heap_blocks);
      JSON_DBL (b, "peak_time_s", s.peak_time_s);
      JSON_INT (b, "peak_rss_bytes", s.peak_rss_bytes);
      JSON_INT (b, "leaked_bytes", s.leaked_bytes);
      JSON_INT (b, "leaked_blocks", s.leaked_blocks);
      JSON_INT (b, "suppressed_bytes", s.suppressed_bytes);
      JSON_INT (b, "suppressed_blocks", s.suppressed_blocks);
      JSON_INT (b, "not_freed_bytes", s.not_freed_bytes);
      JSON_INT (b, "not_freed_blocks", s.not_freed_blocks);
      JSON_INT (b, "recorder_peak_bytes", s.recorder_peak_bytes);
      JSON_DBL (b, "recorder_time_s", s.recorder_time_s);
      JSON_DBL (b, "recorder_share", s.duration_s > 0 ? s.recorder_time_s / s.duration_s : 0);
      JSON_INT (b, "threads", s.threads);
      JSON_INT (b, "unmatched_frees", s.unmatched_frees);
      json_builder_set_member_name (b, "attached");
      json_builder_add_boolean_value (b, s.attached);
      JSON_INT (b, "lost_events", s.lost_events);
      json_builder_set_member_name (b, "complete");
      json_builder_add_boolean_value (b, s.complete);
      json_builder_set_member_name (b, "size_histogram");
      json_builder_begin_array (b);
      for (guint i = 0; hist && i < hist->len; i++)
        {
          HtSizeBucket *h = &g_array_index (hist, HtSizeBucket, i);
          json_builder_begin_object (b);
          JSON_INT (b, "min_size", h->min_size);
          JSON_INT (b, "max_size", h->max_size);
          JSON_INT (b, "count", h->count);
          JSON_INT (b, "bytes", h->bytes);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "per_thread");
      json_builder_begin_array (b);
      for (guint i = 0; threads && i < threads->len; i++)
        {
          HtThreadStats *t = &g_array_index (threads, HtThreadStats, i);
          json_builder_begin_object (b);
          JSON_INT (b, "tid", t->tid);
          JSON_INT (b, "allocations", t->allocations);
          JSON_INT (b, "bytes", t->bytes);
          JSON_INT (b, "temporary", t->temporary);
          JSON_INT (b, "frees", t->frees);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      JSON_INT (b, "sampled_allocations", s.sampled_allocations);
      JSON_INT (b, "counted_allocations", s.counted_allocations);
      JSON_INT (b, "counted_bytes", s.counted_bytes);
      JSON_STR (b, "end_reason", s.end_reason);
      JSON_STR (b, "exec_chain", s.exec_chain ? s.exec_chain : "");
      JSON_INT (b, "exec_released_blocks", s.exec_released_blocks);
      JSON_INT (b, "exec_released_bytes", s.exec_released_bytes);
      json_builder_end_object (b);
      print_json (b);
      ht_summary_clear (&s);
      return EXIT_OK;
    }

  g_autofree char *total = ht_format_size ((double) s.allocated_bytes, FALSE);
  g_autofree char *rss = ht_format_size ((double) s.peak_rss_bytes, FALSE);
  g_autofree char *leak = ht_format_size ((double) s.leaked_bytes, FALSE);
  g_autofree char *killed = g_strdup_printf (_(", killed by %s"), s.end_reason);
  const char *how = g_str_equal (s.end_reason, "exit")    ? ""
                    : g_str_equal (s.end_reason, "exec")  ? _(", ended by exec")
                    : g_str_equal (s.end_reason, "abort") ? _(", ended by abort")
                    : g_str_equal (s.end_reason, "_exit") ? _(", ended by _exit")
                    : g_str_equal (s.end_reason, "detach") ? _(", detached (the program ran on)")
                    : g_str_has_prefix (s.end_reason, "SIG") ? killed
                                                          : _(", incomplete");
  printf (_("recording of %s (pid %lld), %.2f s%s\n"), s.command_line, (long long) s.pid,
          s.duration_s, how);
  if (s.attached)
    printf (_("attached to the running process: %lld frees of blocks allocated before the "
              "attach, apart from the figures below\n"),
            (long long) s.unmatched_frees);
  if (s.exec_chain && *s.exec_chain)
    {
      g_autofree char *gone = ht_format_size ((double) s.exec_released_bytes, FALSE);
      printf (_("programs run by exec: %s (%s in %lld blocks went with the images before)\n"),
              s.exec_chain, gone, (long long) s.exec_released_blocks);
    }
  if (s.sample_bytes > 0)
    {
      g_autofree char *rate = ht_format_size ((double) s.sample_bytes, FALSE);
      printf (_("sampling: one allocation per %s on average (%lld recorded); the figures below "
                "are unbiased estimates\n"),
              rate, (long long) s.sampled_allocations);
    }
  if (s.sample_bytes > 0 && s.counted_allocations > 0)
    {
      g_autofree char *counted = ht_format_size ((double) s.counted_bytes, FALSE);
      printf (_("allocations: %lld calls, %s in total, counted exactly (the sample estimates "
                "%lld calls, %s); frees: %lld\n"),
              (long long) s.counted_allocations, counted, (long long) s.allocations, total,
              (long long) s.frees);
    }
  else
    printf (_("allocations: %lld calls, %s in total; frees: %lld\n"), (long long) s.allocations,
            total, (long long) s.frees);
  if (s.sample_bytes > 0)
    printf (_("temporary allocations: not known (a sampled recording does not see every "
              "allocation)\n"));
  else
    printf (_("temporary allocations: %lld (%.1f%% of all)\n"), (long long) s.temporary,
            s.allocations ? 100.0 * (double) s.temporary / (double) s.allocations : 0.0);
  printf (_("short-lived allocations (freed within %g ms): %lld\n"), s.short_lived_ms,
          (long long) s.short_lived);
  g_autofree char *supp = ht_format_size ((double) s.suppressed_bytes, FALSE);
  if (s.suppressed_blocks)
    printf (_("not freed at exit: %s in %lld blocks, and %s in %lld blocks suppressed (the "
              "runtime's own, or the program's rules: 'leaks' says which)\n"),
            leak, (long long) s.leaked_blocks, supp, (long long) s.suppressed_blocks);
  else
    printf (_("not freed at exit: %s in %lld blocks\n"), leak, (long long) s.leaked_blocks);
  printf (_("peak RSS: %s\n"), rss);
  printf (_("threads: %lld\n"), (long long) s.threads);
  printf (_("recorder time: %.3f s over all threads (%.1f%% of the run time)\n"),
          s.recorder_time_s, s.duration_s > 0 ? 100.0 * s.recorder_time_s / s.duration_s : 0.0);
  printf ("trace alloc module use memory: %.1f KiB\n", (double) s.recorder_peak_bytes / 1024);
  printf ("current size: %.1f KiB\n", (double) s.not_freed_bytes / 1024);
  printf ("peak size: %.1f KiB", (double) s.peak_heap_bytes / 1024);
  printf (_(" (at %.3f s, %lld blocks)\n"), s.peak_time_s, (long long) s.peak_heap_blocks);
  if (hist && hist->len)
    {
      printf (_("allocations by size:\n"));
      gint64 most = 1;
      for (guint i = 0; i < hist->len; i++)
        most = MAX (most, g_array_index (hist, HtSizeBucket, i).count);
      for (guint i = 0; i < hist->len; i++)
        {
          HtSizeBucket *h = &g_array_index (hist, HtSizeBucket, i);
          g_autofree char *lo = ht_format_size ((double) h->min_size, FALSE);
          g_autofree char *hi = ht_format_size ((double) h->max_size, FALSE);
          int bar = (int) (40 * h->count / most);
          printf ("  %9s .. %-9s %10lld  ", lo, h->min_size == h->max_size ? "" : hi,
                  (long long) h->count);
          for (int k = 0; k < bar; k++)
            fputs ("#", stdout);
          printf ("\n");
        }
    }
  if (threads && threads->len > 1)
    {
      printf (_("per thread:        tid  allocations    allocated    temporary        frees\n"));
      for (guint i = 0; i < threads->len; i++)
        {
          HtThreadStats *t = &g_array_index (threads, HtThreadStats, i);
          g_autofree char *bytes = ht_format_size ((double) t->bytes, FALSE);
          printf ("  %20lld %12lld %12s %12lld %12lld\n", (long long) t->tid,
                  (long long) t->allocations, bytes, (long long) t->temporary,
                  (long long) t->frees);
        }
    }
  if (s.warning && *s.warning)
    print_warnings (argv[1], s.warning);
  ht_summary_clear (&s);
  return EXIT_OK;
}
