/* heaptrail.c - the command-line face: main, and the commands not yet in a cmd-*.c file
 * of their own (what they share is in cli-common.c).
 *
 * Every command that reads a recording takes REC: a log (imported on first use into
 * LOG.db, with a progress bar on a terminal) or a database.  Errors are one line,
 * "heaptrail: FILE: what is wrong", and the exit codes of ht-cli.h (see heaptrail(1)).
 */
#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ht-cli.h"
#include "ht-db.h"
#include "ht-error.h"
#include "ht-graph.h"
#include "ht-heap.h"
#include "ht-import.h"
#include "ht-query.h"
#include "ht-suppressions.h"
#include "ht-reader.h"

/* ---------------------------------------------------------------------------------------
 * Commands
 */
static int
cmd_import (int argc, char **argv)
{
  g_autofree char *output = NULL;
  int snapshots = 50;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, N_("Database to write (default LOG.db)"),
      N_("DB") },
    { "snapshots", 0, 0, G_OPTION_ARG_INT, &snapshots,
      N_("Evenly spaced snapshots to take over the run (default 50, 0 for none)"), "N" },
    HT_SHORT_LIVED_ENTRY,
    { NULL }
  };
  int code = 0;
  if (!parse_options (entries, "LOG", _("Import a log into a database (SQLite)."), &argc, &argv,
                      1, 1, &code))
    return code;
  const char *log = argv[1];
  struct stat st;
  if (stat (log, &st) != 0)
    return fail (EXIT_IO, log, "%s", g_strerror (errno));
  if (snapshots < 0 || snapshots > 10000)
    return fail (EXIT_USAGE, NULL, _("--snapshots takes a number from 0 to 10000"));
  import_snapshots = snapshots == 0 ? -1 : snapshots;
  g_autofree char *db = output ? g_strdup (output) : ht_import_default_db_path (log);
  code = do_import (log, db);
  if (code == EXIT_OK)
    fprintf (stderr, _("%s: imported %s into %s\n"), prog_name, log, db);
  return code;
}

static int
cmd_summary (int argc, char **argv)
{
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    HT_SHORT_LIVED_ENTRY,
    HT_TIME_ENTRY,
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
                    : g_str_has_prefix (s.end_reason, "SIG") ? killed
                                                          : _(", incomplete");
  printf (_("recording of %s (pid %lld), %.2f s%s\n"), s.command_line, (long long) s.pid,
          s.duration_s, how);
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

static gboolean
parse_group (const char *by, HtGroupBy *out)
{
  static const char *const names[] = { "line", "function", "file", "traceback", "type" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_strcmp0 (by, names[i]) == 0 || (i == 0 && g_strcmp0 (by, "lineno") == 0)
        || (i == 2 && g_strcmp0 (by, "filename") == 0))
      {
        *out = (HtGroupBy) i;
        return TRUE;
      }
  return FALSE;
}

/* Prints a source line the way Python's traceback does, when the file is readable. */
static void
print_source_line (const char *file, guint line)
{
  if (!file || line == 0)
    return;
  FILE *f = fopen (file, "r");
  if (!f)
    return;
  char buf[4096];
  guint n = 0;
  while (fgets (buf, sizeof buf, f))
    if (++n == line)
      {
        g_strstrip (buf);
        if (*buf)
          printf ("    %s\n", buf);
        break;
      }
  fclose (f);
}

/* A stack the way Python prints a traceback: oldest call first, with its source line. */
static void
print_traceback (GPtrArray *frames)
{
  for (guint j = frames->len; j-- > 0;)
    {
      HtLocation *l = frames->pdata[j];
      g_autofree char *path = ht_display_path (l->file);
      if (l->file)
        printf ("  File \"%s\", line %u, in %s\n", path, l->line, l->function);
      else
        printf ("  in %s\n", l->function);
      print_source_line (l->file, l->line);
    }
}

/* tracemalloc's Statistic line: "f.c:42: size=126 KiB, count=2002, average=64 B" */
static void
print_stat (const HtStat *s)
{
  g_autofree char *size = ht_format_size ((double) s->size, FALSE);
  printf ("%s: size=%s, count=%" G_GUINT64_FORMAT, s->key, size, s->count);
  if (s->count)
    {
      g_autofree char *avg = ht_format_size ((double) s->size / (double) s->count, FALSE);
      printf (", average=%s", avg);
    }
  printf ("\n");
}

static int
cmd_top (int argc, char **argv)
{
  g_autofree char *by_arg = NULL, *at = NULL; /* GOption allocates string values */
  int limit = 10;
  gboolean allocations = FALSE, cumulative = FALSE, fold = FALSE;
  g_autofree char *metric = NULL;
  GOptionEntry entries[] = {
    { "by", 0, 0, G_OPTION_ARG_STRING, &by_arg,
      N_("Group by line, function, file, traceback or type (tag, C++ class, else function)"),
      N_("KEY") },
    { "limit", 'n', 0, G_OPTION_ARG_INT, &limit, N_("Show the N largest groups (default 10)"),
      "N" },
    { "metric", 0, 0, G_OPTION_ARG_STRING, &metric,
      N_("live (default), allocations, temporary (freed before the thread allocated again), "
         "short-lived, or retained (what freeing the blocks would free; needs record --graph)"),
      N_("WHAT") },
    HT_SHORT_LIVED_ENTRY,
    { "at", 0, 0, G_OPTION_ARG_STRING, &at,
      N_("Live memory at peak (default), end, a snapshot's label, or a time (1.5s)"),
      N_("WHEN") },
    { "allocations", 0, 0, G_OPTION_ARG_NONE, &allocations,
      N_("Every allocation of the run instead of the live blocks"), NULL },
    { "cumulative", 0, 0, G_OPTION_ARG_NONE, &cumulative,
      N_("Count every frame of a stack, not only the innermost"), NULL },
    { "fold-recursion", 0, 0, G_OPTION_ARG_NONE, &fold,
      N_("Fold recursion in tracebacks: a function called again counts as its first call"),
      NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    HT_FILTER_ENTRIES,
    HT_TIME_ENTRY,
    { NULL }
  };
  int code = 0;
  if (!parse_options (entries, "REC", _("Where memory was allocated, like tracemalloc's "
                                        "Snapshot.statistics()."),
                      &argc, &argv, 1, 1, &code))
    return code;
  const char *by = by_arg ? by_arg : "line";
  HtTopOptions opt = { .at = at, .allocations = allocations, .cumulative = cumulative,
                       .fold_recursion = fold };
  apply_filters (&opt);
  if (metric && g_str_equal (metric, "allocations"))
    opt.allocations = TRUE;
  else if (metric && g_str_equal (metric, "temporary"))
    opt.temporary = TRUE;
  else if (metric && g_str_equal (metric, "short-lived"))
    opt.short_lived = TRUE;
  else if (metric && g_str_equal (metric, "retained"))
    opt.retained = TRUE;
  else if (metric && !g_str_equal (metric, "live"))
    return fail (EXIT_USAGE, NULL,
                 _("--metric takes live, allocations, temporary, short-lived or retained, not "
                   "'%s'"),
                 metric);
  if (import_short_lived_ms < 0)
    return fail (EXIT_USAGE, NULL, _("--short-lived takes a number of milliseconds"));
  if ((opt.allocations || opt.temporary || opt.short_lived) && at)
    return fail (EXIT_USAGE, NULL, _("--at applies to live memory only"));
  if (!parse_group (by, &opt.by))
    return fail (EXIT_USAGE, NULL,
                 _("--by takes line, function, file, traceback or type, not '%s'"), by);
  if (opt.by == HT_GROUP_TYPE && (opt.allocations || opt.temporary || opt.short_lived))
    return fail (EXIT_USAGE, NULL, _("--by type applies to live memory and retained size only"));
  if (cumulative && opt.by == HT_GROUP_TRACEBACK)
    return fail (EXIT_USAGE, NULL, _("--cumulative does not apply to --by traceback"));
  if (cumulative && opt.retained)
    return fail (EXIT_USAGE, NULL, _("--cumulative does not apply to --metric retained"));
  if (limit < 0)
    return fail (EXIT_USAGE, NULL, _("-n takes a number of groups, 0 for all"));

  g_autoptr (HtDb) db = open_recording (argv[1], &code);
  if (!db)
    return code;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) stats = ht_query_top (db, &opt, &error);
  if (!stats)
    return fail (exit_code_for (error), argv[1], "%s", error->message);
  guint n = limit == 0 ? stats->len : MIN ((guint) limit, stats->len);

  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      JSON_STR (b, "by", by);
      JSON_STR (b, "at", opt.short_lived ? "short-lived" : opt.temporary ? "temporary"
                         : opt.allocations ? "allocations" : at ? at
                         : opt.retained ? "end" : "peak");
      JSON_STR (b, "metric", opt.retained ? "retained" : metric ? metric : "live");
      json_builder_set_member_name (b, "cumulative");
      json_builder_add_boolean_value (b, cumulative);
      guint64 tsize = 0, tcount = 0;
      for (guint i = 0; i < stats->len; i++)
        {
          tsize += ((HtStat *) stats->pdata[i])->size;
          tcount += ((HtStat *) stats->pdata[i])->count;
        }
      JSON_INT (b, "total_size", tsize);
      JSON_INT (b, "total_count", tcount);
      json_builder_set_member_name (b, "stats");
      json_builder_begin_array (b);
      for (guint i = 0; i < n; i++)
        {
          HtStat *s = stats->pdata[i];
          json_builder_begin_object (b);
          JSON_STR (b, "key", s->key);
          JSON_INT (b, "size", s->size);
          JSON_INT (b, "count", s->count);
          JSON_INT (b, "average", s->count ? s->size / s->count : 0);
          json_builder_set_member_name (b, "traceback");
          json_builder_begin_array (b);
          for (guint j = 0; s->traceback && j < s->traceback->len; j++)
            json_location (b, s->traceback->pdata[j]);
          json_builder_end_array (b);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      print_json (b);
      return EXIT_OK;
    }

  for (guint i = 0; i < n; i++)
    {
      HtStat *s = stats->pdata[i];
      if (opt.by == HT_GROUP_TRACEBACK)
        {
          /* the article's traceback report: the block count, the size, then the stack,
           * oldest call first, like a Python traceback */
          printf ("blocks count: %" G_GUINT64_FORMAT "\n", s->count);
          printf ("size: %.1f KiB\n", (double) s->size / 1024);
          print_traceback (s->traceback);
          if (i + 1 < n)
            printf ("\n");
          continue;
        }
      print_stat (s);
    }
  return EXIT_OK;
}

static int
cmd_snapshots (int argc, char **argv)
{
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    HT_TIME_ENTRY,
    { NULL }
  };
  int code = 0;
  if (!parse_options (entries, "REC", _("The snapshots of a recording: label, time, live size."),
                      &argc, &argv, 1, 1, &code))
    return code;
  g_autoptr (HtDb) db = open_recording (argv[1], &code);
  if (!db)
    return code;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) snaps = ht_query_snapshots (db, &error);
  if (!snaps)
    return fail (exit_code_for (error), argv[1], "%s", error->message);
  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_array (b);
      for (guint i = 0; i < snaps->len; i++)
        {
          HtSnapshotInfo *s = snaps->pdata[i];
          json_builder_begin_object (b);
          JSON_STR (b, "label", s->label);
          JSON_STR (b, "kind", s->kind);
          JSON_DBL (b, "time_s", s->time_s);
          JSON_INT (b, "size", s->heap_bytes);
          JSON_INT (b, "count", s->heap_blocks);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      print_json (b);
      return EXIT_OK;
    }
  int width = 5;
  for (guint i = 0; i < snaps->len; i++)
    width = MAX (width, (int) g_utf8_strlen (((HtSnapshotInfo *) snaps->pdata[i])->label, -1));
  printf ("%-*s  %10s  %10s  %10s\n", width, _("label"), _("time"), _("size"), _("count"));
  for (guint i = 0; i < snaps->len; i++)
    {
      HtSnapshotInfo *s = snaps->pdata[i];
      g_autofree char *size = ht_format_size ((double) s->heap_bytes, FALSE);
      int pad = width - (int) g_utf8_strlen (s->label, -1) + (int) strlen (s->label);
      printf ("%-*s  %9.3fs  %10s  %10lld\n", pad, s->label, s->time_s, size,
              (long long) s->heap_blocks);
    }
  return EXIT_OK;
}

