/* fixture-unwind.c - call shapes for the recorder's stack cache (ht-rec-unwind.c), built
 * at -O0, -O1 and -O2: recursion of random depth through two call sites and two mutually
 * recursive functions, frames whose size changes (alloca), callbacks from libc (qsort),
 * longjmp out of a deep recursion, and four threads doing all of it at once.  Each block
 * is freed at a random later time, with hundreds in flight. */
#include <alloca.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#define IN_FLIGHT 512

typedef struct
{
  unsigned seed;
  void *live[IN_FLIGHT];
  jmp_buf escape;
} Work;

static void *odd (Work *w, int depth);

__attribute__ ((noinline)) static void
keep (Work *w, void *p)
{
  int k = (int) (rand_r (&w->seed) % IN_FLIGHT);
  free (w->live[k]);
  w->live[k] = p;
}

__attribute__ ((noinline)) static void *
even (Work *w, int depth)
{
  if (depth <= 0)
    return malloc (16 + rand_r (&w->seed) % 200);
  void *p = (rand_r (&w->seed) & 1) ? odd (w, depth - 1) : even (w, depth - 1);
  __asm__ volatile ("" ::: "memory");
  return p;
}

__attribute__ ((noinline)) static void *
odd (Work *w, int depth)
{
  if (depth <= 0)
    return calloc (1, 24);
  void *p = even (w, depth - 1);
  __asm__ volatile ("" ::: "memory");
  return p;
}

/* A frame whose size changes from call to call. */
__attribute__ ((noinline)) static void *
varying (Work *w, int depth)
{
  size_t n = 16 + (rand_r (&w->seed) % 64) * 16;
  char *scratch = alloca (n);
  memset (scratch, depth, n);
  void *p = depth > 0 ? varying (w, depth - 1) : malloc (32 + (size_t) scratch[0]);
  __asm__ volatile ("" ::: "memory");
  return p;
}

static Work *qsort_work;
static __thread Work *tls_work;

static int
compare (const void *a, const void *b)
{
  keep (tls_work, malloc (8)); /* allocates inside libc's qsort */
  return *(const int *) a - *(const int *) b;
}

__attribute__ ((noinline)) static void
deep_then_jump (Work *w, int depth)
{
  if (depth < 0)
    return;
  if (depth == 0)
    {
      keep (w, malloc (48));
      longjmp (w->escape, 1);
    }
  deep_then_jump (w, depth - 1);
  __asm__ volatile ("" ::: "memory");
}

static void *
run (void *arg)
{
  Work *w = arg;
  tls_work = w;
  for (int i = 0; i < 20000; i++)
    {
      switch (rand_r (&w->seed) % 5)
        {
        case 0:
        case 1:
          keep (w, even (w, (int) (rand_r (&w->seed) % 40)));
          break;
        case 2:
          keep (w, varying (w, (int) (rand_r (&w->seed) % 6)));
          break;
        case 3:
          {
            int v[8];
            for (int k = 0; k < 8; k++)
              v[k] = (int) rand_r (&w->seed);
            qsort (v, 8, sizeof v[0], compare);
          }
          break;
        default:
          if (setjmp (w->escape) == 0)
            deep_then_jump (w, (int) (rand_r (&w->seed) % 30));
          keep (w, malloc (64)); /* right after the jump: stale frames below */
          break;
        }
    }
  for (int k = 0; k < IN_FLIGHT; k++)
    free (w->live[k]);
  return NULL;
}

int
main (void)
{
  static Work work[4];
  pthread_t t[3];
  for (int i = 0; i < 4; i++)
    work[i].seed = (unsigned) i + 1;
  qsort_work = &work[0];
  for (int i = 0; i < 3; i++)
    pthread_create (&t[i], NULL, run, &work[i + 1]);
  run (&work[0]);
  for (int i = 0; i < 3; i++)
    pthread_join (t[i], NULL);
  return 0;
}
