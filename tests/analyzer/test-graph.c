/* test-graph.c - leak classes and dominators on small graphs whose answers are known. */
#include "ht-graph.h"

typedef struct
{
  guint src, dst;
  guint64 offset;
} Edge;

typedef struct
{
  guint n;
  guint8 reach[16];
  gint64 idom[16];
  guint64 retained[16];
} Result;

/* Blocks 0..n-1 of size 16 << i (so every retained sum is unique), `roots` as (target,
 * offset) pairs. */
static Result
run (guint n, const Edge *edges, guint nedges, const Edge *roots, guint nroots)
{
  guint64 size[16];
  guint start[17] = { 0 }, target[64];
  guint64 offset[64], root_offset[16];
  guint root_target[16];
  for (guint i = 0; i < n; i++)
    size[i] = (guint64) 16 << i;
  guint k = 0;
  for (guint s = 0; s < n; s++)
    {
      start[s] = k;
      for (guint e = 0; e < nedges; e++)
        if (edges[e].src == s)
          {
            target[k] = edges[e].dst;
            offset[k++] = edges[e].offset;
          }
    }
  start[n] = k;
  for (guint r = 0; r < nroots; r++)
    {
      root_target[r] = roots[r].dst;
      root_offset[r] = roots[r].offset;
    }
  HtGraph g = { n, size, start, target, offset, nroots, root_target, root_offset };
  Result res = { .n = n };
  ht_graph_classify (&g, res.reach);
  ht_graph_dominators (&g, res.reach, res.idom, res.retained);
  return res;
}

#define R HT_REACH_REACHABLE
#define P HT_REACH_POSSIBLY
#define I HT_REACH_INDIRECT
#define D HT_REACH_DEFINITE
#define S HT_GRAPH_SUPER_ROOT

static void
check (const Result *r, const guint8 *reach, const gint64 *idom, const guint64 *retained)
{
  for (guint i = 0; i < r->n; i++)
    {
      g_assert_cmpuint (r->reach[i], ==, reach[i]);
      g_assert_cmpint (r->idom[i], ==, idom[i]);
      g_assert_cmpuint (r->retained[i], ==, retained[i]);
    }
}

/* a global holds a list 0 -> 1 -> 2 */
static void
test_list (void)
{
  Edge e[] = { { 0, 1, 0 }, { 1, 2, 0 } }, roots[] = { { 0, 0, 0 } };
  Result r = run (3, e, 2, roots, 1);
  check (&r, (guint8[]){ R, R, R }, (gint64[]){ S, 0, 1 }, (guint64[]){ 112, 96, 64 });
}

/* an orphan cycle: the lower address leads the clique */
static void
test_cycle (void)
{
  Edge e[] = { { 0, 1, 0 }, { 1, 0, 0 } };
  Result r = run (2, e, 2, NULL, 0);
  check (&r, (guint8[]){ D, I }, (gint64[]){ S, 0 }, (guint64[]){ 48, 32 });
}

/* a lost tree 0 -> {1, 2}, 1 -> 3, and an unrelated plain leak 4 */
static void
test_lost_tree (void)
{
  Edge e[] = { { 0, 1, 0 }, { 0, 2, 0 }, { 1, 3, 0 } };
  Result r = run (5, e, 3, NULL, 0);
  check (&r, (guint8[]){ D, I, I, I, D }, (gint64[]){ S, 0, 0, 1, S },
         (guint64[]){ 16 + 32 + 64 + 128, 32 + 128, 64, 128, 256 });
}

/* only an interior pointer from a root: possibly lost, and so is what it points to */
static void
test_interior (void)
{
  Edge e[] = { { 0, 1, 0 } }, roots[] = { { 0, 0, 32 } };
  Result r = run (2, e, 1, roots, 1);
  check (&r, (guint8[]){ P, P }, (gint64[]){ S, 0 }, (guint64[]){ 48, 32 });
}

/* a block first found possibly lost becomes reachable through a start-pointer */
static void
test_upgrade (void)
{
  Edge e[] = { { 1, 0, 0 }, { 0, 2, 0 } }, roots[] = { { 0, 0, 8 }, { 1, 1, 0 } };
  Result r = run (3, e, 2, roots, 2);
  check (&r, (guint8[]){ R, R, R }, (gint64[]){ S, S, 0 }, (guint64[]){ 80, 32, 64 });
}

/* a block pointed to later from a leader absorbs the earlier leader into its clique */
static void
test_absorbed_leader (void)
{
  Edge e[] = { { 1, 0, 0 } };
  Result r = run (2, e, 1, NULL, 0);
  check (&r, (guint8[]){ I, D }, (gint64[]){ 1, S }, (guint64[]){ 16, 48 });
}

/* a diamond 0 -> {1, 2} -> 3: 3 is dominated by 0, not by 1 or 2 */
static void
test_diamond (void)
{
  Edge e[] = { { 0, 1, 0 }, { 0, 2, 0 }, { 1, 3, 0 }, { 2, 3, 0 } }, roots[] = { { 0, 0, 0 } };
  Result r = run (4, e, 4, roots, 1);
  check (&r, (guint8[]){ R, R, R, R }, (gint64[]){ S, 0, 0, 0 },
         (guint64[]){ 240, 32, 64, 128 });
}

/* two roots share a block: nothing but the super-root dominates it */
static void
test_shared (void)
{
  Edge e[] = { { 0, 2, 0 }, { 1, 2, 0 } }, roots[] = { { 0, 0, 0 }, { 1, 1, 0 } };
  Result r = run (3, e, 2, roots, 2);
  check (&r, (guint8[]){ R, R, R }, (gint64[]){ S, S, S }, (guint64[]){ 16, 32, 64 });
}

/* a list a million long: no recursion anywhere */
static void
test_long_list (void)
{
  guint n = 1000000;
  guint64 *size = g_new (guint64, n);
  guint *start = g_new (guint, n + 1), *target = g_new (guint, n);
  guint64 *offset = g_new0 (guint64, n);
  for (guint i = 0; i < n; i++)
    {
      size[i] = 8;
      start[i] = MIN (i, n - 1);
      if (i + 1 < n)
        target[i] = i + 1;
    }
  start[n] = n - 1;
  guint root_target = 0;
  guint64 root_offset = 0;
  HtGraph g = { n, size, start, target, offset, 1, &root_target, &root_offset };
  guint8 *reach = g_new (guint8, n);
  gint64 *idom = g_new (gint64, n);
  guint64 *retained = g_new (guint64, n);
  ht_graph_classify (&g, reach);
  ht_graph_dominators (&g, reach, idom, retained);
  g_assert_cmpuint (reach[n - 1], ==, R);
  g_assert_cmpint (idom[n - 1], ==, n - 2);
  g_assert_cmpuint (retained[0], ==, 8ull * n);
  g_assert_cmpuint (retained[n / 2], ==, 8ull * (n - n / 2));
  g_free (size);
  g_free (start);
  g_free (target);
  g_free (offset);
  g_free (reach);
  g_free (idom);
  g_free (retained);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/graph/list", test_list);
  g_test_add_func ("/graph/cycle", test_cycle);
  g_test_add_func ("/graph/lost-tree", test_lost_tree);
  g_test_add_func ("/graph/interior", test_interior);
  g_test_add_func ("/graph/upgrade", test_upgrade);
  g_test_add_func ("/graph/absorbed-leader", test_absorbed_leader);
  g_test_add_func ("/graph/diamond", test_diamond);
  g_test_add_func ("/graph/shared", test_shared);
  g_test_add_func ("/graph/long-list", test_long_list);
  return g_test_run ();
}
