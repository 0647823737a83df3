/* ht-flame-graph.h - HtFlameGraph: a call tree (owned) drawn as a flame graph, or as a
 * differential one against another. */
#pragma once

#include <gtk/gtk.h>

#include "ht-query.h"

G_BEGIN_DECLS

#define HT_TYPE_FLAME_GRAPH (ht_flame_graph_get_type ())
G_DECLARE_FINAL_TYPE (HtFlameGraph, ht_flame_graph, HT, FLAME_GRAPH, GtkDrawingArea)
GtkWidget *ht_flame_graph_new (HtCallNode *root);
void ht_flame_graph_set_root (HtFlameGraph *flame, HtCallNode *root);
/* A differential flame graph: the root's shape, each frame red where it grew since the same
 * frame (the same functions from the root) of `baseline` (owned), blue where it shrank,
 * the deeper the colour the larger the change; NULL: plain colours again. */
void ht_flame_graph_set_baseline (HtFlameGraph *flame, HtCallNode *baseline);

G_END_DECLS
