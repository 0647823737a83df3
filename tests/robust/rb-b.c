/* rb-b.c - a second library that allocates, loaded by `rb dl` after rb-a is unloaded, most
 * likely at the same address: its frames must not be taken for rb-a's. */
#include <stdlib.h>

void
rb_libb_make (void **out, int n)
{
  for (int i = 0; i < n; i++)
    out[i] = malloc (88);
}
