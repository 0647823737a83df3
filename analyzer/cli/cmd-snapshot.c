/* cmd-snapshot.c - heaptrail snapshot PID [LABEL]: a snapshot of a recorded process, asked from outside. */
#include <fcntl.h>
#include <stdio.h>

#include "ht-cli.h"

int
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
