/* cmd-leaks.c - heaptrail leaks REC: blocks not freed at exit, by stack, with memcheck's classes when there is a heap graph. */
#include <stdio.h>

#include "ht-cli.h"
#include "ht-graph.h"
#include "ht-suppressions.h"

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

int
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
  if (!apply_time_range (db, &filters, argv[1], &code))
    return code;
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
      json_time_range (b);
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
          json_size_deviation (b, s);
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
