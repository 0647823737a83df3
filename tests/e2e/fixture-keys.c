/* fixture-keys.c - a program with 40 thread-specific keys that keeps its only pointer to a
 * block under the last one.  glibc keeps keys past the 32nd in a second-level array it
 * allocates on the first pthread_setspecific: that array is the program's (valgrind counts
 * it), and it makes the block still reachable. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_key_t keys[40];

int
main (void)
{
  for (int i = 0; i < 40; i++)
    pthread_key_create (&keys[i], NULL);
  void *block = malloc (123);
  pthread_setspecific (keys[39], block);
  block = NULL;
  printf ("stored under key 40\n");
  return 0;
}
