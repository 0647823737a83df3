/* ht-heap.h - walking a heap graph: objgraph's show_backrefs, show_refs and
 * find_backref_chain for native blocks, as views both faces draw or print. */
#pragma once

#include <glib.h>

#include "ht-db.h"
#include "ht-query.h"

G_BEGIN_DECLS

typedef enum
{
  HT_HEAP_NODE_BLOCK, /* a live block */
  HT_HEAP_NODE_ROOT,  /* a root: a global, a thread's stack or TLS */
  HT_HEAP_NODE_MORE,  /* "N more": referrers past --too-many */
} HtHeapNodeKind;

typedef struct
{
  HtHeapNodeKind kind;
  gint64 block; /* the block's number in the graph; -1 for the others */
  guint64 address, size, retained;
  gint reach;      /* HtReach; -1 for the others */
  char *type;      /* tag or C++ class, else the allocating function */
  char *site;      /* "file.c:42", or the function without debug info; NULL when unknown */
  gint64 trace_id; /* for the traceback; 0 when unknown */
  char *name;      /* a root's name ("g_list", "stack of thread 12"), or "12 more" */
  gboolean selected; /* one of the blocks asked about */
  guint depth;       /* hops from the selection */
} HtHeapNode;

typedef struct
{
  guint from, to;      /* node indexes: `from` holds a pointer to `to` */
  gint64 word_offset;  /* where in `from` the pointer is (bytes), -1 for a root */
  guint64 target_offset; /* where in `to` it points: 0 at the start, else inside */
} HtHeapEdge;

typedef struct
{
  GPtrArray *nodes; /* HtHeapNode* */
  GArray *edges;    /* HtHeapEdge */
  gint64 snapshot_id;
  char *snapshot;   /* its label */
  guint matched;    /* blocks the selection matched; at most too_many are shown */
  gboolean backwards; /* edges were followed to their sources (backrefs, chain) */
} HtHeapView;

typedef struct
{
  const char *at;   /* snapshot; NULL: the graph at the end, else the latest */
  const char *type; /* blocks of this type (tag, class, or allocating function) */
  const char *site; /* blocks allocated at FUNCTION or FUNCTION:LINE (the key frame) */
  gboolean by_address;
  guint64 address;  /* the block holding this address */
  guint depth;      /* hops to follow (objgraph's max_depth) */
  guint too_many;   /* at most this many blocks selected, referrers per node */
  /* seconds from the start: only blocks allocated between them are selected (the time
   * buckets the range overlaps); every block when time_to_s <= time_from_s */
  double time_from_s, time_to_s;
} HtHeapQuery;

/* What points to the selected blocks, up to `depth` hops or a root. */
HtHeapView *ht_heap_backrefs (HtDb *db, const HtHeapQuery *query, GError **error);
/* What the selected blocks point to, up to `depth` hops. */
HtHeapView *ht_heap_refs (HtDb *db, const HtHeapQuery *query, GError **error);
/* The shortest path from a root to the block at query->address: nodes root first, then
 * each block on the path.  A block no root reaches gets the path from the definitely lost
 * block that holds it (the first node is then that block). */
HtHeapView *ht_heap_chain (HtDb *db, const HtHeapQuery *query, GError **error);

/* memcheck's classes of the blocks of a snapshot's heap graph again, with only the leak
 * `heuristics` given (HT_HEUR_*; the recording's own classes use all of them, as valgrind
 * does by default), into the temporary table reach_override (id, reach) of `db`. */
gboolean ht_heap_reclassify (HtDb *db, gint64 snapshot, guint heuristics, GError **error);

void ht_heap_view_free (HtHeapView *view);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HtHeapView, ht_heap_view_free)

/* Node labels as graphs show them, lines separated by '\n': type; size and retained
 * size; site.  Roots: their name. */
char *ht_heap_node_label (const HtHeapNode *node);

/* Writes the view as Graphviz: FILE.dot (the graph, built with libcgraph), or laid out
 * with dot and rendered by libgvc: .svg, .png.  Every label is escaped. */
gboolean ht_heap_view_write (const HtHeapView *view, const char *path, GError **error);

/* The same, rendered in memory: format "dot", "svg" or "png". */
GBytes *ht_heap_view_render (const HtHeapView *view, const char *format, GError **error);

/* Laid out and rendered as PNG at `dpi` (72: one pixel per point), with each node's box in
 * the image's pixels (`boxes`: 4 doubles x, y, width, height per node, in view order), so
 * a click can be mapped to its node. */
GBytes *ht_heap_view_render_png (const HtHeapView *view, double dpi, GArray **boxes,
                                 GError **error);

G_END_DECLS
