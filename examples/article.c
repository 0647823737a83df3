/* article.c - the two scenarios of the article heaptrail started from, in C.
 *
 * 1. tracemalloc's: a million small "dicts" and a million "tuples" are built into two
 *    lists, then released.  The peak is large, what remains at the end is small.
 *       d = [dict(zip('xy', (0, 1))) for i in range(1000000)]
 *       t = [tuple(zip('xy', (0, 1))) for i in range(1000000)]
 * 2. objgraph's: an object appended to a global list is never removed, so it stays alive.
 *       seq.append(Test()); return; seq.remove(o)
 *
 * It uses heaptrail.h as the article uses its decorators: snapshots around each scenario,
 * and type tags (dict, tuple, list, Test) so `heaptrail growth` reads like show_growth().
 *
 *   heaptrail record -- ./article && heaptrail top heaptrail.article.*.htr
 *
 * `article DICTS TUPLES` builds other numbers of each (a million by default): two runs
 * with different numbers make a pair to compare (heaptrail diff, heaptrail-gui --compare).
 */
#include <heaptrail.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 1000000

static size_t n_dicts = N, n_tuples = N;

/* dict(zip('xy', (0, 1))): two keys, two values */
typedef struct
{
  char keys[2][8];
  long values[2];
  long hash;
} Dict;

/* tuple(zip('xy', (0, 1))): a tuple of two (key, value) pairs */
typedef struct
{
  char key;
  long value;
} Pair;

typedef struct
{
  size_t n;
  Pair *items[2];
} Tuple;

static Dict *
dict_new (void)
{
  Dict *d = malloc (sizeof *d);
  heaptrail_tag (d, "dict");
  strcpy (d->keys[0], "x");
  strcpy (d->keys[1], "y");
  d->values[0] = 0;
  d->values[1] = 1;
  d->hash = 0;
  return d;
}

static Pair *
pair_new (char key, long value)
{
  Pair *p = malloc (sizeof *p);
  heaptrail_tag (p, "tuple");
  p->key = key;
  p->value = value;
  return p;
}

static Tuple *
tuple_new (void)
{
  Tuple *t = malloc (sizeof *t);
  heaptrail_tag (t, "tuple");
  t->n = 2;
  t->items[0] = pair_new ('x', 0);
  t->items[1] = pair_new ('y', 1);
  return t;
}

static void
tracemalloc_scenario (void)
{
  Dict **d = malloc (n_dicts * sizeof *d);
  heaptrail_tag (d, "list");
  for (size_t i = 0; i < n_dicts; i++)
    d[i] = dict_new ();
  Tuple **t = malloc (n_tuples * sizeof *t);
  heaptrail_tag (t, "list");
  for (size_t i = 0; i < n_tuples; i++)
    t[i] = tuple_new ();

  for (size_t i = 0; i < n_tuples || i < n_dicts; i++)
    {
      if (i < n_tuples)
        {
          free (t[i]->items[0]);
          free (t[i]->items[1]);
          free (t[i]);
        }
      if (i < n_dicts)
        free (d[i]);
    }
  free (t);
  free (d);
}

/* objgraph's scenario: a global list keeps a Test alive */
typedef struct
{
  int id;
} Test;

static struct
{
  void **items;
  size_t len, cap;
} seq;

static void
list_append (void *item)
{
  if (seq.len == seq.cap)
    {
      seq.cap = seq.cap ? seq.cap * 2 : 8;
      seq.items = realloc (seq.items, seq.cap * sizeof *seq.items);
      heaptrail_tag (seq.items, "list");
    }
  seq.items[seq.len++] = item;
}

static void
objgraph_scenario (void)
{
  Test *o = malloc (sizeof *o);
  heaptrail_tag (o, "Test");
  o->id = 1;
  list_append (o);
  return;
}

int
main (int argc, char **argv)
{
  if (argc > 1)
    n_dicts = strtoul (argv[1], NULL, 10);
  if (argc > 2)
    n_tuples = strtoul (argv[2], NULL, 10);
  HEAPTRAIL_SCOPE ("tracemalloc") /* snapshots tracemalloc:before and tracemalloc:after */
  {
    tracemalloc_scenario ();
  }
  HEAPTRAIL_SCOPE ("objgraph")
  {
    objgraph_scenario ();
  }
  printf ("article: built and released %zu dicts and %zu tuples; %zu Test kept by seq\n", n_dicts,
          n_tuples, seq.len);
  return 0;
}
