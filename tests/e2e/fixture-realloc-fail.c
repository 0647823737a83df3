/* fixture-realloc-fail.c - reallocs that fail, under record --graph.  The recorder writes a
 * realloc's FREE before calling the real one and an UNFREE when it fails; its live-block
 * table replays both later, on the writer's thread, and the SYNC marks it meets between
 * them let it forget freed blocks.  Whatever falls between, the block a failed realloc
 * keeps is live with its size: each of 64 holders keeps the only pointer to a block of its
 * own, and every holder's realloc to an impossible size fails, again and again, for
 * 0.3 s.  Then both blocks of each pair are still reachable, as memcheck says. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define PAIRS 64

static void *holders[PAIRS];

static double
now (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

int
main (void)
{
  for (int i = 0; i < PAIRS; i++)
    {
      holders[i] = malloc (64);
      ((void **) holders[i])[3] = malloc (100 + (size_t) i);
    }
  volatile size_t impossible = SIZE_MAX - 4096;
  double start = now ();
  long rounds = 0;
  do
    {
      for (int i = 0; i < PAIRS; i++)
        if (realloc (holders[i], impossible) != NULL)
          abort ();
      rounds++;
    }
  while (now () - start < 0.3);
  printf ("%s\n", rounds > 0 ? "reallocs failed" : "no round");
  return 0;
}
