/* cmd-export.c - heaptrail export REC --format pprof|collapsed|speedscope|massif
 *
 * Writes the recording for the tools a team already uses (ht-export.c says what each
 * format holds).  To -o FILE, written whole or not at all, or to stdout.
 */
#include <stdio.h>

#include "ht-cli.h"
#include "ht-export.h"

int
cmd_export (int argc, char **argv)
{
  g_autofree char *format = NULL, *output = NULL, *at = NULL;
  gboolean allocations = FALSE, count = FALSE;
  GOptionEntry entries[] = {
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format,
      N_("pprof (gzipped profile.proto), collapsed (flamegraph.pl, inferno), speedscope, "
         "or massif (ms_print, massif-visualizer)"),
      N_("FORMAT") },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, N_("Write to FILE (default: stdout)"),
      N_("FILE") },
    { "at", 0, 0, G_OPTION_ARG_STRING, &at,
      N_("The live (in use) figures at peak (default), end, a snapshot's label, or a time"),
      N_("WHEN") },
    { "allocations", 0, 0, G_OPTION_ARG_NONE, &allocations,
      N_("collapsed: every allocation of the run instead of the live blocks; speedscope and "
         "pprof: open on them"),
      NULL },
    { "count", 0, 0, G_OPTION_ARG_NONE, &count, N_("collapsed: blocks instead of bytes"),
      NULL },
    HT_FILTER_ENTRIES,
    { NULL }
  };
  int code = 0;
  if (!parse_options (entries, "REC", _("Write the recording for other tools: pprof, "
                                        "flame graphs, speedscope, massif."),
                      &argc, &argv, 1, 1, &code))
    return code;
  static const struct
  {
    const char *name;
    GBytes *(*write) (HtDb *, const HtExportOptions *, GError **);
  } formats[] = {
    { "pprof", ht_export_pprof },
    { "collapsed", ht_export_collapsed },
    { "speedscope", ht_export_speedscope },
    { "massif", ht_export_massif },
  };
  guint f = 0;
  while (f < G_N_ELEMENTS (formats) && g_strcmp0 (format, formats[f].name) != 0)
    f++;
  if (f == G_N_ELEMENTS (formats) && !format)
    return fail (EXIT_USAGE, NULL, _("--format is needed: pprof, collapsed, speedscope or massif"));
  if (f == G_N_ELEMENTS (formats))
    return fail (EXIT_USAGE, NULL, _("unknown format '%s': pprof, collapsed, speedscope or massif"),
                 format);
  if (!output && f == 0 && isatty (1))
    return fail (EXIT_USAGE, NULL, _("pprof's format is binary: give -o FILE"));
  HtDb *db = open_recording (argv[1], &code);
  if (!db)
    return code;
  HtTopOptions filters = { 0 };
  apply_filters (&filters);
  HtExportOptions options = { .at = at, .allocations = allocations, .count = count,
                              .filters = &filters };
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = formats[f].write (db, &options, &error);
  ht_db_close (db);
  if (!bytes)
    return fail (exit_code_for (error), argv[1], "%s", error->message);
  gsize len = 0;
  const char *data = g_bytes_get_data (bytes, &len);
  if (output)
    {
      if (!g_file_set_contents (output, data ? data : "", (gssize) len, &error))
        return fail (EXIT_IO, output, "%s", error->message);
      return EXIT_OK;
    }
  if (len && fwrite (data, 1, len, stdout) != len)
    return fail (EXIT_IO, NULL, _("cannot write to stdout"));
  return fflush (stdout) == 0 ? EXIT_OK : fail (EXIT_IO, NULL, _("cannot write to stdout"));
}
