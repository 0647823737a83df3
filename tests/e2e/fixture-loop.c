/* fixture-loop.c - a program that runs for SECONDS allocating in a loop, for heaptrail
 * attach: each round allocates one 48-byte block at site_a and two 100-byte blocks at
 * site_b, frees them, and sleeps 1 ms.  A 4096-byte block allocated at the start is freed
 * when the file GO_FILE appears (a free of a block from before an attach).  Prints
 * "rounds N" and exits with status 7. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

__attribute__ ((noinline)) static void *
site_a (void)
{
  return malloc (48);
}

__attribute__ ((noinline)) static void *
site_b (void)
{
  return malloc (100);
}

int
main (int argc, char **argv)
{
  double seconds = argc > 1 ? atof (argv[1]) : 3;
  const char *go = argc > 2 ? argv[2] : NULL;
  void *before = malloc (4096);
  struct timespec t0, t;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  long rounds = 0;
  for (;;)
    {
      clock_gettime (CLOCK_MONOTONIC, &t);
      if ((double) (t.tv_sec - t0.tv_sec) + (double) (t.tv_nsec - t0.tv_nsec) / 1e9 > seconds)
        break;
      if (before && go && access (go, F_OK) == 0)
        {
          free (before);
          before = NULL;
        }
      void *a = site_a (), *b1 = site_b (), *b2 = site_b ();
      free (a);
      free (b1);
      free (b2);
      rounds++;
      struct timespec ts = { 0, 1000000 };
      nanosleep (&ts, NULL);
    }
  printf ("rounds %ld\n", rounds);
  return 7;
}
