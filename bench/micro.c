/* micro.c - the malloc-heavy micro benchmark of bench/run.
 *
 *   micro PAIRS THREADS [IN_FLIGHT]
 *
 * Each thread makes PAIRS/THREADS malloc/free pairs from 6 call sites reached through
 * call chains of depth 1 to 12, with sizes from 8 B to 64 KiB, keeping a window of live
 * blocks so frees do not immediately follow their allocation.  With the default window
 * (64) each free is of the block allocated 64 allocations before; with IN_FLIGHT blocks
 * (up to 4096) each new block replaces one picked at random, as a real heap's lifetimes
 * are mixed.  Built -O2 -g without frame pointers, like the programs users profile.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define WINDOW 64
#define MAX_IN_FLIGHT 4096

typedef struct
{
  long pairs;
  unsigned seed;
  int in_flight;
} Work;

static void *window_[64][MAX_IN_FLIGHT];

__attribute__ ((noinline)) static void *
site (int which, size_t size)
{
  switch (which)
    {
    case 0: return malloc (size);
    case 1: return malloc (size + 1);
    case 2: return calloc (1, size);
    case 3: return malloc (size * 2 > 65536 ? 65536 : size * 2);
    case 4: return malloc (8);
    default: return malloc (size | 16);
    }
}

__attribute__ ((noinline)) static void *
descend (int depth, int which, size_t size)
{
  if (depth <= 1)
    return site (which, size);
  void *p = descend (depth - 1, which, size);
  __asm__ volatile ("" ::: "memory"); /* keep the frame: no tail call */
  return p;
}

static void *
run (void *arg)
{
  Work *w = arg;
  static int next_slot;
  int slot = __atomic_fetch_add (&next_slot, 1, __ATOMIC_RELAXED);
  void **win = window_[slot];
  unsigned seed = w->seed;
  for (long i = 0; i < w->pairs; i++)
    {
      unsigned r = rand_r (&seed);
      size_t size = (size_t) 8 << (r % 14); /* 8 B .. 64 KiB */
      if (size > 65536)
        size = 65536;
      void *p = descend (1 + (int) ((r >> 8) % 12), (int) ((r >> 4) % 6), size);
      int k = w->in_flight == WINDOW ? (int) (i % WINDOW) : (int) (rand_r (&seed) % w->in_flight);
      free (win[k]);
      win[k] = p;
    }
  for (int k = 0; k < w->in_flight; k++)
    free (win[k]);
  return NULL;
}

int
main (int argc, char **argv)
{
  long pairs = argc > 1 ? atol (argv[1]) : 10000000;
  int threads = argc > 2 ? atoi (argv[2]) : 1;
  int in_flight = argc > 3 ? atoi (argv[3]) : WINDOW;
  if (threads < 1 || threads > 64)
    threads = 1;
  if (in_flight < 1 || in_flight > MAX_IN_FLIGHT)
    in_flight = WINDOW;
  pthread_t t[64];
  Work w[64];
  for (int i = 0; i < threads; i++)
    {
      w[i] = (Work){ pairs / threads, (unsigned) i + 1, in_flight };
      pthread_create (&t[i], NULL, run, &w[i]);
    }
  for (int i = 0; i < threads; i++)
    pthread_join (t[i], NULL);
  printf ("%ld pairs on %d threads\n", pairs, threads);
  return 0;
}
