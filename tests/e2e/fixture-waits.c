/* fixture-waits.c [SECONDS] - allocates 50 blocks, says its pid, sleeps (1 s by default),
 * allocates 50 more.
 *
 * The test asks for a snapshot while it sleeps (heaptrail snapshot PID, or kill -USR2) and
 * expects 50 blocks in it.  The program reports whether its sleep was cut short. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *keep[100];

int
main (int argc, char **argv)
{
  unsigned seconds = argc > 1 ? (unsigned) atoi (argv[1]) : 1;
  // clang-format off
  for (int i = 0; i < 50; i++) keep[i] = malloc (1000); const int l1 = __LINE__;
  // clang-format on
  printf ("%d\n", (int) getpid ());
  fflush (stdout);
  unsigned left = sleep (seconds);
  for (int i = 50; i < 100; i++)
    keep[i] = malloc (1000);
  printf ("{\"line\": %d, \"slept_full\": %d}\n", l1, left == 0);
  return 0;
}
