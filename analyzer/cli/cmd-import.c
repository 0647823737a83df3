/* cmd-import.c - heaptrail import LOG [-o DB]: a log into a database, ahead of the questions. */
#include <stdio.h>
#include <sys/stat.h>

#include "ht-cli.h"
#include "ht-import.h"

int
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
