/* cmd-check.c - heaptrail check: memory limits for CI, as pytest-memray's limit_memory and
 * limit_leaks.
 *
 *   heaptrail check REC [LIMITS]                  a recording made before
 *   heaptrail check [LIMITS] [-o LOG] -- PROG...  records PROG, then checks it
 *
 * Exit status 0 when every limit holds, 1 with one line per broken limit, 2 on a usage
 * error (3 and 4 as every command: bad input, I/O).  The program's own failure is a
 * failure too (its status is reported).  cmake/heaptrail-config.cmake's heaptrail_add_test()
 * runs a test this way.
 */
#include <stdio.h>

#include "ht-cli.h"
#include "ht-import.h"
#include "ht-suppressions.h"

typedef struct
{
  const char *name;    /* the option: "max-peak" */
  gint64 limit, measured;
  gboolean bytes;      /* sizes, shown with their unit */
  char *message;       /* why it broke, or NULL */
} HtCheck;

static void
check_free (gpointer p)
{
  HtCheck *c = p;
  g_free (c->message);
  g_free (c);
}

static HtCheck *
check_add (GPtrArray *checks, const char *name, gint64 limit, gint64 measured, gboolean bytes,
           const char *what)
{
  HtCheck *c = g_new0 (HtCheck, 1);
  c->name = name;
  c->limit = limit;
  c->measured = measured;
  c->bytes = bytes;
  if (measured > limit)
    {
      g_autofree char *m = bytes ? ht_format_size ((double) measured, FALSE)
                                 : g_strdup_printf ("%" G_GINT64_FORMAT, measured);
      g_autofree char *l = bytes ? ht_format_size ((double) limit, FALSE)
                                 : g_strdup_printf ("%" G_GINT64_FORMAT, limit);
      c->message = g_strdup_printf (_("%s %s is over --%s %s"), what, m, name, l);
    }
  g_ptr_array_add (checks, c);
  return c;
}

static gboolean
parse_limit (const char *text, const char *option, gboolean size, gint64 *out, int *code)
{
  guint64 v = 0;
  if (text && (size ? ht_parse_size (text, &v) : (g_ascii_string_to_unsigned (text, 10, 0,
                                                                             G_MAXINT64, &v,
                                                                             NULL))))
    {
      *out = (gint64) v;
      return TRUE;
    }
  *code = fail (EXIT_USAGE, NULL,
                size ? _("--%s takes a size such as 10MiB or 0, not '%s'")
                     : _("--%s takes a number, not '%s'"),
                option, text ? text : "");
  return FALSE;
}

/* Blocks not freed at the end whose innermost frame is in a file or module matching one of
 * the globs (the suppressions apply, as in `leaks`). */
static gboolean
leaks_from (HtDb *db, char **globs, guint64 *bytes, guint64 *blocks, GError **error)
{
  g_autoptr (HtSuppressions) supp = ht_suppressions_new ();
  ht_suppressions_add_builtin (supp);
  ht_suppressions_add_program (supp, db);
  HtTopOptions filters = { .include = (const char *const *) globs };
  HtLeaks leaks;
  if (!ht_query_leaks (db, supp, &filters, &leaks, error))
    return FALSE;
  *bytes = leaks.bytes;
  *blocks = leaks.blocks;
  ht_leaks_clear (&leaks);
  return TRUE;
}

