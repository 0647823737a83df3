/* ht-graph.c - memcheck's leak classes and the dominator tree of a heap graph.
 *
 * Everything is iterative: a linked list of a million blocks is a path a million deep.
 */
#include <string.h>

#include "ht-graph.h"

const char *
ht_reach_name (HtReach reach)
{
  static const char *const names[] = { "still reachable", "possibly lost", "indirectly lost",
                                       "definitely lost" };
  return reach < HT_REACH_COUNT ? names[reach] : "?";
}

/* ---------------------------------------------------------------------------------------
 * Classes
 */
enum
{
  UNREACHED = 0xff,
};

typedef struct
{
  guint8 *state;
  GArray *stack; /* guint */
} Marker;

/* lc_push_without_clique_if_a_chunk_ptr: a pointer to `t` seen from a root or from a
 * block; `definite` says whether what holds the pointer is itself definitely reachable. */
static void
mark (Marker *m, guint t, gboolean start, gboolean definite)
{
  if (m->state[t] == HT_REACH_REACHABLE)
    return;
  if (start && definite)
    m->state[t] = HT_REACH_REACHABLE;
  else if (m->state[t] == UNREACHED)
    m->state[t] = HT_REACH_POSSIBLY;
  else
    return;
  g_array_append_val (m->stack, t); /* (re)scan it: what it points to may move up too */
}

void
ht_graph_classify (const HtGraph *g, guint8 *reach)
{
  Marker m = { reach, g_array_new (FALSE, FALSE, sizeof (guint)) };
  memset (reach, UNREACHED, g->n);
  for (guint r = 0; r < g->nroots; r++)
    {
      mark (&m, g->root_target[r], g->root_offset[r] == 0, TRUE);
      while (m.stack->len)
        {
          guint b = g_array_index (m.stack, guint, --m.stack->len);
          gboolean definite = reach[b] == HT_REACH_REACHABLE;
          for (guint e = g->edge_start[b]; e < g->edge_start[b + 1]; e++)
            mark (&m, g->edge_target[e], g->edge_offset[e] == 0, definite);
        }
    }
  /* cliques, in address order: start- and interior pointers alike */
  for (guint leader = 0; leader < g->n; leader++)
    {
      if (reach[leader] != UNREACHED)
        continue;
      g_array_append_val (m.stack, leader);
      while (m.stack->len)
        {
          guint b = g_array_index (m.stack, guint, --m.stack->len);
          for (guint e = g->edge_start[b]; e < g->edge_start[b + 1]; e++)
            {
              guint t = g->edge_target[e];
              if (reach[t] == UNREACHED && t != leader)
                {
                  reach[t] = HT_REACH_INDIRECT;
                  g_array_append_val (m.stack, t);
                }
            }
        }
    }
  for (guint i = 0; i < g->n; i++)
    if (reach[i] == UNREACHED)
      reach[i] = HT_REACH_DEFINITE;
  g_array_unref (m.stack);
}

/* ---------------------------------------------------------------------------------------
 * Dominators: Lengauer and Tarjan's algorithm with path compression ("simple" version),
 * on depth-first numbers 1..N, 0 meaning none.  Vertex 0 of the input graph is the
 * super-root, block i is vertex i + 1.
 */
typedef struct
{
  guint *semi, *label, *ancestor;
  GArray *path;
} LT;

static void
compress (LT *lt, guint v)
{
  lt->path->len = 0;
  for (guint x = v; lt->ancestor[lt->ancestor[x]] != 0; x = lt->ancestor[x])
    g_array_append_val (lt->path, x);
  while (lt->path->len)
    {
      guint x = g_array_index (lt->path, guint, --lt->path->len);
      guint a = lt->ancestor[x];
      if (lt->semi[lt->label[a]] < lt->semi[lt->label[x]])
        lt->label[x] = lt->label[a];
      lt->ancestor[x] = lt->ancestor[a];
    }
}

static guint
eval (LT *lt, guint v)
{
  if (lt->ancestor[v] == 0)
    return v;
  compress (lt, v);
  return lt->label[v];
}

