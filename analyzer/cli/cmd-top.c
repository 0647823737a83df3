/* cmd-top.c - heaptrail top REC: where memory was allocated, as tracemalloc's Snapshot.statistics(). */
#include <stdio.h>

#include "ht-cli.h"

int
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

  if (time_arg && opt.retained)
    return fail (EXIT_USAGE, NULL, _("--time does not apply to --metric retained"));

  g_autoptr (HtDb) db = open_recording (argv[1], &code);
  if (!db || !apply_time_range (db, &opt, argv[1], &code))
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
      json_time_range (b);
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
          json_size_deviation (b, s);
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