static void
print_summary_line (const char *label, guint64 bytes, guint64 blocks)
{
  int pad = 18 - (int) g_utf8_strlen (label, -1) + (int) strlen (label);
  printf (_("%*s: %llu bytes in %llu blocks\n"), pad, label, (unsigned long long) bytes,
          (unsigned long long) blocks);
}

/* valgrind's --leak-check-heuristics values: all, none, or a comma-separated list. */
static gboolean
parse_heuristics (const char *text, guint *out)
{
  static const struct
  {
    const char *name;
    guint bit;
  } names[] = { { "stdstring", HT_HEUR_STDSTRING },
                { "length64", HT_HEUR_LENGTH64 },
                { "newarray", HT_HEUR_NEWARRAY },
                { "multipleinheritance", HT_HEUR_MULTIPLEINHERITANCE },
                { "all", HT_HEUR_ALL },
                { "none", 0 } };
  *out = 0;
  g_auto (GStrv) parts = g_strsplit (text, ",", -1);
  for (guint i = 0; parts[i]; i++)
    {
      guint k = 0;
      while (k < G_N_ELEMENTS (names) && !g_str_equal (g_strstrip (parts[i]), names[k].name))
        k++;
      if (k == G_N_ELEMENTS (names))
        return FALSE;
      *out |= names[k].bit;
    }
  return TRUE;
}