void
ht_graph_dominators (const HtGraph *g, const guint8 *reach, gint64 *idom_out, guint64 *retained)
{
  guint nv = g->n + 1; /* vertices: super-root and blocks */
  /* successors of each vertex (CSR): the super-root's, then each block's */
  guint *succ_start = g_new0 (guint, nv + 1);
  GArray *root_succ = g_array_new (FALSE, FALSE, sizeof (guint));
  {
    guint8 *seen = g_new0 (guint8, g->n);
    for (guint r = 0; r < g->nroots; r++)
      if (!seen[g->root_target[r]]++)
        {
          guint v = g->root_target[r] + 1;
          g_array_append_val (root_succ, v);
        }
    for (guint i = 0; i < g->n; i++)
      if (reach[i] == HT_REACH_DEFINITE && !seen[i])
        {
          guint v = i + 1;
          g_array_append_val (root_succ, v);
        }
    g_free (seen);
  }
  guint nedges = g->edge_start[g->n];
  guint total = root_succ->len + nedges;
  guint *succ = g_new (guint, MAX (total, 1));
  if (root_succ->len)
    memcpy (succ, root_succ->data, root_succ->len * sizeof (guint));
  succ_start[0] = 0;
  succ_start[1] = root_succ->len;
  for (guint i = 0; i < g->n; i++)
    {
      for (guint e = g->edge_start[i]; e < g->edge_start[i + 1]; e++)
        succ[root_succ->len + e] = g->edge_target[e] + 1;
      succ_start[i + 2] = root_succ->len + g->edge_start[i + 1];
    }
  g_array_unref (root_succ);

  /* depth-first numbering from the super-root, iteratively */
  guint *dfnum = g_new0 (guint, nv);   /* vertex -> number, 0 unvisited */
  guint *vertex = g_new0 (guint, nv + 1); /* number -> vertex */
  guint *parent = g_new0 (guint, nv + 1); /* by number */
  guint *next_edge = g_new0 (guint, nv);
  guint count = 0;
  {
    GArray *stack = g_array_new (FALSE, FALSE, sizeof (guint));
    guint v0 = 0;
    dfnum[0] = ++count;
    vertex[count] = 0;
    next_edge[0] = succ_start[0];
    g_array_append_val (stack, v0);
    while (stack->len)
      {
        guint v = g_array_index (stack, guint, stack->len - 1);
        if (next_edge[v] == succ_start[v + 1])
          {
            stack->len--;
            continue;
          }
        guint w = succ[next_edge[v]++];
        if (dfnum[w])
          continue;
        dfnum[w] = ++count;
        vertex[count] = w;
        parent[count] = dfnum[v];
        next_edge[w] = succ_start[w];
        g_array_append_val (stack, w);
      }
    g_array_unref (stack);
  }
  g_free (next_edge);

  /* predecessors, by number, of the numbered vertices */
  guint *pred_start = g_new0 (guint, count + 2);
  for (guint v = 0; v < nv; v++)
    if (dfnum[v])
      for (guint e = succ_start[v]; e < succ_start[v + 1]; e++)
        if (dfnum[succ[e]])
          pred_start[dfnum[succ[e]] + 1]++;
  for (guint i = 1; i <= count + 1; i++)
    pred_start[i] += pred_start[i - 1];
  guint *pred = g_new (guint, MAX (pred_start[count + 1], 1));
  guint *fill = g_memdup2 (pred_start, (count + 2) * sizeof (guint));
  for (guint v = 0; v < nv; v++)
    if (dfnum[v])
      for (guint e = succ_start[v]; e < succ_start[v + 1]; e++)
        if (dfnum[succ[e]])
          pred[fill[dfnum[succ[e]]]++] = dfnum[v];
  g_free (fill);
  g_free (succ);
  g_free (succ_start);

  LT lt = { g_new (guint, count + 1), g_new (guint, count + 1), g_new0 (guint, count + 1),
            g_array_new (FALSE, FALSE, sizeof (guint)) };
  guint *idom = g_new0 (guint, count + 1);
  guint *bucket_head = g_new0 (guint, count + 1), *bucket_next = g_new0 (guint, count + 1);
  for (guint i = 0; i <= count; i++)
    lt.semi[i] = lt.label[i] = i;
  for (guint w = count; w >= 2; w--)
    {
      for (guint e = pred_start[w]; e < pred_start[w + 1]; e++)
        {
          guint u = eval (&lt, pred[e]);
          if (lt.semi[u] < lt.semi[w])
            lt.semi[w] = lt.semi[u];
        }
      guint s = lt.semi[w];
      bucket_next[w] = bucket_head[s];
      bucket_head[s] = w;
      guint p = parent[w];
      lt.ancestor[w] = p; /* link */
      for (guint v = bucket_head[p]; v; v = bucket_next[v])
        {
          guint u = eval (&lt, v);
          idom[v] = lt.semi[u] < lt.semi[v] ? u : p;
        }
      bucket_head[p] = 0;
    }
  for (guint w = 2; w <= count; w++)
    if (idom[w] != lt.semi[w])
      idom[w] = idom[idom[w]];

  /* retained sizes, children before parents: numbers decrease away from the leaves */
  guint64 *ret = g_new0 (guint64, count + 1);
  for (guint w = count; w >= 2; w--)
    {
      ret[w] += g->size[vertex[w] - 1];
      ret[idom[w]] += ret[w];
    }
  for (guint i = 0; i < g->n; i++)
    {
      guint w = dfnum[i + 1];
      if (!w) /* unreachable even from the super-root: cannot happen, every block is */
        {
          idom_out[i] = HT_GRAPH_SUPER_ROOT;
          retained[i] = g->size[i];
          continue;
        }
      guint d = vertex[idom[w]];
      idom_out[i] = d == 0 ? HT_GRAPH_SUPER_ROOT : (gint64) d - 1;
      retained[i] = ret[w];
    }

  g_free (ret);
  g_free (idom);
  g_free (bucket_head);
  g_free (bucket_next);
  g_free (lt.semi);
  g_free (lt.label);
  g_free (lt.ancestor);
  g_array_unref (lt.path);
  g_free (pred);
  g_free (pred_start);
  g_free (dfnum);
  g_free (vertex);
  g_free (parent);
}
