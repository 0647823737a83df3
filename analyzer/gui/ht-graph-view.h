/* ht-graph-view.h - the Graph view: objgraph's show_backrefs, drawn by Graphviz. */
#pragma once

#include <gtk/gtk.h>

#include "ht-db.h"
#include "ht-gui.h"

G_BEGIN_DECLS

#define HT_TYPE_GRAPH_VIEW (ht_graph_view_get_type ())
G_DECLARE_FINAL_TYPE (HtGraphView, ht_graph_view, HT, GRAPH_VIEW, GtkBox)

/* The view, or a page saying how to get a heap graph (record --graph). */
GtkWidget *ht_graph_view_new (HtDb *db, GPtrArray *snapshots);
/* The backrefs of what the entry would take: a type, FUNCTION:LINE or 0xADDRESS. */
void ht_graph_view_show (HtGraphView *self, const char *what);
/* The backrefs of an Allocations row's site: its first frame in the program's own files. */
void ht_graph_view_show_row (HtGraphView *self, HtRow *row);
/* What it shows: nodes drawn, and the live blocks listed (HtBlockList). */
guint ht_graph_view_node_count (HtGraphView *self);
GListModel *ht_graph_view_blocks (HtGraphView *self);

/* The blocks asked about: only those allocated between `from` and `to` seconds (to <=
 * from: all of them). */
void ht_graph_view_set_time_range (HtGraphView *self, double from, double to);

G_END_DECLS
