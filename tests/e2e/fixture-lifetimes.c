/* fixture-lifetimes.c - blocks with known lifetimes: 10 freed at once, 5 after 50 ms.
 * Prints their lines as JSON.  A burst of 4,000 pairs comes first, so that the thread is
 * alone and busy when it makes them (the recorder then reads the clock only now and then:
 * the 50 ms must still show). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *volatile sink;

int
main (void)
{
  void *later[5];
  for (int i = 0; i < 4000; i++)
    {
      sink = malloc (32);
      free (sink);
    }
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
