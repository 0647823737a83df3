/* fixture-growth.c - live blocks per type, known exactly: tagged types and the function
 * that allocated untagged blocks.  Prints nothing; the test knows the numbers:
 *   s0 -> s1: Node 5 (+5), make_buffer 3 (+3)
 *   s1 -> s2: Edge 4 (+4), Node 3 (-2), make_buffer 3 (+0)
 */
#include <heaptrail.h>
#include <stdlib.h>

static void *nodes[5], *edges[4], *buffers[3];

__attribute__ ((noinline)) static void *
make_buffer (void)
{
  return malloc (1000);
}

int
main (void)
{
  heaptrail_snapshot ("s0");
  for (int i = 0; i < 5; i++)
    {
      nodes[i] = malloc (48);
      heaptrail_tag (nodes[i], "Node");
    }
  for (int i = 0; i < 3; i++)
    buffers[i] = make_buffer ();
  heaptrail_snapshot ("s1");
  free (nodes[0]);
  free (nodes[1]);
  for (int i = 0; i < 4; i++)
    {
      edges[i] = malloc (24);
      heaptrail_tag (edges[i], "Edge");
    }
  heaptrail_snapshot ("s2");
  return 0;
}
