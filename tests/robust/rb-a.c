/* rb-a.c - a library that allocates, loaded and unloaded by `rb dl`. */
#include <stdlib.h>

void
rb_liba_make (void **out, int n)
{
  for (int i = 0; i < n; i++)
    out[i] = malloc (72);
}