int
cmd_check (int argc, char **argv)
{
  g_autofree char *max_peak = NULL, *max_leaked = NULL, *max_allocs = NULL, *baseline = NULL;
  g_autofree char *output = NULL;
  g_auto (GStrv) no_leaks_from = NULL;
  double max_growth = -1;
  GOptionEntry entries[] = {
    { "max-peak", 0, 0, G_OPTION_ARG_STRING, &max_peak,
      N_("Fail when the heap's peak is over SIZE (10MiB, 512KiB, 0)"), N_("SIZE") },
    { "max-leaked", 0, 0, G_OPTION_ARG_STRING, &max_leaked,
      N_("Fail when more than SIZE is left not freed at exit (as summary counts it)"),
      N_("SIZE") },
    { "max-allocations", 0, 0, G_OPTION_ARG_STRING, &max_allocs,
      N_("Fail when the program makes more than N allocations"), "N" },
    { "no-leaks-from", 0, 0, G_OPTION_ARG_STRING_ARRAY, &no_leaks_from,
      N_("Fail when a block allocated from a file or module matching GLOB is not freed "
         "(repeatable)"),
      N_("GLOB") },
    { "baseline", 0, 0, G_OPTION_ARG_FILENAME, &baseline,
      N_("A recording to compare with (--max-growth)"), N_("OLD") },
    { "max-growth", 0, 0, G_OPTION_ARG_DOUBLE, &max_growth,
      N_("Fail when the peak grew by more than PCT percent since --baseline"), N_("PCT") },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      N_("With -- PROGRAM: where to write its recording"), N_("LOG") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    { NULL }
  };
  /* "check [LIMITS] -- PROGRAM ARGS": the program's arguments are not ours to parse */
  int dashes = 1;
  while (dashes < argc && strcmp (argv[dashes], "--") != 0)
    dashes++;
  char **program = dashes < argc ? argv + dashes + 1 : NULL;
  int our_argc = dashes;
  int code = 0;
  if (!parse_options (entries, _("REC | [-o LOG] -- PROGRAM [ARGS...]"),
                      _("Check a recording against memory limits, for CI: exit status 1 and "
                        "one line per broken limit."),
                      &our_argc, &argv, program ? 0 : 1, program ? 0 : 1, &code))
    return code;
  if (program && !*program)
    return fail (EXIT_USAGE, NULL, _("check: nothing to run after --"));
  if ((baseline != NULL) != (max_growth >= 0))
    return fail (EXIT_USAGE, NULL, _("--baseline and --max-growth go together"));
  gint64 peak_limit = -1, leaked_limit = -1, allocs_limit = -1;
  if ((max_peak && !parse_limit (max_peak, "max-peak", TRUE, &peak_limit, &code))
      || (max_leaked && !parse_limit (max_leaked, "max-leaked", TRUE, &leaked_limit, &code))
      || (max_allocs && !parse_limit (max_allocs, "max-allocations", FALSE, &allocs_limit, &code)))
    return code;

  g_autofree char *rec = NULL;
  int program_status = 0;
  if (program)
    {
      /* record it first, as `heaptrail record -o LOG -- PROGRAM` would */
      g_autofree char *base = g_path_get_basename (program[0]);
      rec = output ? g_strdup (output) : g_strdup_printf ("heaptrail.%s.check.htr", base);
      g_autoptr (GPtrArray) args = g_ptr_array_new ();
      g_ptr_array_add (args, (char *) "record");
      g_ptr_array_add (args, (char *) "-o");
      g_ptr_array_add (args, rec);
      g_ptr_array_add (args, (char *) "--");
      for (char **p = program; *p; p++)
        g_ptr_array_add (args, *p);
      g_ptr_array_add (args, NULL);
      program_status = cmd_record ((int) args->len - 1, (char **) args->pdata);
      if (!g_file_test (rec, G_FILE_TEST_EXISTS))
        return program_status ? program_status : EXIT_FAILURE_;
      g_autofree char *db = ht_import_default_db_path (rec);
      unlink (db); /* a rerun's log is new: never check the last run's database */
    }
  else
    rec = g_strdup (argv[1]);

  HtDb *db = open_recording (rec, &code);
  if (!db)
    return code;
  g_autoptr (GError) error = NULL;
  HtSummary s;
  if (!ht_query_summary (db, &s, &error))
    {
      ht_db_close (db);
      return fail (exit_code_for (error), rec, "%s", error->message);
    }
  g_autoptr (GPtrArray) checks = g_ptr_array_new_with_free_func (check_free);
  if (peak_limit >= 0)
    check_add (checks, "max-peak", peak_limit, s.peak_heap_bytes, TRUE, _("peak heap"));
  if (leaked_limit >= 0)
    check_add (checks, "max-leaked", leaked_limit, s.leaked_bytes, TRUE, _("not freed at exit"));
  if (allocs_limit >= 0)
    check_add (checks, "max-allocations", allocs_limit, s.allocations, FALSE, _("allocations"));
  for (guint i = 0; no_leaks_from && no_leaks_from[i]; i++)
    {
      char *one[] = { no_leaks_from[i], NULL };
      guint64 bytes = 0, blocks = 0;
      if (!leaks_from (db, one, &bytes, &blocks, &error))
        break;
      HtCheck *c = check_add (checks, "no-leaks-from", 0, (gint64) bytes, TRUE, "");
      if (c->message)
        {
          g_free (c->message);
          g_autofree char *size = ht_format_size ((double) bytes, FALSE);
          c->message = g_strdup_printf (_("%s in %llu blocks allocated from %s not freed "
                                          "(--no-leaks-from)"),
                                        size, (unsigned long long) blocks, no_leaks_from[i]);
        }
    }
  ht_summary_clear (&s);
  gint64 peak = ht_db_meta_int (db, "peak_heap_bytes");
  ht_db_close (db);
  if (error)
    return fail (exit_code_for (error), rec, "%s", error->message);
  if (baseline)
    {
      gint64 sampled = sample_bytes; /* JSON's "estimated" is about REC, not OLD */
      HtDb *old = open_recording (baseline, &code);
      if (!old)
        return code;
      gint64 old_peak = ht_db_meta_int (old, "peak_heap_bytes");
      ht_db_close (old);
      sample_bytes = sampled;
      gint64 allowed = (gint64) ((double) old_peak * (1 + max_growth / 100));
      HtCheck *c = check_add (checks, "max-growth", allowed, peak, TRUE, "");
      if (c->message)
        {
          g_free (c->message);
          g_autofree char *now = ht_format_size ((double) peak, FALSE);
          g_autofree char *then = ht_format_size ((double) old_peak, FALSE);
          c->message = g_strdup_printf (_("peak heap %s grew by %.1f%% since %s (%s), over "
                                          "--max-growth %g%%"),
                                        now, old_peak ? 100.0 * (double) (peak - old_peak)
                                                          / (double) old_peak
                                                      : 100.0,
                                        baseline, then, max_growth);
        }
    }

  guint broken = 0;
  for (guint i = 0; i < checks->len; i++)
    broken += ((HtCheck *) checks->pdata[i])->message != NULL;
  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      JSON_STR (b, "recording", rec);
      json_builder_set_member_name (b, "passed");
      json_builder_add_boolean_value (b, broken == 0 && program_status == 0);
      if (program)
        JSON_INT (b, "program_status", program_status);
      json_builder_set_member_name (b, "limits");
      json_builder_begin_array (b);
      for (guint i = 0; i < checks->len; i++)
        {
          const HtCheck *c = checks->pdata[i];
          json_builder_begin_object (b);
          JSON_STR (b, "limit", c->name);
          JSON_INT (b, "value", c->limit);
          JSON_INT (b, "measured", c->measured);
          json_builder_set_member_name (b, "passed");
          json_builder_add_boolean_value (b, c->message == NULL);
          if (c->message)
            JSON_STR (b, "message", c->message);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      print_json (b);
    }
  else
    for (guint i = 0; i < checks->len; i++)
      if (((HtCheck *) checks->pdata[i])->message)
        fprintf (stderr, "%s: %s: %s\n", prog_name, rec, ((HtCheck *) checks->pdata[i])->message);
  if (program_status)
    {
      if (!json)
        fprintf (stderr, _("%s: %s: the program failed (exit status %d)\n"), prog_name, rec,
                 program_status);
      return EXIT_FAILURE_;
    }
  return broken ? EXIT_FAILURE_ : EXIT_OK;
}
