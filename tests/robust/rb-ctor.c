/* rb-ctor.c - reports where its library's constructor allocated (see rb-ctor-lib.c). */
#include <stdio.h>

extern void *rb_ctor_block;
extern int rb_ctor_line, rb_ctor_temp_line;

int
main (void)
{
  printf ("{\"line\": %d, \"size\": 4242, \"temp_line\": %d, \"temp_count\": 100, \"ok\": %d}\n",
          rb_ctor_line, rb_ctor_temp_line, rb_ctor_block != NULL);
  return 0;
}
