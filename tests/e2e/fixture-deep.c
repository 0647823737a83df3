/* fixture-deep.c - stacks deeper than the recorder's frame limit, through recursion.
 *
 * Three blocks come from 100 levels of recursion, one from 3 levels.  The program prints
 * the line of the malloc as JSON.
 */
#include <stdio.h>
#include <stdlib.h>

static void *keep[8];
static int line_malloc;

__attribute__ ((noinline)) static void *
descend (int n)
{
  if (n == 0)
    {
      // clang-format off
      line_malloc = __LINE__; return malloc (10);
      // clang-format on
    }
  void *p = descend (n - 1);
  __asm__ volatile ("" ::: "memory"); /* no tail call */
  return p;
}

int
main (void)
{
  for (int i = 0; i < 3; i++)
    keep[i] = descend (100);
  keep[3] = descend (3);
  printf ("{\"line\": %d, \"deep\": 3, \"shallow\": 1}\n", line_malloc);
  return 0;
}
