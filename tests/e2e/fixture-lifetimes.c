/* fixture-lifetimes.c - blocks with known lifetimes: 10 freed at once, 5 after 50 ms.
 * Prints their lines as JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *volatile sink;

int
main (void)
{
  void *later[5];
  // clang-format off
  for (int i = 0; i < 10; i++) { sink = malloc (64); free (sink); } const int quick = __LINE__;
  for (int i = 0; i < 5; i++) later[i] = malloc (128); const int slow = __LINE__;
  // clang-format on
  usleep (50000);
  for (int i = 0; i < 5; i++)
    free (later[i]);
  printf ("{\"quick\": %d, \"slow\": %d}\n", quick, slow);
  return 0;
}
