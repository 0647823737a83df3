/* heaptrail.c - the command-line face: the list of commands, usage and main of the full
 * CLI, heaptrail-cli (users run the `heaptrail` launcher, launcher.c, which runs `record`
 * itself and execs this for the rest).  Each command lives in cmd-NAME.c; what they share
 * is in cli-common.c and cli-print.c (ht-cli.h), and cli-base.c (ht-cli-base.h).
 *
 * Every command that reads a recording takes REC: a log (imported on first use into
 * LOG.db, with a progress bar on a terminal), its database, or a heaptrack recording.
 * Errors are one line, "heaptrail: FILE: what is wrong", and the exit codes of ht-cli-base.h
 * (see heaptrail(1)).
 */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "ht-cli.h"

/* ---------------------------------------------------------------------------------------
 * main
 */

static int
usage (FILE *to)
{
  fprintf (to, _("Usage: %s COMMAND [OPTIONS] ...\n"
                 "\n"
                 "Commands:\n"
                 "  record [-o FILE] [--frames N] [--follow-fork] [--no-follow-exec]\n"
                 "         [--graph | --sample SIZE] [--native-frames all]\n"
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
                 "  attach PID [-o FILE] [--duration SECONDS]\n"
                 "                              record a process that is already running\n"
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
    { "attach", cmd_attach },
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
