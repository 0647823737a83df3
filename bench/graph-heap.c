/* graph-heap.c - a heap of a given size for measuring the --graph scan.
 *
 *   graph-heap MB
 *
 * Builds MB MiB of 64-byte nodes, each pointing at two earlier nodes (one near, one
 * anywhere), all listed in one table block a global holds; then takes snapshot "scan" and
 * frees everything.  bench/graph reads the scan's time from the recording.
 */
#include <stdlib.h>

#include "heaptrail.h"

struct node
{
  struct node *near, *far;
  char payload[48];
};

struct node **g_table;

int
main (int argc, char **argv)
{
  size_t mb = argc > 1 ? strtoul (argv[1], NULL, 10) : 16;
  size_t n = mb * 1024 * 1024 / (sizeof (struct node) + sizeof (struct node *));
  g_table = malloc (n * sizeof *g_table);
  unsigned seed = 1;
  for (size_t i = 0; i < n; i++)
    {
      struct node *x = malloc (sizeof *x);
      x->near = i ? g_table[i - 1] : NULL;
      x->far = i ? g_table[rand_r (&seed) % i] : NULL;
      g_table[i] = x;
    }
  heaptrail_snapshot ("scan");
  for (size_t i = 0; i < n; i++)
    free (g_table[i]);
  free (g_table);
  return 0;
}