static int
cmd_leaks (int argc, char **argv)
{
  g_auto (GStrv) supp_files = NULL;
  g_autofree char *heuristics = NULL;
  gboolean no_default = FALSE, show_reachable = FALSE;
  int limit = 10;
  GOptionEntry entries[] = {
    { "leak-check-heuristics", 0, 0, G_OPTION_ARG_STRING, &heuristics,
      N_("memcheck's heuristics for interior pointers: all (the default), none, or a list of "
         "stdstring, length64, newarray, multipleinheritance"),
      N_("SET") },
    { "suppressions", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &supp_files,
      N_("Suppressions in LeakSanitizer's format (leak:PATTERN); may be repeated"), N_("FILE") },
    { "show-reachable", 0, 0, G_OPTION_ARG_NONE, &show_reachable,
      N_("With a heap graph, also list the blocks still reachable"), NULL },
    { "no-default-suppressions", 0, 0, G_OPTION_ARG_NONE, &no_default,
      N_("Also show what glibc and the C++ runtime keep for themselves"), NULL },
    { "limit", 'n', 0, G_OPTION_ARG_INT, &limit, N_("Show the N largest leaks (default 10)"),
      "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    HT_FILTER_ENTRIES,
    HT_TIME_ENTRY,
    { NULL }
  };
  int code = 0;
  if (!parse_options (entries, "REC", _("Blocks not freed at exit, by allocating stack."), &argc,
                      &argv, 1, 1, &code))
    return code;
  if (limit < 0)
    return fail (EXIT_USAGE, NULL, _("-n takes a number of groups, 0 for all"));
  g_autoptr (HtSuppressions) supp = ht_suppressions_new ();
  if (!no_default)
    ht_suppressions_add_builtin (supp);
  for (guint i = 0; supp_files && supp_files[i]; i++)
    {
      g_autoptr (GError) error = NULL;
      if (!ht_suppressions_load (supp, supp_files[i], &error))
        return fail (EXIT_IO, supp_files[i], "%s", error->message);
    }
  g_autoptr (HtDb) db = open_recording (argv[1], &code);
  if (!db)
    return code;
  if (!no_default)
    ht_suppressions_add_program (supp, db);
  g_autoptr (GError) error = NULL;
  HtLeaks leaks;
  HtTopOptions filters = { 0 };
  apply_filters (&filters);
  if (heuristics)
    {
      filters.heuristics_given = TRUE;
      if (!parse_heuristics (heuristics, &filters.heuristics))
        return fail (EXIT_USAGE, NULL,
                     _("--leak-check-heuristics takes all, none, or a list of stdstring, "
                       "length64, newarray and multipleinheritance, not '%s'"),
                     heuristics);
    }
  if (!ht_query_leaks (db, supp, &filters, &leaks, &error))
    return fail (exit_code_for (error), argv[1], "%s", error->message);
  /* with classes, still reachable blocks are listed only when asked, as memcheck does */
  if (leaks.classified && !show_reachable)
    for (guint i = leaks.leaks->len; i-- > 0;)
      if (((HtStat *) leaks.leaks->pdata[i])->reach == HT_REACH_REACHABLE)
        g_ptr_array_remove_index (leaks.leaks, i);
  guint n = limit == 0 ? leaks.leaks->len : MIN ((guint) limit, leaks.leaks->len);
  static const char *const class_keys[] = { "still_reachable", "possibly_lost", "indirectly_lost",
                                            "definitely_lost" };
  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      JSON_INT (b, "leaked_bytes", leaks.bytes);
      JSON_INT (b, "leaked_blocks", leaks.blocks);
      JSON_INT (b, "suppressed_bytes", leaks.suppressed_bytes);
      JSON_INT (b, "suppressed_blocks", leaks.suppressed_blocks);
      json_builder_set_member_name (b, "suppressed");
      json_builder_begin_array (b);
      for (guint i = 0; i < leaks.suppressed->len; i++)
        {
          const HtSuppressed *g = &g_array_index (leaks.suppressed, HtSuppressed, i);
          json_builder_begin_object (b);
          JSON_STR (b, "reason", g->reason);
          JSON_INT (b, "bytes", g->bytes);
          JSON_INT (b, "blocks", g->blocks);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      if (leaks.classified)
        {
          json_builder_set_member_name (b, "classes");
          json_builder_begin_object (b);
          for (int c = 0; c < HT_REACH_COUNT; c++)
            {
              json_builder_set_member_name (b, class_keys[c]);
              json_builder_begin_object (b);
              JSON_INT (b, "bytes", leaks.class_bytes[c]);
              JSON_INT (b, "blocks", leaks.class_blocks[c]);
              json_builder_end_object (b);
            }
          json_builder_end_object (b);
        }
      json_builder_set_member_name (b, "leaks");
      json_builder_begin_array (b);
      for (guint i = 0; i < n; i++)
        {
          HtStat *s = leaks.leaks->pdata[i];
          json_builder_begin_object (b);
          JSON_STR (b, "key", s->key);
          JSON_INT (b, "size", s->size);
          JSON_INT (b, "count", s->count);
          if (s->reach >= 0)
            JSON_STR (b, "class", class_keys[s->reach]);
          json_builder_set_member_name (b, "traceback");
          json_builder_begin_array (b);
          for (guint j = 0; j < s->traceback->len; j++)
            json_location (b, s->traceback->pdata[j]);
          json_builder_end_array (b);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      print_json (b);
      ht_leaks_clear (&leaks);
      return EXIT_OK;
    }
  const char *class_names[] = { N_("still reachable"), N_("possibly lost"),
                                N_("indirectly lost"), N_("definitely lost") };
  for (guint i = 0; i < n; i++)
    {
      HtStat *s = leaks.leaks->pdata[i];
      if (s->reach >= 0)
        {
          g_autofree char *size = ht_format_size ((double) s->size, FALSE);
          /* memcheck's loss record line */
          printf (_("%s in %llu blocks are %s\n"), size, (unsigned long long) s->count,
                  _(class_names[s->reach]));
        }
      print_stat (s);
      print_traceback (s->traceback);
      printf ("\n");
    }
  g_autofree char *total = ht_format_size ((double) leaks.bytes, FALSE);
  g_autofree char *supp_total = ht_format_size ((double) leaks.suppressed_bytes, FALSE);
  if (!leaks.classified)
    printf (_("not freed at exit: %s in %llu blocks (%u stacks); suppressed: %s in %llu "
              "blocks\n"),
            total, (unsigned long long) leaks.blocks, leaks.leaks->len, supp_total,
            (unsigned long long) leaks.suppressed_blocks);
  else if (leaks.leaks->len == 0)
    printf (_("nothing lost: the %llu blocks left at exit (%s) are still reachable "
              "(--show-reachable lists them)\n"),
            (unsigned long long) leaks.blocks, total);
  if (leaks.classified)
    {
      /* memcheck's LEAK SUMMARY, its labels right-aligned on the colon */
      printf ("%s%s\n", leaks.leaks->len ? "" : "\n", _("LEAK SUMMARY:"));
      for (int c = HT_REACH_COUNT - 1; c >= 0; c--)
        print_summary_line (_(class_names[c]), leaks.class_bytes[c], leaks.class_blocks[c]);
      print_summary_line (_("suppressed"), leaks.suppressed_bytes, leaks.suppressed_blocks);
    }
  else
    printf (_("(record with --graph to tell lost blocks from reachable ones)\n"));
  for (guint i = 0; i < leaks.suppressed->len; i++)
    {
      const HtSuppressed *g = &g_array_index (leaks.suppressed, HtSuppressed, i);
      g_autofree char *size = ht_format_size ((double) g->bytes, FALSE);
      printf (_("suppressed: %s in %llu blocks: %s\n"), size, (unsigned long long) g->blocks,
              g->reason);
    }
  ht_leaks_clear (&leaks);
  return EXIT_OK;
}

/* ---------------------------------------------------------------------------------------
 * Heap graphs: backrefs, refs, chain
 */
static void
json_heap_view (JsonBuilder *b, const HtHeapView *view)
{
  static const char *const kinds[] = { "block", "root", "more" };
  static const char *const classes[] = { "still_reachable", "possibly_lost", "indirectly_lost",
                                         "definitely_lost" };
  json_builder_begin_object (b);
  JSON_STR (b, "snapshot", view->snapshot);
  JSON_INT (b, "matched", view->matched);
  json_builder_set_member_name (b, "nodes");
  json_builder_begin_array (b);
  for (guint i = 0; i < view->nodes->len; i++)
    {
      const HtHeapNode *n = view->nodes->pdata[i];
      json_builder_begin_object (b);
      JSON_INT (b, "id", i);
      JSON_STR (b, "kind", kinds[n->kind]);
      if (n->kind == HT_HEAP_NODE_BLOCK)
        {
          g_autofree char *addr = g_strdup_printf ("0x%" G_GINT64_MODIFIER "x", n->address);
          JSON_STR (b, "address", addr);
          JSON_INT (b, "size", n->size);
          JSON_INT (b, "retained", n->retained);
          JSON_STR (b, "type", n->type);
          if (n->site)
            JSON_STR (b, "site", n->site);
          if (n->reach >= 0 && n->reach < HT_REACH_COUNT)
            JSON_STR (b, "class", classes[n->reach]);
        }
      else
        JSON_STR (b, "name", n->name);
      json_builder_set_member_name (b, "selected");
      json_builder_add_boolean_value (b, n->selected);
      JSON_INT (b, "depth", n->depth);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "edges");
  json_builder_begin_array (b);
  for (guint i = 0; i < view->edges->len; i++)
    {
      const HtHeapEdge *e = &g_array_index (view->edges, HtHeapEdge, i);
      json_builder_begin_object (b);
      JSON_INT (b, "from", e->from);
      JSON_INT (b, "to", e->to);
      if (e->word_offset >= 0)
        JSON_INT (b, "word_offset", e->word_offset);
      JSON_INT (b, "target_offset", e->target_offset);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

/* One line per node: "Node, 32 B, retains 160 B, at 0x5632..., fixture.c:36". */
static void
print_heap_node (const HtHeapNode *n)
{
  if (n->kind != HT_HEAP_NODE_BLOCK)
    {
      printf ("%s\n", n->name);
      return;
    }
  g_autofree char *size = ht_format_size ((double) n->size, FALSE);
  g_autofree char *retained = ht_format_size ((double) n->retained, FALSE);
  printf (_("%s, %s, retains %s, at 0x%llx"), n->type, size, retained,
          (unsigned long long) n->address);
  if (n->site && g_strcmp0 (n->site, n->type) != 0)
    printf (", %s", n->site);
  printf ("\n");
}

static void
print_edge_prefix (const HtHeapEdge *e, guint indent, gboolean backwards)
{
  printf ("%*s%s ", (int) indent, "", backwards ? "<-" : "->");
  if (e->word_offset >= 0)
    printf ("[+%lld] ", (long long) e->word_offset);
  if (e->target_offset)
    printf ("(-> +%llu) ", (unsigned long long) e->target_offset);
}

/* The view as an indented tree from the selected blocks, each node once. */
static void
print_heap_tree (const HtHeapView *view, guint v, guint indent, gboolean *printed)
{
  for (guint i = 0; i < view->edges->len; i++)
    {
      const HtHeapEdge *e = &g_array_index (view->edges, HtHeapEdge, i);
      guint next = view->backwards ? e->from : e->to;
      if ((view->backwards ? e->to : e->from) != v)
        continue;
      print_edge_prefix (e, indent, view->backwards);
      const HtHeapNode *n = view->nodes->pdata[next];
      if (printed[next] && n->kind == HT_HEAP_NODE_BLOCK)
        {
          printf (_("0x%llx (above)\n"), (unsigned long long) n->address);
          continue;
        }
      print_heap_node (n);
      printed[next] = TRUE;
      print_heap_tree (view, next, indent + 3, printed);
    }
}

static int
run_heap_walk (int argc, char **argv, int which)
{
  g_autofree char *at = NULL, *type = NULL, *site = NULL, *block = NULL, *output = NULL;
  int depth = which == 2 ? 0 : 6, too_many = 10;
  GOptionEntry entries[] = {
    { "at", 0, 0, G_OPTION_ARG_STRING, &at,
      N_("The heap graph of this snapshot (default: at exit, else the latest)"), N_("WHEN") },
    { "type", 0, 0, G_OPTION_ARG_STRING, &type,
      N_("Blocks of this type: a tag, a C++ class, or the function that allocated them"),
      N_("TYPE") },
    { "site", 0, 0, G_OPTION_ARG_STRING, &site, N_("Blocks allocated in FUNCTION (at LINE)"),
      N_("FUNCTION[:LINE]") },
    { "block", 0, 0, G_OPTION_ARG_STRING, &block, N_("The block holding this address"),
      N_("ADDR") },
    { "depth", 0, 0, G_OPTION_ARG_INT, &depth, N_("Follow at most N pointers (default 6)"), "N" },
    { "too-many", 0, 0, G_OPTION_ARG_INT, &too_many,
      N_("Show at most K blocks selected and K neighbours per node (default 10)"), "K" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      N_("Write the graph to FILE: .dot, .svg or .png"), N_("FILE") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    HT_TIME_ENTRY,
    { NULL }
  };
  if (which == 2) /* chain: --block only */
    {
      entries[1] = entries[3]; /* --block */
      entries[2] = entries[6]; /* -o */
      entries[3] = entries[7]; /* --json */
      entries[4] = entries[8]; /* --time */
      entries[5] = (GOptionEntry){ NULL };
    }
  const char *summaries[] = {
    N_("What points to the chosen blocks, up to the roots (objgraph's show_backrefs)."),
    N_("What the chosen blocks point to (objgraph's show_refs)."),
    N_("The shortest chain of pointers from a root to a block (objgraph's find_backref_chain)."),
  };
  int code = 0;
  if (!parse_options (entries, which == 2 ? "REC --block ADDR" : "REC (--type T | --site F[:L] | --block ADDR)",
                      _(summaries[which]), &argc, &argv, 1, 1, &code))
    return code;
  HtHeapQuery q = { .at = at, .type = type, .site = site, .depth = (guint) MAX (depth, 0),
                    .too_many = (guint) MAX (too_many, 1) };
  if ((type != NULL) + (site != NULL) + (block != NULL) != 1)
    return fail (EXIT_USAGE, NULL,
                 which == 2 ? _("give the block: --block ADDR")
                            : _("choose the blocks with one of --type, --site or --block"));
  if (depth < 0 || too_many < 1)
    return fail (EXIT_USAGE, NULL, _("--depth takes N >= 0 and --too-many K >= 1"));
  if (block)
    {
      char *end = NULL;
      q.address = g_ascii_strtoull (block, &end, 0);
      if (!end || *end || end == block)
        return fail (EXIT_USAGE, NULL, _("--block takes an address such as 0x5581a2c0, not '%s'"),
                     block);
      q.by_address = TRUE;
    }
  g_autoptr (HtDb) db = open_recording (argv[1], &code);
  if (!db)
    return code;
  g_autoptr (GError) error = NULL;
  g_autoptr (HtHeapView) view = which == 0   ? ht_heap_backrefs (db, &q, &error)
                                : which == 1 ? ht_heap_refs (db, &q, &error)
                                             : ht_heap_chain (db, &q, &error);
  if (!view)
    return fail (exit_code_for (error), argv[1], "%s", error->message);
  if (output)
    {
      if (!ht_heap_view_write (view, output, &error))
        return fail (EXIT_IO, output, "%s", error->message);
      fprintf (stderr, _("%s: wrote %s (%u nodes)\n"), prog_name, output, view->nodes->len);
    }
  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_heap_view (b, view);
      print_json (b);
      return EXIT_OK;
    }
  if (output)
    return EXIT_OK;
  if (which == 2)
    {
      /* the chain in order, root first */
      for (guint i = 0; i < view->nodes->len; i++)
        {
          if (i > 0)
            print_edge_prefix (&g_array_index (view->edges, HtHeapEdge, i - 1), 2, FALSE);
          print_heap_node (view->nodes->pdata[i]);
        }
      const HtHeapNode *first = view->nodes->pdata[0];
      if (first->kind == HT_HEAP_NODE_BLOCK)
        printf (_("(no root reaches it: the chain starts at a block nothing reachable points "
                  "to)\n"));
      return EXIT_OK;
    }
  g_autofree gboolean *printed = g_new0 (gboolean, view->nodes->len);
  for (guint i = 0; i < view->nodes->len; i++)
    {
      const HtHeapNode *n = view->nodes->pdata[i];
      if (!n->selected)
        continue;
      print_heap_node (n);
      printed[i] = TRUE;
      print_heap_tree (view, i, 3, printed);
    }
  if (view->matched > q.too_many)
    printf (_("(%u blocks match; %u shown: --too-many shows more)\n"), view->matched,
            q.too_many);
  return EXIT_OK;
}

static int
cmd_backrefs (int argc, char **argv)
{
  return run_heap_walk (argc, argv, 0);
}

static int
cmd_refs (int argc, char **argv)
{
  return run_heap_walk (argc, argv, 1);
}

static int
cmd_chain (int argc, char **argv)
{
  return run_heap_walk (argc, argv, 2);
}

/* One show_growth table: "%-*s%9d %+9d", growth first; with `all`, shrinkage after. */
static void
print_growth (GPtrArray *rows, int limit, gboolean all)
{
  int width = 0, shown = 0;
  for (guint i = 0; i < rows->len; i++)
    width = MAX (width, (int) g_utf8_strlen (((HtGrowth *) rows->pdata[i])->type, -1));
  for (guint pass = 0; pass < (all ? 2u : 1u); pass++)
    for (guint k = 0; k < rows->len; k++)
      {
        /* growth in the order given; shrinkage from the largest loss */
        HtGrowth *g = rows->pdata[pass ? rows->len - 1 - k : k];
        gint64 delta = g->count_b - g->count_a;
        if ((pass == 0 && delta <= 0) || (pass == 1 && delta >= 0))
          continue;
        if (limit > 0 && shown >= limit)
          return;
        int pad = width - (int) g_utf8_strlen (g->type, -1) + (int) strlen (g->type);
        printf ("%-*s%9lld %+9lld\n", pad, g->type, (long long) g->count_b, (long long) delta);
        shown++;
      }
}

static int
cmd_growth (int argc, char **argv)
{
  int limit = 10;
  gboolean all = FALSE;
  GOptionEntry entries[] = {
    { "limit", 'n', 0, G_OPTION_ARG_INT, &limit, N_("Show N types per step (default 10, 0 for all)"),
      "N" },
    { "all", 0, 0, G_OPTION_ARG_NONE, &all, N_("Also show the types that shrank"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    HT_FILTER_ENTRIES,
    HT_TIME_ENTRY,
    { NULL }
  };
  int code = 0;
  if (!parse_options (entries, _("REC [A B]"),
                      _("Live blocks per type between snapshots, like objgraph's show_growth(); "
                        "between each snapshot and the next unless A and B are given.  A "
                        "block's type is its heaptrail_tag, else the function that allocated it."),
                      &argc, &argv, 1, 3, &code))
    return code;
  if (argc == 3)
    return fail (EXIT_USAGE, NULL, _("growth takes two snapshots or none"));
  if (limit < 0)
    return fail (EXIT_USAGE, NULL, _("-n takes a number of groups, 0 for all"));
  g_autoptr (HtDb) db = open_recording (argv[1], &code);
  if (!db)
    return code;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) steps = g_ptr_array_new_with_free_func (g_free);
  if (argc == 4)
    {
      g_ptr_array_add (steps, g_strdup (argv[2]));
      g_ptr_array_add (steps, g_strdup (argv[3]));
    }
  else
    {
      g_autoptr (GPtrArray) snaps = ht_query_snapshots (db, &error);
      if (!snaps)
        return fail (exit_code_for (error), argv[1], "%s", error->message);
      for (guint i = 0; i < snaps->len; i++)
        if (g_str_equal (((HtSnapshotInfo *) snaps->pdata[i])->kind, "snapshot")
            || g_str_equal (((HtSnapshotInfo *) snaps->pdata[i])->kind, "end"))
          g_ptr_array_add (steps, g_strdup (((HtSnapshotInfo *) snaps->pdata[i])->label));
      /* the program took no snapshot of its own: from the first one there is to the end,
       * and say so, rather than print nothing */
      if (steps->len < 2 && snaps->len >= 2)
        {
          const HtSnapshotInfo *first = snaps->pdata[0];
          g_ptr_array_insert (steps, 0, g_strdup (first->label));
          if (!json)
            printf (_("The program took no snapshots: growth from the first one, %s at %.3f s, "
                      "to the end.\n"),
                    first->label, first->time_s);
        }
    }
  g_autoptr (JsonBuilder) b = json ? json_builder_new () : NULL;
  if (b)
    json_builder_begin_array (b);
  for (guint i = 0; i + 1 < steps->len; i++)
    {
      const char *from = steps->pdata[i], *to = steps->pdata[i + 1];
      HtTopOptions filters = { 0 };
      apply_filters (&filters);
      g_autoptr (GPtrArray) rows = ht_query_growth (db, from, to, &filters, &error);
      if (!rows)
        return fail (exit_code_for (error), argv[1], "%s", error->message);
      if (b)
        {
          json_builder_begin_object (b);
          JSON_STR (b, "a", from);
          JSON_STR (b, "b", to);
          json_builder_set_member_name (b, "types");
          json_builder_begin_array (b);
          for (guint k = 0; k < rows->len; k++)
            {
              HtGrowth *g = rows->pdata[k];
              json_builder_begin_object (b);
              JSON_STR (b, "type", g->type);
              JSON_INT (b, "count", g->count_b);
              JSON_INT (b, "delta", g->count_b - g->count_a);
              JSON_INT (b, "bytes", g->bytes_b);
              JSON_INT (b, "bytes_delta", g->bytes_b - g->bytes_a);
              json_builder_end_object (b);
            }
          json_builder_end_array (b);
          json_builder_end_object (b);
          continue;
        }
      if (steps->len > 2)
        printf ("%s%s -> %s\n", i ? "\n" : "", from, to);
      print_growth (rows, limit, all);
    }
  if (b)
    {
      json_builder_end_array (b);
      print_json (b);
    }
  return EXIT_OK;
}

/* Asks a recorded process for a snapshot by leaving a request file (with the label) that
 * its recorder looks for every 10 ms; no signal is sent, so the program's blocking calls
 * are not interrupted (see ht-rec-sampler.c, serve_snapshot_request). */
static int
cmd_snapshot (int argc, char **argv)
{
  GOptionEntry entries[] = { { NULL } };
  int code = 0;
  if (!parse_options (entries, _("PID [LABEL]"),
                      _("Ask a process running under the recorder to take a snapshot now."),
                      &argc, &argv, 1, 2, &code))
    return code;
  char *end = NULL;
  long pid = strtol (argv[1], &end, 10);
  if (!end || *end || pid <= 0)
    return fail (EXIT_USAGE, NULL, _("'%s' is not a process id"), argv[1]);
  if (kill ((pid_t) pid, 0) != 0)
    return fail (EXIT_FAILURE_, argv[1], "%s", g_strerror (errno));
  const char *dir = g_getenv ("XDG_RUNTIME_DIR");
  g_autofree char *path = g_strdup_printf ("%s/heaptrail-snapshot.%ld", dir && *dir ? dir : "/tmp",
                                           pid);
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  const char *label = argc == 3 ? argv[2] : "";
  if (fd < 0 || write (fd, label, strlen (label)) < 0)
    {
      int err = errno;
      if (fd >= 0)
        close (fd);
      return fail (EXIT_IO, path, "%s", g_strerror (err));
    }
  close (fd);
  fprintf (stderr, _("%s: asked process %ld for a snapshot\n"), prog_name, pid);
  return EXIT_OK;
}

/* "REC:LABEL" -> REC and LABEL; a path that exists as given keeps its colons. */
static void
split_rec_label (const char *arg, char **rec, char **label)
{
  const char *colon = strrchr (arg, ':');
  if (colon && colon != arg && !g_file_test (arg, G_FILE_TEST_EXISTS))
    {
      *rec = g_strndup (arg, (gsize) (colon - arg));
      *label = g_strdup (colon + 1);
    }
  else
    {
      *rec = g_strdup (arg);
      *label = g_strdup ("end");
    }
}

static int
cmd_diff (int argc, char **argv)
{
  g_autofree char *by_arg = NULL;
  int limit = 10;
  gboolean cumulative = FALSE;
  GOptionEntry entries[] = {
    { "by", 0, 0, G_OPTION_ARG_STRING, &by_arg, N_("Group by line, function, file or traceback"),
      N_("KEY") },
    { "limit", 'n', 0, G_OPTION_ARG_INT, &limit, N_("Show the N largest groups (default 10)"),
      "N" },
    { "cumulative", 0, 0, G_OPTION_ARG_NONE, &cumulative,
      N_("Count every frame of a stack, not only the innermost"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    HT_FILTER_ENTRIES,
    HT_TIME_ENTRY,
    { NULL }
  };
  int code = 0;
  if (!parse_options (entries, _("REC A B | RECA[:A] RECB[:B]"),
                      _("What changed between two snapshots, like tracemalloc's "
                        "Snapshot.compare_to(): of one recording, or of two (matched by "
                        "source location).  A snapshot is a label, peak or end (the default)."),
                      &argc, &argv, 2, 3, &code))
    return code;
  const char *by = by_arg ? by_arg : "line";
  HtTopOptions opt = { .cumulative = cumulative };
  apply_filters (&opt);
  if (!parse_group (by, &opt.by))
    return fail (EXIT_USAGE, NULL, _("--by takes line, function, file or traceback, not '%s'"),
                 by);
  if (cumulative && opt.by == HT_GROUP_TRACEBACK)
    return fail (EXIT_USAGE, NULL, _("--cumulative does not apply to --by traceback"));
  if (limit < 0)
    return fail (EXIT_USAGE, NULL, _("-n takes a number of groups, 0 for all"));

  g_autofree char *rec_a = NULL, *rec_b = NULL, *label_a = NULL, *label_b = NULL;
  if (argc == 4)
    {
      rec_a = g_strdup (argv[1]);
      rec_b = g_strdup (argv[1]);
      label_a = g_strdup (argv[2]);
      label_b = g_strdup (argv[3]);
    }
  else
    {
      split_rec_label (argv[1], &rec_a, &label_a);
      split_rec_label (argv[2], &rec_b, &label_b);
    }
  g_autoptr (HtDb) db_a = open_recording (rec_a, &code);
  if (!db_a)
    return code;
  g_autoptr (HtDb) db_b = g_str_equal (rec_a, rec_b) ? NULL : open_recording (rec_b, &code);
  if (!g_str_equal (rec_a, rec_b) && !db_b)
    return code;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) diffs
    = ht_query_diff (db_a, label_a, db_b ? db_b : db_a, label_b, &opt, &error);
  if (!diffs)
    return fail (exit_code_for (error), rec_a, "%s", error->message);
  guint n = limit == 0 ? diffs->len : MIN ((guint) limit, diffs->len);

  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      JSON_STR (b, "by", by);
      JSON_STR (b, "a", label_a);
      JSON_STR (b, "b", label_b);
      json_builder_set_member_name (b, "stats");
      json_builder_begin_array (b);
      for (guint i = 0; i < n; i++)
        {
          HtStatDiff *d = diffs->pdata[i];
          json_builder_begin_object (b);
          JSON_STR (b, "key", d->stat->key);
          JSON_INT (b, "size", d->stat->size);
          JSON_INT (b, "size_diff", d->size_diff);
          JSON_INT (b, "count", d->stat->count);
          JSON_INT (b, "count_diff", d->count_diff);
          json_builder_set_member_name (b, "traceback");
          json_builder_begin_array (b);
          for (guint j = 0; d->stat->traceback && j < d->stat->traceback->len; j++)
            json_location (b, d->stat->traceback->pdata[j]);
          json_builder_end_array (b);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      print_json (b);
      return EXIT_OK;
    }
  /* tracemalloc's StatisticDiff: "f.c:42: size=126 KiB (+126 KiB), count=2002 (+2002), ..." */
  for (guint i = 0; i < n; i++)
    {
      HtStatDiff *d = diffs->pdata[i];
      g_autofree char *size = ht_format_size ((double) d->stat->size, FALSE);
      g_autofree char *size_diff = ht_format_size ((double) d->size_diff, TRUE);
      printf ("%s: size=%s (%s), count=%" G_GUINT64_FORMAT " (%+" G_GINT64_FORMAT ")",
              d->stat->key, size, size_diff, d->stat->count, d->count_diff);
      if (d->stat->count)
        {
          g_autofree char *avg
            = ht_format_size ((double) d->stat->size / (double) d->stat->count, FALSE);
          printf (", average=%s", avg);
        }
      printf ("\n");
    }
  return EXIT_OK;
}

/* ---------------------------------------------------------------------------------------
 * record
 */

/* The first of `relative` paths (from this executable's directory) that passes `test`:
 * the install layout comes first, then the build tree, so both stay relocatable. */
static char *
find_beside_self (const char *const *relative, guint n, GFileTest test)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  if (!self)
    return NULL;
  g_autofree char *dir = g_path_get_dirname (self);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *p = g_build_filename (dir, relative[i], NULL);
      g_autofree char *c = g_canonicalize_filename (p, NULL);
      if (g_file_test (c, test))
        return g_steal_pointer (&c);
    }
  return NULL;
}

/* The recorder library: $HEAPTRAIL_RECORDER, else next to this executable. */
static char *
find_recorder (void)
{
  const char *env = g_getenv ("HEAPTRAIL_RECORDER");
  if (env && *env)
    return g_strdup (env);
  const char *const candidates[] = { HT_RECORDER_FROM_BINDIR, HT_RECORDER_FROM_BUILD };
  return find_beside_self (candidates, G_N_ELEMENTS (candidates), G_FILE_TEST_IS_REGULAR);
}

static char *
default_log_name (const char *prog, pid_t pid)
{
  g_autofree char *base = g_path_get_basename (prog);
  return g_strdup_printf ("heaptrail.%s.%d.htr", base, (int) pid);
}

/* With --follow-*, children write heaptrail.PROG.PID.htr beside the main log: name them. */
static void
list_child_logs (const char *dir, const char *main_log, gint64 since_us)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  if (!d)
    return;
  g_autofree char *main_abs = g_canonicalize_filename (main_log, NULL);
  const char *name;
  while ((name = g_dir_read_name (d)))
    {
      if (!g_str_has_prefix (name, "heaptrail.") || !g_str_has_suffix (name, ".htr"))
        continue;
      g_autofree char *p = g_build_filename (dir, name, NULL);
      struct stat st;
      if (g_str_equal (p, main_abs) || stat (p, &st) != 0)
        continue;
      /* file times come from the kernel's coarse clock, a few ms behind the real time */
      gint64 mtime_us = (gint64) st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000;
      if (mtime_us < since_us - 100000)
        continue;
      fprintf (stderr, _("%s: and a child process into %s\n"), prog_name, p);
    }
}

/* The program was killed by `sig`: so are we, as timeout(1) does, so that our caller sees
 * the same death (WIFSIGNALED; a shell's "Segmentation fault"; a pipeline's SIGPIPE).  The
 * program already left its core dump, if any; we leave none.  Returns only if the signal
 * does not end a process. */
static void
die_like (int sig)
{
  fflush (NULL);
  struct rlimit no_core = { 0, 0 };
  setrlimit (RLIMIT_CORE, &no_core);
  signal (sig, SIG_DFL);
  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, sig);
  sigprocmask (SIG_UNBLOCK, &set, NULL);
  raise (sig);
}

static int
record_usage (void)
{
  fprintf (stderr, _("Usage: %s record [-o FILE] [--frames N] [--follow-fork] [--no-follow-exec]\n"
                     "                 [--graph | --sample SIZE] -- PROGRAM [ARGS...]\n"
                     "\n"
                     "Run PROGRAM under the recorder and write its allocations to FILE\n"
                     "(default heaptrail.PROGRAM.PID.htr).  Exits with PROGRAM's status.\n"
                     "When PROGRAM executes another program (a wrapper script, env, a pyenv\n"
                     "shim), the recording goes on in it, in the same FILE.\n"
                     "\n"
                     "  -o, --output FILE   where to write the log\n"
                     "  --frames N          stack depth to record (1-255, default 64)\n"
                     "  --follow-fork       record forked children too, each into\n"
                     "                      heaptrail.PROGRAM.PID.htr beside FILE\n"
                     "  --no-follow-exec    stop recording when PROGRAM executes another\n"
                     "  --print-recorder    print the path of libheaptrail.so, for LD_PRELOAD\n"
                     "  --graph             keep the live blocks, and at each snapshot and at\n"
                     "                      exit note each one's first word (C++ class names)\n"
                     "  --sample SIZE       record one allocation per SIZE bytes on average\n"
                     "                      (e.g. 512KiB), as tcmalloc does: reports show\n"
                     "                      unbiased estimates, at a cost you hardly notice\n"),
           prog_name);
  return EXIT_USAGE;
}

int
cmd_record (int argc, char **argv)
{
  const char *output = NULL;
  long frames = 64;
  gboolean follow_fork = FALSE, follow_exec = TRUE, graph = FALSE;
  guint64 sample = 0;
  int i = 1;
  for (; i < argc; i++)
    {
      const char *a = argv[i];
      if (strcmp (a, "--") == 0)
        {
          i++;
          break;
        }
      if (a[0] != '-')
        break;
      if ((strcmp (a, "-o") == 0 || strcmp (a, "--output") == 0) && i + 1 < argc)
        output = argv[++i];
      else if (g_str_has_prefix (a, "--output="))
        output = a + 9;
      else if ((strcmp (a, "--frames") == 0 && i + 1 < argc) || g_str_has_prefix (a, "--frames="))
        {
          const char *v = a[8] == '=' ? a + 9 : argv[++i];
          char *end = NULL;
          frames = strtol (v, &end, 10);
          if (!end || *end || frames < 1 || frames > 255)
            return fail (EXIT_USAGE, NULL, _("--frames takes a number from 1 to 255, not '%s'"),
                         v);
        }
      else if (strcmp (a, "--print-recorder") == 0)
        {
          g_autofree char *lib = find_recorder ();
          if (!lib)
            return fail (EXIT_FAILURE_, NULL, _("cannot find %s (set HEAPTRAIL_RECORDER to its path)"),
                         HT_RECORDER_NAME);
          printf ("%s\n", lib);
          return EXIT_OK;
        }
      else if (strcmp (a, "--follow-fork") == 0)
        follow_fork = TRUE;
      else if (strcmp (a, "--follow-exec") == 0)
        follow_exec = TRUE; /* the default; kept for scripts written before it was */
      else if (strcmp (a, "--no-follow-exec") == 0)
        follow_exec = FALSE;
      else if (strcmp (a, "--graph") == 0)
        graph = TRUE;
      else if ((strcmp (a, "--sample") == 0 && i + 1 < argc) || g_str_has_prefix (a, "--sample="))
        {
          const char *v = a[8] == '=' ? a + 9 : argv[++i];
          if (!ht_parse_size (v, &sample) || sample == 0 || sample > (G_GUINT64_CONSTANT (1) << 40))
            return fail (EXIT_USAGE, NULL,
                         _("--sample takes a size from 1 byte to 1 TiB, such as 512KiB, not '%s'"), v);
        }
      else if (strcmp (a, "-h") == 0 || strcmp (a, "--help") == 0)
        {
          record_usage ();
          return EXIT_OK;
        }
      else
        {
          fail (EXIT_USAGE, NULL, _("record: unknown option '%s'"), a);
          return record_usage ();
        }
    }
  if (i >= argc)
    return record_usage ();
  if (graph && sample)
    return fail (EXIT_USAGE, NULL,
                 _("--graph and --sample do not go together: a sampled heap cannot be scanned for leaks"));
  char **child_argv = argv + i;
  g_autofree char *sample_s = g_strdup_printf ("%" G_GUINT64_FORMAT, sample);

  g_autofree char *recorder = find_recorder ();
  if (!recorder)
    return fail (EXIT_FAILURE_, NULL,
                 _("cannot find %s (set HEAPTRAIL_RECORDER to its path)"), HT_RECORDER_NAME);
  g_autofree char *preload = NULL;
  const char *old = g_getenv ("LD_PRELOAD");
  preload = old && *old ? g_strconcat (recorder, ":", old, NULL) : g_strdup (recorder);
  g_autofree char *frames_s = g_strdup_printf ("%ld", frames);
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *out_dir = NULL;
  if (output)
    {
      g_autofree char *d = g_path_get_dirname (output);
      out_dir = g_canonicalize_filename (d, cwd);
    }
  else
    out_dir = g_strdup (cwd);
  gint64 started = g_get_real_time ();

  fflush (NULL);
  pid_t pid = fork ();
  if (pid < 0)
    return fail (EXIT_FAILURE_, NULL, "fork: %s", g_strerror (errno));
  if (pid == 0)
    {
      g_autofree char *path = output ? g_strdup (output) : default_log_name (child_argv[0], getpid ());
      if (old) /* the recorder gives the program this back, set even when empty */
        setenv ("HEAPTRAIL_LD_PRELOAD", old, 1);
      setenv ("LD_PRELOAD", preload, 1);
      setenv ("HEAPTRAIL_OUTPUT", path, 1);
      setenv ("HEAPTRAIL_FRAMES", frames_s, 1);
      setenv ("HEAPTRAIL_DIR", out_dir, 1);
      if (follow_fork)
        setenv ("HEAPTRAIL_FOLLOW_FORK", "1", 1);
      if (follow_exec)
        setenv ("HEAPTRAIL_FOLLOW_EXEC", "1", 1);
      if (graph)
        setenv ("HEAPTRAIL_GRAPH", "1", 1);
      if (sample)
        setenv ("HEAPTRAIL_SAMPLE", sample_s, 1);
      execvp (child_argv[0], child_argv);
      int err = errno;
      fprintf (stderr, "%s: %s: %s\n", prog_name, child_argv[0], g_strerror (err));
      _exit (err == ENOENT ? 127 : 126);
    }
  g_autofree char *path = output ? g_strdup (output) : default_log_name (child_argv[0], pid);
  /* like time(1): the terminal's signals are for the program; we wait for it */
  signal (SIGINT, SIG_IGN);
  signal (SIGQUIT, SIG_IGN);
  int status = 0;
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  signal (SIGINT, SIG_DFL);
  signal (SIGQUIT, SIG_DFL);
  int code = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
  if (WIFEXITED (status) && (code == 126 || code == 127) && !g_file_test (path, G_FILE_TEST_EXISTS))
    return code; /* the program did not start; the child said why */
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    fprintf (stderr, _("%s: recorded %s into %s\n"), prog_name, child_argv[0], path);
  else
    fprintf (stderr, _("%s: %s: no log was written\n"), prog_name, path);
  if (follow_fork)
    list_child_logs (out_dir, path, started);
  if (WIFSIGNALED (status))
    die_like (WTERMSIG (status));
  return code;
}

/* ---------------------------------------------------------------------------------------
 * main
 */

/* Translations live next to the executable: the install layout, else the build tree. */
static void
setup_gettext (void)
{
  const char *const candidates[] = { HT_LOCALEDIR_FROM_BINDIR, HT_LOCALEDIR_FROM_BUILD };
  g_autofree char *dir = find_beside_self (candidates, G_N_ELEMENTS (candidates),
                                           G_FILE_TEST_IS_DIR);
  if (dir)
    bindtextdomain (GETTEXT_PACKAGE, dir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
}

static int
usage (FILE *to)
{
  fprintf (to, _("Usage: %s COMMAND [OPTIONS] ...\n"
                 "\n"
                 "Commands:\n"
                 "  record [-o FILE] [--frames N] [--follow-fork] [--no-follow-exec]\n"
                 "         [--graph | --sample SIZE]\n"
                 "         [--print-recorder] -- PROGRAM [ARGS...]\n"
                 "                              record a program (--graph: with its heap graph)\n"
                 "  import LOG [-o DB]          import a log into a database\n"
                 "  summary REC [--json]        key figures: allocations, peak, leaks\n"
                 "  top REC [--by KEY] [-n N] [--at peak|end|LABEL] [--allocations] [--cumulative]\n"
                 "                              where memory was allocated\n"
                 "  snapshots REC               the snapshots: label, time, live size\n"
                 "  diff REC A B | RECA[:A] RECB[:B] [--by KEY] [-n N] [--cumulative]\n"
                 "                              what changed between two snapshots\n"
                 "  leaks REC [--suppressions FILE] [-n N]\n"
                 "                              blocks not freed at exit, by stack\n"
                 "  growth REC [A B] [-n N] [--all]\n"
                 "                              live blocks per type between snapshots\n"
                 "  snapshot PID [LABEL]        take a snapshot of a recorded process now\n"
                 "  backrefs REC (--type T | --site F[:L] | --block ADDR) [--depth N] [-o FILE]\n"
                 "                              what keeps blocks alive, up to the roots (.dot/.svg/.png)\n"
                 "  refs REC (--type T | --site F[:L] | --block ADDR) [--depth N] [-o FILE]\n"
                 "                              what blocks point to\n"
                 "  chain REC --block ADDR      the shortest chain from a root to a block\n"
                 "  export REC --format pprof|collapsed|speedscope|massif [-o FILE] [--at WHEN]\n"
                 "                              write the recording for other tools\n"
                 "  check REC | -- PROGRAM [--max-peak SIZE] [--max-leaked SIZE]\n"
                 "        [--max-allocations N] [--no-leaks-from GLOB] [--baseline OLD --max-growth PCT]\n"
                 "                              memory limits for CI: exit status 1 when broken\n"
                 "\n"
                 "REC is a log (.htr) or its database.  '%s COMMAND --help' for details.\n"),
           prog_name, prog_name);
  return to == stderr ? EXIT_USAGE : EXIT_OK;
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  setup_gettext ();

  if (argc < 2)
    return usage (stderr);
  const char *cmd = argv[1];
  if (strcmp (cmd, "-h") == 0 || strcmp (cmd, "--help") == 0 || strcmp (cmd, "help") == 0)
    return usage (stdout);
  if (strcmp (cmd, "--version") == 0)
    {
      printf ("heaptrail %s\n", HT_VERSION);
      return EXIT_OK;
    }
  static const struct
  {
    const char *name;
    int (*run) (int, char **);
  } commands[] = {
    { "record", cmd_record },
    { "import", cmd_import },
    { "summary", cmd_summary },
    { "top", cmd_top },
    { "snapshots", cmd_snapshots },
    { "diff", cmd_diff },
    { "leaks", cmd_leaks },
    { "growth", cmd_growth },
    { "snapshot", cmd_snapshot },
    { "backrefs", cmd_backrefs },
    { "refs", cmd_refs },
    { "chain", cmd_chain },
    { "export", cmd_export },
    { "check", cmd_check },
  };
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (cmd, commands[i].name) == 0)
      {
        g_autofree char *name = g_strdup_printf ("heaptrail %s", cmd);
        g_set_prgname (name);
        int code = commands[i].run (argc - 1, argv + 1);
        g_clear_pointer (&filter_include, g_strfreev);
        g_clear_pointer (&filter_exclude, g_strfreev);
        g_clear_pointer (&time_arg, g_free);
        return code;
      }
  fail (EXIT_USAGE, NULL, _("unknown command '%s'"), cmd);
  return usage (stderr);
}
