/* fixture-graph.c - a heap whose graph is known, one case per memcheck leak class.
 *
 *   g_list      a list of 5 nodes of 32 B under a global, tagged "Node" (2 of them at
 *               snapshot "before", 5 at "after")             still reachable 160 B in 5
 *   cycle       2 blocks of 48 B pointing at each other, nothing else at them
 *                                       definitely lost 48 B in 1, indirectly 48 B in 1
 *   lost tree   a 64 B root, two 40 B children, a 24 B grandchild
 *                                      definitely lost 64 B in 1, indirectly 104 B in 3
 *   interior    g_interior points 32 bytes into a 200 B block  possibly lost 200 B in 1
 *   plain       100 B, the pointer dropped                     definitely lost 100 B in 1
 *
 * Totals at exit: definitely lost 212 B in 3 blocks, indirectly lost 152 B in 4, possibly
 * lost 200 B in 1, still reachable 160 B in 5.  No stdio (its buffer would be one more
 * block, which valgrind frees at exit and we do not); writes with write(2).  Every block
 * is made in a function of its own and the stack is scrubbed before main returns, so no
 * stale copy of a lost pointer is left where a scan would see it.
 *
 * With the argument "evil", one more block (16 B, held by g_evil) is tagged with a type
 * name made of what labels must escape: quotes, braces, angle brackets, a newline, HTML,
 * an entity and Graphviz's own escape \N.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heaptrail.h"

struct node
{
  struct node *next;
  char payload[24];
};

struct node *g_list;
char *g_interior;
char *g_evil;

#define EVIL_TYPE "a\"b{c}<d>\n<b>x</b>&amp;\\N"


__attribute__ ((noinline)) static void
push_node (void)
{
  struct node *n = calloc (1, sizeof *n);
  heaptrail_tag (n, "Node");
  n->next = g_list;
  g_list = n;
}

__attribute__ ((noinline)) static void
make_cycle (void)
{
  void **a = calloc (1, 48), **b = calloc (1, 48);
  a[0] = b;
  b[0] = a;
}

__attribute__ ((noinline)) static void
make_lost_tree (void)
{
  void **root = calloc (1, 64), **left = calloc (1, 40), **right = calloc (1, 40);
  root[0] = left;
  root[1] = right;
  left[2] = calloc (1, 24);
}

__attribute__ ((noinline)) static void
make_interior (void)
{
  char *p = calloc (1, 200);
  g_interior = p + 32;
}

__attribute__ ((noinline)) static void
make_plain_leak (void)
{
  volatile char *p = malloc (100);
  memset ((char *) p, 0, 100);
}

__attribute__ ((noinline)) static void
scrub_stack (void)
{
  volatile char junk[32768];
  memset ((char *) junk, 0, sizeof junk);
}

int
main (int argc, char **argv)
{
  if (argc > 1 && strcmp (argv[1], "evil") == 0)
    {
      g_evil = calloc (1, 16);
      heaptrail_tag (g_evil, EVIL_TYPE);
    }
  push_node ();
  push_node ();
  heaptrail_snapshot ("before");
  for (int i = 0; i < 3; i++)
    push_node ();
  make_cycle ();
  make_lost_tree ();
  make_interior ();
  make_plain_leak ();
  scrub_stack ();
  heaptrail_snapshot ("after");
  scrub_stack ();
  if (write (1, "done\n", 5) != 5)
    return 1;
  return 0;
}
