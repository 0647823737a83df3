/* fixture-sampling.c - allocation sites of known sizes and counts, on two threads, for
 * record --sample: each site allocates one size only, so the expected variance of its
 * estimate follows from its count and size (tests/e2e/e2e.py, case_sampling); and a few
 * requests that fail. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define KEEP 20000
static void *kept[KEEP];

__attribute__ ((noinline)) static void *
site_small (void)
{
  return malloc (48);
}

__attribute__ ((noinline)) static void *
site_medium (void)
{
  return malloc (700);
}

__attribute__ ((noinline)) static void *
site_large (void)
{
  return calloc (1, 9000);
}

__attribute__ ((noinline)) static void *
site_huge (void)
{
  return malloc (1 << 20);
}

__attribute__ ((noinline)) static void *
site_kept (void)
{
  return malloc (4000);
}

static void *
work (void *arg)
{
  int half = (int) (long) arg;
  for (int i = 0; i < 1000000; i++)
    {
      void *p = site_small ();
      *(volatile char *) p = 1;
      free (p);
      if (i % 10 == 0)
        free (site_medium ());
      if (i % 100 == 0)
        free (site_large ());
      if (i % 10000 == 0)
        {
          char *h = site_huge ();
          h[0] = 1;
          free (h);
        }
      if (i % 100 == 0 && i / 100 < KEEP / 2)
        kept[half * (KEEP / 2) + i / 100] = site_kept ();
    }
  return NULL;
}

/* Requests the allocator refuses: no recording counts them, although --sample counts an
 * allocation before its call (ht-rec-hooks.c). */
static void
refused (void)
{
  volatile size_t huge = (size_t) 1 << 62;
  void *p = malloc (huge);
  if (!p)
    p = calloc (1, huge);
  if (!p)
    p = realloc (NULL, huge);
  free (p);
}

int
main (void)
{
  refused ();
  pthread_t t;
  pthread_create (&t, NULL, work, (void *) 1L);
  work (0);
  pthread_join (t, NULL);
  return kept[0] == NULL;
}
