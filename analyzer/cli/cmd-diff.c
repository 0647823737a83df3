/* cmd-diff.c - heaptrail diff: what changed between two snapshots, as tracemalloc's compare_to(). */
#include <stdio.h>

#include "ht-cli.h"

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

int
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
