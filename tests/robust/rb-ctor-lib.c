/* rb-ctor-lib.c - a library whose constructor allocates, before the program's main and
 * possibly before the recorder's own constructor; and whose destructor frees what its
 * constructor allocated, after the program's exit and possibly after the recorder's own
 * destructor.  Both are recorded, or the blocks look leaked. */
#include <stdlib.h>

void *rb_ctor_block;
int rb_ctor_line;
int rb_ctor_temp_line;
static void *temp[100];

__attribute__ ((constructor (101))) static void
early (void)
{
  // clang-format off
  rb_ctor_block = malloc (4242); rb_ctor_line = __LINE__;
  for (int i = 0; i < 100; i++) temp[i] = malloc (100 + i); rb_ctor_temp_line = __LINE__;
  // clang-format on
}

__attribute__ ((destructor)) static void
late (void)
{
  for (int i = 0; i < 100; i++)
    free (temp[i]);
}
