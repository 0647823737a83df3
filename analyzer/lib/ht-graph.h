/* ht-graph.h - what a heap graph says: memcheck's leak classes, dominators, retained size.
 *
 * A graph is the blocks of one scan (numbered in address order, as the recorder writes
 * them), the pointers between them and the root words pointing into them.  A pointer has
 * an offset in its target: 0 is a start-pointer, anything else an interior pointer.
 */
#pragma once

#include <glib.h>

#include "ht-format.h"

G_BEGIN_DECLS

typedef enum
{
  HT_REACH_REACHABLE = 0, /* "still reachable": from a root through start-pointers only */
  HT_REACH_POSSIBLY = 1,  /* "possibly lost": from a root, but only through an interior one */
  HT_REACH_INDIRECT = 2,  /* "indirectly lost": only from a definitely lost block */
  HT_REACH_DEFINITE = 3,  /* "definitely lost": no pointer from anything reachable */
} HtReach;

#define HT_REACH_COUNT 4
#define HT_GRAPH_SUPER_ROOT (-1) /* the idom of a block only the roots (or nothing) hold */

typedef struct
{
  guint n;                    /* blocks */
  const guint64 *size;        /* n */
  const guint *edge_start;    /* n + 1: block i's pointers are edge_start[i]..[i+1] */
  const guint *edge_target;   /* edge_start[n] */
  const guint64 *edge_offset; /* edge_start[n] */
  guint nroots;
  const guint *root_target; /* nroots */
  const guint64 *root_offset;
} HtGraph;

/* memcheck's classes (mc_leakcheck.c): blocks reached from the roots through start-
 * pointers from definitely reachable blocks are reachable, other blocks reached from
 * the roots possibly lost; the rest are visited in address order, each one not yet seen
 * leading a clique: it is definitely lost and what it reaches, indirectly. */
void ht_graph_classify (const HtGraph *g, guint8 *reach);

/* The dominator tree (Lengauer-Tarjan) under one super-root that points to every block a
 * root points to and to every definitely lost block; `idom` gets each block's immediate
 * dominator (HT_GRAPH_SUPER_ROOT for children of the super-root) and `retained` the bytes
 * freed if that block were: its own and those of every block it dominates. */
void ht_graph_dominators (const HtGraph *g, const guint8 *reach, gint64 *idom,
                          guint64 *retained);

const char *ht_reach_name (HtReach reach); /* "definitely lost", ... (untranslated) */

/* The offset a pointer counts with: 0 (a start-pointer) when one of the `heuristics`
 * (HT_HEUR_*) explains it, else where it points in its block.  `raw` carries the recorder's
 * heuristic bits above HT_HEUR_SHIFT (ht-format.h). */
static inline guint64
ht_graph_effective_offset (guint64 raw, guint heuristics)
{
  return ((raw >> HT_HEUR_SHIFT) & heuristics) ? 0 : raw & HT_OFFSET_MASK;
}

G_END_DECLS
