/* rss-run.c - runs a command and prints its peak RSS and exit status, measured so that the
 * harness's own memory is not counted.
 *
 *   rss-run FD [-m BYTES] COMMAND [ARGS...]   writes "MAXRSS_KIB STATUS" to descriptor FD
 *
 * A child's ru_maxrss starts from the address space it had before exec: a child of a
 * 100 MB Python harness reports at least 100 MB, whether forked or vforked.  This launcher
 * is small; its child's figure is the command's own (plus this launcher's ~1 MB at most).
 * -m caps the command's address space (RLIMIT_AS), for analyzers that may run out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
  int first = 2;
  unsigned long long cap = 0;
  if (argc > 3 && strcmp (argv[2], "-m") == 0)
    {
      cap = strtoull (argv[3], NULL, 10);
      first = 4;
    }
  if (first >= argc)
    {
      fprintf (stderr, "usage: rss-run FD [-m BYTES] COMMAND [ARGS...]\n");
      return 2;
    }
  int report = atoi (argv[1]);
  pid_t pid = fork ();
  if (pid < 0)
    return 2;
  if (pid == 0)
    {
      close (report);
      if (cap)
        {
          struct rlimit rl = { cap, cap };
          setrlimit (RLIMIT_AS, &rl);
        }
      execvp (argv[first], argv + first);
      _exit (127);
    }
  int status;
  struct rusage ru;
  if (wait4 (pid, &status, 0, &ru) < 0)
    return 2;
  int code = WIFEXITED (status) ? WEXITSTATUS (status) : -WTERMSIG (status);
  dprintf (report, "%ld %d\n", ru.ru_maxrss, code);
  return 0;
}
