/* fixture-leaks.c - blocks left at exit on purpose, and what suppressions hide.
 *
 * leak_plain leaks 3 x 100 B; cache_keep keeps 1 x 500 B (a user suppression names it);
 * tidy frees what it allocates; printf leaves stdio's buffer, which heaptrail's built-in
 * list suppresses.  The program prints the lines as JSON.
 */
#include <stdio.h>
#include <stdlib.h>

static void *held[8];
static int line_plain, line_cache;

__attribute__ ((noinline)) static void
leak_plain (void)
{
  // clang-format off
  for (int i = 0; i < 3; i++) held[i] = malloc (100); line_plain = __LINE__;
  // clang-format on
}

__attribute__ ((noinline)) static void
cache_keep (void)
{
  // clang-format off
  held[3] = malloc (500); line_cache = __LINE__;
  // clang-format on
}

__attribute__ ((noinline)) static void
tidy (void)
{
  void *p = malloc (1000);
  held[4] = p;
  free (p);
}

int
main (void)
{
  leak_plain ();
  cache_keep ();
  tidy ();
  printf ("{\"plain\": %d, \"cache\": %d}\n", line_plain, line_cache);
  return 0;
}
