/* fixture-graph-threads.c - worker threads hold blocks only on their stacks at a snapshot.
 *
 * 3 workers each allocate 1000 + i bytes (i = 0, 1, 2) and keep the pointer in a local
 * variable; when all are waiting, main takes snapshot "workers".  In its heap graph those
 * blocks are reachable, from the stacks of the workers.  Then the workers free them and
 * exit; at exit nothing is left.  Prints the workers' thread ids, one per line.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heaptrail.h"

#define WORKERS 3

static pthread_barrier_t ready;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER;
static int released;
static pid_t tids[WORKERS];

static void *
worker (void *arg)
{
  int i = (int) (long) arg;
  char *volatile mine = malloc (1000 + (size_t) i);
  memset (mine, i, 1000 + (size_t) i);
  tids[i] = gettid ();
  pthread_barrier_wait (&ready);
  pthread_mutex_lock (&lock);
  while (!released)
    pthread_cond_wait (&go, &lock);
  pthread_mutex_unlock (&lock);
  free (mine);
  return NULL;
}

int
main (void)
{
  pthread_t t[WORKERS];
  pthread_barrier_init (&ready, NULL, WORKERS + 1);
  for (long i = 0; i < WORKERS; i++)
    pthread_create (&t[i], NULL, worker, (void *) i);
  pthread_barrier_wait (&ready);
  heaptrail_snapshot ("workers");
  pthread_mutex_lock (&lock);
  released = 1;
  pthread_cond_broadcast (&go);
  pthread_mutex_unlock (&lock);
  for (int i = 0; i < WORKERS; i++)
    pthread_join (t[i], NULL);
  for (int i = 0; i < WORKERS; i++)
    printf ("%d\n", (int) tids[i]);
  return 0;
}
