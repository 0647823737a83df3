/* fixture-stack.c - blocks whose only pointers were left in stack frames that have
 * returned: memcheck calls them definitely lost, and so must a scan at exit.  Built at -O0,
 * -O1 and -O2 (a stale copy of a pointer lands elsewhere at each).
 *
 *   a returned local          only a local of a function that returned pointed to it
 *   a deep call chain         allocated 200 calls down, the pointer dropped on the way up
 *   a large returned frame    a 1 MiB local array held the only copy
 *   a reachable block         kept in a global, for contrast
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *kept;

__attribute__ ((noinline)) static void
returned_local (void)
{
  void *volatile p = malloc (111);
  (void) p;
}

__attribute__ ((noinline)) static int
deep (int n)
{
  if (n == 0)
    {
      void *volatile p = malloc (222);
      return p != NULL;
    }
  return deep (n - 1) + 1;
}

__attribute__ ((noinline)) static void
large_frame (void)
{
  volatile char frame[1 << 20];
  void *p = malloc (333);
  memcpy ((char *) frame + 4096, &p, sizeof p);
  frame[0] = 1;
}

/* writes over the part of the stack the calls above used, as the fixture does */
__attribute__ ((noinline)) static void
scrub (void)
{
  volatile char area[8192];
  memset ((char *) area, 0, sizeof area);
}

int
main (void)
{
  kept = malloc (444);
  returned_local ();
  deep (200);
  large_frame ();
  scrub ();
  printf ("built the cases\n");
  return 0;
}
