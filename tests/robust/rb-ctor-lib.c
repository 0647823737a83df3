/* rb-ctor-lib.c - a library whose constructor allocates, before the program's main and
 * possibly before the recorder's own constructor. */
#include <stdlib.h>

void *rb_ctor_block;
int rb_ctor_line;

__attribute__ ((constructor (101))) static void
early (void)
{
  // clang-format off
  rb_ctor_block = malloc (4242); rb_ctor_line = __LINE__;
  // clang-format on
}
