/* fixture-threads.c - threads hand blocks to each other.
 *
 * Producers allocate blocks and push them through a small ring buffer; consumers on other
 * threads free them.  An address freed by a consumer is soon handed out again by malloc to
 * a producer, so if the recorder's streams were merged out of order the analyzer would see
 * an allocation of a live address or a free of an unknown one.  The run must show every
 * block allocated once and freed once: nothing lost, nothing counted twice.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define PRODUCERS 4
#define CONSUMERS 4
#define PER_PRODUCER 50000
#define RING 64

static void *ring[RING];
static unsigned head, tail;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static int line_alloc;

static void
push (void *p)
{
  pthread_mutex_lock (&lock);
  while (head - tail == RING)
    pthread_cond_wait (&not_full, &lock);
  ring[head++ % RING] = p;
  pthread_cond_signal (&not_empty);
  pthread_mutex_unlock (&lock);
}

static void *
pop (void)
{
  pthread_mutex_lock (&lock);
  while (head == tail)
    pthread_cond_wait (&not_empty, &lock);
  void *p = ring[tail++ % RING];
  pthread_cond_signal (&not_full);
  pthread_mutex_unlock (&lock);
  return p;
}

static void *
producer (void *arg)
{
  unsigned seed = (unsigned) (size_t) arg;
  for (int i = 0; i < PER_PRODUCER; i++)
    {
      // clang-format off
      void *p = malloc (16 + rand_r (&seed) % 200); line_alloc = __LINE__;
      // clang-format on
      push (p);
    }
  return NULL;
}

static void *
consumer (void *arg)
{
  long n = (long) (size_t) arg;
  for (long i = 0; i < n; i++)
    free (pop ());
  return NULL;
}

int
main (void)
{
  pthread_t p[PRODUCERS], c[CONSUMERS];
  for (int i = 0; i < CONSUMERS; i++)
    pthread_create (&c[i], NULL, consumer, (void *) (size_t) (PRODUCERS * PER_PRODUCER / CONSUMERS));
  for (int i = 0; i < PRODUCERS; i++)
    pthread_create (&p[i], NULL, producer, (void *) (size_t) (i + 1));
  for (int i = 0; i < PRODUCERS; i++)
    pthread_join (p[i], NULL);
  for (int i = 0; i < CONSUMERS; i++)
    pthread_join (c[i], NULL);
  printf ("{\"file\": \"%s\", \"line\": %d, \"blocks\": %d}\n", __FILE__, line_alloc,
          PRODUCERS * PER_PRODUCER);
  return 0;
}
