/* fixture-quiet.c - threads blocked in nanosleep, poll and read while main takes a heap
 * snapshot (record --graph stops every thread for the scan): none of those calls may
 * notice.  Each thread holds a block only in a local.  Prints, as JSON, what each call
 * returned: 0, or the errno it failed with (4 is EINTR).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "heaptrail.h"

static int to_reader[2], to_poller[2];
static int sleep_result = -1, poll_result = -1, read_result = -1;

static void *
sleeper (void *arg)
{
  (void) arg;
  char *volatile mine = malloc (2001);
  struct timespec ts = { 0, 400 * 1000 * 1000 }, left;
  sleep_result = nanosleep (&ts, &left) == 0 ? 0 : errno;
  free (mine);
  return NULL;
}

static void *
poller (void *arg)
{
  (void) arg;
  char *volatile mine = malloc (2002);
  struct pollfd p = { to_poller[0], POLLIN, 0 };
  int r = poll (&p, 1, 400); /* nothing comes: a timeout is the right answer */
  poll_result = r == 0 ? 0 : r < 0 ? errno : -2;
  free (mine);
  return NULL;
}

static void *
reader (void *arg)
{
  (void) arg;
  char *volatile mine = malloc (2003);
  char buf[4];
  ssize_t n = read (to_reader[0], buf, sizeof buf);
  read_result = n == 4 ? 0 : n < 0 ? errno : -2;
  free (mine);
  return NULL;
}

int
main (void)
{
  if (pipe (to_reader) != 0 || pipe (to_poller) != 0)
    return 1;
  pthread_t t[3];
  pthread_create (&t[0], NULL, sleeper, NULL);
  pthread_create (&t[1], NULL, poller, NULL);
  pthread_create (&t[2], NULL, reader, NULL);
  struct timespec settle = { 0, 100 * 1000 * 1000 };
  nanosleep (&settle, NULL); /* every thread is blocked in its call by now */
  heaptrail_snapshot ("blocked");
  nanosleep (&settle, NULL);
  if (write (to_reader[1], "ping", 4) != 4)
    return 1;
  for (int i = 0; i < 3; i++)
    pthread_join (t[i], NULL);
  printf ("{\"nanosleep\": %d, \"poll\": %d, \"read\": %d}\n", sleep_result, poll_result,
          read_result);
  return 0;
}
