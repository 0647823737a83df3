/* launcher.c - `heaptrail`, as users run it.  It runs `record` itself and hands every other
 * command to the full CLI (heaptrail.c, installed as libexec/heaptrail/heaptrail-cli).
 *
 * Why two executables: `heaptrail record -- PROGRAM` waits for PROGRAM, and whatever it
 * costs before the fork is added to the recorded run.  The full CLI loads 30 libraries
 * (SQLite, libdw, Graphviz, json-glib, protobuf-c...): 3-4 ms of a few-hundred-ms
 * program, which --sample's target of 1.10x cannot spare.  This one loads GLib alone
 * (ht-cli-base.h), and the analysis commands pay one exec more, which nobody waits on.
 */
#include <errno.h>
#include <locale.h>
#include <string.h>
#include <unistd.h>

#include "ht-cli-base.h"

/* Messages in the user's language: for record, and when the full CLI cannot run (which
 * sets up its own). */
static void
speak (void)
{
  setlocale (LC_ALL, "");
  setup_gettext ();
}

int
main (int argc, char **argv)
{
  if (argc >= 2 && strcmp (argv[1], "record") == 0)
    {
      speak ();
      g_set_prgname ("heaptrail record");
      return cmd_record (argc - 1, argv + 1);
    }

  const char *const candidates[] = { HT_CLI_FROM_INSTALL, HT_CLI_FROM_BUILD };
  g_autofree char *cli = find_beside_self (candidates, G_N_ELEMENTS (candidates),
                                           G_FILE_TEST_IS_EXECUTABLE);
  if (cli)
    execv (cli, argv);
  int err = errno;
  speak ();
  if (!cli)
    return fail (EXIT_FAILURE_, NULL, _("cannot find %s, which is installed with heaptrail"),
                 HT_CLI_NAME);
  return fail (EXIT_FAILURE_, cli, "%s", g_strerror (err));
}
