/* ht-heap.c - backrefs, refs and chains over a heap graph; Graphviz output.
 *
 * A walk reads the graph tables a node at a time through their (snapshot, src) and
 * (snapshot, dst) indexes, so a view of a few hundred nodes costs a few hundred indexed
 * queries whatever the size of the heap.  Graphs are built with libcgraph and laid out and
 * rendered with libgvc (dot); node names inside the graph are "n0", "n1"..., never text
 * from the recording, and every label is escaped (see escape_label).
 */
#include <gvc.h>
#include <stdio.h>
#include <string.h>

#include "ht-error.h"
#include "ht-graph.h"
#include "ht-heap.h"
#include "ht-query-private.h"

typedef struct
{
  sqlite3 *h;
  gint64 snapshot;
  HtTraceNames *names;
  HtHeapView *view;
  GHashTable *block_node; /* block id -> node index + 1 */
  GHashTable *root_node;  /* root name -> node index + 1 */
  sqlite3_stmt *block, *in_edges, *in_roots, *out_edges;
} Walk;

static void
node_free (gpointer data)
{
  HtHeapNode *n = data;
  g_free (n->type);
  g_free (n->site);
  g_free (n->name);
  g_free (n);
}

void
ht_heap_view_free (HtHeapView *view)
{
  if (!view)
    return;
  g_ptr_array_unref (view->nodes);
  g_array_unref (view->edges);
  g_free (view->snapshot);
  g_free (view);
}

static void
walk_clear (Walk *w)
{
  sqlite3_finalize (w->block);
  sqlite3_finalize (w->in_edges);
  sqlite3_finalize (w->in_roots);
  sqlite3_finalize (w->out_edges);
  g_clear_pointer (&w->block_node, g_hash_table_unref);
  g_clear_pointer (&w->root_node, g_hash_table_unref);
  g_clear_pointer (&w->names, ht_trace_names_free);
  g_clear_pointer (&w->view, ht_heap_view_free);
}

static gboolean
walk_init (Walk *w, HtDb *db, const char *at, GError **error)
{
  memset (w, 0, sizeof *w);
  HtGraphInfo info;
  if (!ht_query_graph_info (db, at, &info, error))
    return FALSE;
  w->h = ht_db_handle (db);
  w->snapshot = info.snapshot_id;
  w->view = g_new0 (HtHeapView, 1);
  w->view->nodes = g_ptr_array_new_with_free_func (node_free);
  w->view->edges = g_array_new (FALSE, FALSE, sizeof (HtHeapEdge));
  w->view->snapshot_id = info.snapshot_id;
  w->view->snapshot = g_steal_pointer (&info.label);
  ht_graph_info_clear (&info);
  w->block_node = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  w->root_node = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  w->names = ht_trace_names_new (db, error);
  if (!w->names
      || !ht_db_prepare (w->h,
                         "SELECT address, size, retained, reach, type, trace_id FROM graph_blocks"
                         " WHERE snapshot_id = ? AND id = ?",
                         &w->block, error)
      || !ht_db_prepare (w->h,
                         "SELECT referrers FROM graph_blocks WHERE snapshot_id = ? AND id = ?",
                         &w->in_edges, error)
      || !ht_db_prepare (w->h,
                         "SELECT name, min(offset & 72057594037927935) FROM graph_roots"
                         " WHERE snapshot_id = ? AND dst = ? GROUP BY name ORDER BY name",
                         &w->in_roots, error)
      || !ht_db_prepare (w->h,
                         "SELECT refs FROM graph_blocks WHERE snapshot_id = ? AND id = ?",
                         &w->out_edges, error))
    {
      walk_clear (w);
      return FALSE;
    }
  return TRUE;
}

static HtHeapView *
walk_finish (Walk *w)
{
  HtHeapView *view = g_steal_pointer (&w->view);
  walk_clear (w);
  return view;
}

typedef struct
{
  gint64 other;  /* the block at the other end */
  gint64 word;   /* the pointer's offset in the source block, in bytes */
  guint64 offset; /* where it points in the target */
} Link;

static gboolean
read_varint (const guint8 **p, const guint8 *end, guint64 *v)
{
  *v = 0;
  for (int shift = 0; *p < end && shift < 64; shift += 7)
    {
      guint8 byte = *(*p)++;
      *v |= (guint64) (byte & 0x7f) << shift;
      if (!(byte & 0x80))
        return TRUE;
    }
  return FALSE;
}

/* The pointers from (incoming: to) `block`, one per other block (the first word that
 * holds one), never the block's pointers to itself. */
static GArray *
links (Walk *w, gint64 block, gboolean incoming)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (Link));
  sqlite3_stmt *st = incoming ? w->in_edges : w->out_edges;
  sqlite3_reset (st);
  sqlite3_bind_int64 (st, 1, w->snapshot);
  sqlite3_bind_int64 (st, 2, block);
  if (sqlite3_step (st) != SQLITE_ROW)
    return out;
  const guint8 *p = sqlite3_column_blob (st, 0);
  const guint8 *end = p + sqlite3_column_bytes (st, 0);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);
  guint64 other, word, offset;
  while (p && p < end && read_varint (&p, end, &other) && read_varint (&p, end, &word)
         && read_varint (&p, end, &offset))
    {
      /* the word's index, and whether it is a GC list link (not a reference) */
      Link l = { (gint64) other, (gint64) (word >> 1) * 8, offset & HT_OFFSET_MASK };
      if (l.other == block || l.other < 0 || (word & 1))
        continue;
      g_array_append_val (out, l);
    }
  /* one link per other block: the first word pointing there */
  GArray *unique = g_array_new (FALSE, FALSE, sizeof (Link));
  for (guint i = 0; i < out->len; i++)
    {
      Link *l = &g_array_index (out, Link, i);
      if (g_hash_table_contains (seen, &l->other))
        continue;
      g_hash_table_add (seen, &l->other);
      g_array_append_val (unique, *l);
    }
  g_array_unref (out);
  return unique;
}

/* A block's type: its tag or class, else the function of its site. */
static char *
block_type (Walk *w, const char *type, gint64 trace)
{
  if (type)
    return g_strdup (type);
  const HtLocation *site = trace ? ht_trace_names_site (w->names, trace) : NULL;
  return g_strdup (site ? site->function : "<unknown>");
}

/* The node of block `id`, made on first use.  Returns its index. */
static guint
block_node (Walk *w, gint64 id, guint depth, gboolean *is_new)
{
  gpointer known = g_hash_table_lookup (w->block_node, &id);
  if (is_new)
    *is_new = !known;
  if (known)
    return GPOINTER_TO_UINT (known) - 1;
  HtHeapNode *n = g_new0 (HtHeapNode, 1);
  n->kind = HT_HEAP_NODE_BLOCK;
  n->block = id;
  n->reach = -1;
  n->depth = depth;
  sqlite3_reset (w->block);
  sqlite3_bind_int64 (w->block, 1, w->snapshot);
  sqlite3_bind_int64 (w->block, 2, id);
  if (sqlite3_step (w->block) == SQLITE_ROW)
    {
      n->address = (guint64) sqlite3_column_int64 (w->block, 0);
      n->size = (guint64) sqlite3_column_int64 (w->block, 1);
      n->retained = (guint64) sqlite3_column_int64 (w->block, 2);
      n->reach = sqlite3_column_int (w->block, 3);
      n->trace_id = sqlite3_column_int64 (w->block, 5);
      n->type = block_type (w, (const char *) sqlite3_column_text (w->block, 4), n->trace_id);
      const HtLocation *site = n->trace_id ? ht_trace_names_site (w->names, n->trace_id) : NULL;
      n->site = site ? ht_location_format (site) : NULL;
    }
  g_ptr_array_add (w->view->nodes, n);
  guint index = w->view->nodes->len - 1;
  g_hash_table_insert (w->block_node, g_memdup2 (&id, sizeof id), GUINT_TO_POINTER (index + 1));
  return index;
}

static guint
named_node (Walk *w, HtHeapNodeKind kind, const char *name, guint depth)
{
  gpointer known = kind == HT_HEAP_NODE_ROOT ? g_hash_table_lookup (w->root_node, name) : NULL;
  if (known)
    return GPOINTER_TO_UINT (known) - 1;
  HtHeapNode *n = g_new0 (HtHeapNode, 1);
  n->kind = kind;
  n->block = -1;
  n->reach = -1;
  n->depth = depth;
  n->name = g_strdup (name);
  g_ptr_array_add (w->view->nodes, n);
  guint index = w->view->nodes->len - 1;
  if (kind == HT_HEAP_NODE_ROOT)
    g_hash_table_insert (w->root_node, g_strdup (name), GUINT_TO_POINTER (index + 1));
  return index;
}

static void
add_edge (Walk *w, guint from, guint to, gint64 word_offset, guint64 target_offset)
{
  for (guint i = 0; i < w->view->edges->len; i++)
    {
      const HtHeapEdge *e = &g_array_index (w->view->edges, HtHeapEdge, i);
      if (e->from == from && e->to == to)
        return;
    }
  HtHeapEdge e = { from, to, word_offset, target_offset };
  g_array_append_val (w->view->edges, e);
}

/* The blocks a query selects, at most too_many of them; `matched` counts them all. */
static GArray *
select_blocks (Walk *w, const HtHeapQuery *q, GError **error)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  sqlite3_stmt *st;
  if (q->by_address)
    {
      if (!ht_db_prepare (w->h,
                          "SELECT id, address, size FROM graph_blocks WHERE snapshot_id = ?"
                          " AND address <= ? ORDER BY address DESC LIMIT 1",
                          &st, error))
        return g_array_unref (ids), NULL;
      sqlite3_bind_int64 (st, 1, w->snapshot);
      sqlite3_bind_int64 (st, 2, (gint64) q->address);
      if (sqlite3_step (st) == SQLITE_ROW)
        {
          gint64 id = sqlite3_column_int64 (st, 0);
          guint64 addr = (guint64) sqlite3_column_int64 (st, 1);
          guint64 size = (guint64) sqlite3_column_int64 (st, 2);
          if (q->address == addr || q->address - addr < size)
            g_array_append_val (ids, id);
        }
      sqlite3_finalize (st);
      if (ids->len == 0)
        {
          g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_NOT_FOUND,
                       "no live block holds address 0x%" G_GINT64_MODIFIER "x at snapshot '%s'",
                       q->address, w->view->snapshot);
          return g_array_unref (ids), NULL;
        }
      w->view->matched = 1;
      return ids;
    }

  /* --site FUNCTION[:LINE] */
  g_autofree char *function = NULL;
  guint line = 0;
  if (q->site)
    {
      function = g_strdup (q->site);
      char *colon = strrchr (function, ':');
      if (colon && colon[1] && strspn (colon + 1, "0123456789") == strlen (colon + 1)
          && colon != function && colon[-1] != ':')
        {
          line = (guint) g_ascii_strtoull (colon + 1, NULL, 10);
          *colon = 0;
        }
    }
  /* with a time range, only the blocks allocated in the buckets it overlaps */
  gboolean ranged = q->time_to_s > q->time_from_s;
  g_autofree char *range = ranged ? time_range_sql ("bucket", 2) : g_strdup ("");
  g_autofree char *sql = g_strdup_printf ("SELECT id, trace_id, type FROM graph_blocks"
                                          " WHERE snapshot_id = ?1%s ORDER BY id",
                                          range);
  if (!ht_db_prepare (w->h, sql, &st, error))
    return g_array_unref (ids), NULL;
  sqlite3_bind_int64 (st, 1, w->snapshot);
  if (ranged)
    bind_time_range (st, 2, q->time_from_s, q->time_to_s);
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (st, 0);
      gint64 trace = sqlite3_column_int64 (st, 1);
      const char *type = (const char *) sqlite3_column_text (st, 2);
      const HtLocation *site = trace ? ht_trace_names_site (w->names, trace) : NULL;
      gboolean match;
      if (q->type)
        match = g_strcmp0 (type ? type : site ? site->function : NULL, q->type) == 0;
      else
        match = site && g_strcmp0 (site->function, function) == 0
                && (line == 0 || site->line == line);
      if (!match)
        continue;
      w->view->matched++;
      if (ids->len < MAX (q->too_many, 1))
        g_array_append_val (ids, id);
    }
  sqlite3_finalize (st);
  if (ids->len == 0)
    {
      g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_NOT_FOUND,
                   q->type ? "no live block of type '%s' at snapshot '%s'%s"
                           : "no live block allocated at '%s' at snapshot '%s'%s",
                   q->type ? q->type : q->site, w->view->snapshot,
                   ranged ? " allocated in the time range" : "");
      return g_array_unref (ids), NULL;
    }
  return ids;
}

static HtHeapView *
walk (HtDb *db, const HtHeapQuery *q, gboolean backwards, GError **error)
{
  Walk w;
  if (!walk_init (&w, db, q->at, error))
    return NULL;
  w.view->backwards = backwards;
  g_autoptr (GArray) ids = select_blocks (&w, q, error);
  if (!ids)
    {
      walk_clear (&w);
      return NULL;
    }
  GArray *queue = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint i = 0; i < ids->len; i++)
    {
      guint v = block_node (&w, g_array_index (ids, gint64, i), 0, NULL);
      ((HtHeapNode *) w.view->nodes->pdata[v])->selected = TRUE;
      g_array_append_val (queue, v);
    }
  guint too_many = MAX (q->too_many, 1);
  for (guint head = 0; head < queue->len; head++)
    {
      guint v = g_array_index (queue, guint, head);
      HtHeapNode *n = w.view->nodes->pdata[v];
      if (n->depth >= q->depth)
        continue;
      guint shown = 0, total = 0;
      gint64 block = n->block;
      guint depth = n->depth + 1;
      if (backwards)
        {
          sqlite3_reset (w.in_roots);
          sqlite3_bind_int64 (w.in_roots, 1, w.snapshot);
          sqlite3_bind_int64 (w.in_roots, 2, block);
          while (sqlite3_step (w.in_roots) == SQLITE_ROW)
            {
              /* one node per global: "g_table+16" is g_table, the edge says +16 */
              g_autofree char *name = g_strdup ((const char *) sqlite3_column_text (w.in_roots, 0));
              gint64 offset = -1;
              char *plus = strrchr (name, '+');
              if (plus && plus != name && plus[1]
                  && strspn (plus + 1, "0123456789") == strlen (plus + 1))
                {
                  offset = g_ascii_strtoll (plus + 1, NULL, 10);
                  *plus = 0;
                }
              gpointer known = g_hash_table_lookup (w.root_node, name);
              gboolean linked = FALSE;
              for (guint k = 0; known && k < w.view->edges->len && !linked; k++)
                linked = g_array_index (w.view->edges, HtHeapEdge, k).from
                           == GPOINTER_TO_UINT (known) - 1
                         && g_array_index (w.view->edges, HtHeapEdge, k).to == v;
              if (linked)
                continue; /* another word of the same global */
              total++;
              if (shown >= too_many)
                continue;
              shown++;
              guint r = named_node (&w, HT_HEAP_NODE_ROOT, name, depth);
              add_edge (&w, r, v, offset, (guint64) sqlite3_column_int64 (w.in_roots, 1));
            }
        }
      g_autoptr (GArray) next = links (&w, block, backwards);
      for (guint k = 0; k < next->len; k++)
        {
          const Link *l = &g_array_index (next, Link, k);
          total++;
          if (shown >= too_many)
            continue;
          shown++;
          gboolean is_new;
          guint other = block_node (&w, l->other, depth, &is_new);
          if (backwards)
            add_edge (&w, other, v, l->word, l->offset);
          else
            add_edge (&w, v, other, l->word, l->offset);
          if (is_new)
            g_array_append_val (queue, other);
        }
      if (total > shown)
        {
          g_autofree char *more = g_strdup_printf ("%u more", total - shown);
          guint m = named_node (&w, HT_HEAP_NODE_MORE, more, depth);
          if (backwards)
            add_edge (&w, m, v, -1, 0);
          else
            add_edge (&w, v, m, -1, 0);
        }
    }
  g_array_unref (queue);
  return walk_finish (&w);
}

HtHeapView *
ht_heap_backrefs (HtDb *db, const HtHeapQuery *query, GError **error)
{
  return walk (db, query, TRUE, error);
}

HtHeapView *
ht_heap_refs (HtDb *db, const HtHeapQuery *query, GError **error)
{
  return walk (db, query, FALSE, error);
}

typedef struct
{
  gint64 next; /* the block one step closer to the target, -1 for the target */
  gint64 word; /* where in this block the pointer to `next` is */
  guint64 offset;
} ChainStep;

HtHeapView *
ht_heap_chain (HtDb *db, const HtHeapQuery *query, GError **error)
{
  HtHeapQuery q = *query;
  q.by_address = TRUE;
  q.type = q.site = NULL;
  Walk w;
  if (!walk_init (&w, db, q.at, error))
    return NULL;
  w.view->backwards = TRUE;
  g_autoptr (GArray) ids = select_blocks (&w, &q, error);
  if (!ids)
    {
      walk_clear (&w);
      return NULL;
    }
  /* breadth first, backwards, until a block a root points to */
  gint64 target = g_array_index (ids, gint64, 0);
  g_autoptr (GHashTable) steps = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                        g_free);
  GArray *queue = g_array_new (FALSE, FALSE, sizeof (gint64));
  ChainStep first = { -1, -1, 0 };
  g_hash_table_insert (steps, g_memdup2 (&target, sizeof target), g_memdup2 (&first, sizeof first));
  g_array_append_val (queue, target);
  gint64 start = -1, lost = -1;
  char *root = NULL;
  guint64 root_offset = 0;
  for (guint head = 0; head < queue->len && start < 0; head++)
    {
      gint64 b = g_array_index (queue, gint64, head);
      sqlite3_reset (w.in_roots);
      sqlite3_bind_int64 (w.in_roots, 1, w.snapshot);
      sqlite3_bind_int64 (w.in_roots, 2, b);
      if (sqlite3_step (w.in_roots) == SQLITE_ROW)
        {
          root = g_strdup ((const char *) sqlite3_column_text (w.in_roots, 0));
          root_offset = (guint64) sqlite3_column_int64 (w.in_roots, 1);
          start = b;
          break;
        }
      g_autoptr (GArray) in = links (&w, b, TRUE);
      gboolean held = in->len > 0;
      for (guint k = 0; k < in->len; k++)
        {
          const Link *l = &g_array_index (in, Link, k);
          if (g_hash_table_contains (steps, &l->other))
            continue;
          ChainStep s = { b, l->word, l->offset };
          g_hash_table_insert (steps, g_memdup2 (&l->other, sizeof l->other),
                               g_memdup2 (&s, sizeof s));
          g_array_append_val (queue, l->other);
        }
      if (!held && lost < 0)
        lost = b; /* nothing points to it: where a lost structure begins */
    }
  g_array_unref (queue);
  if (start < 0)
    start = lost >= 0 ? lost : target; /* a cycle no root reaches: start anywhere on it */
  guint prev = 0;
  if (root)
    prev = named_node (&w, HT_HEAP_NODE_ROOT, root, 0);
  gboolean have_prev = root != NULL;
  guint64 prev_offset = root_offset;
  gint64 prev_word = -1;
  for (gint64 b = start; b >= 0;)
    {
      guint v = block_node (&w, b, 0, NULL);
      if (have_prev)
        add_edge (&w, prev, v, prev_word, prev_offset);
      const ChainStep *s = g_hash_table_lookup (steps, &b);
      prev = v;
      have_prev = TRUE;
      prev_word = s->word;
      prev_offset = s->offset;
      if (b == target)
        break;
      b = s->next;
    }
  ((HtHeapNode *) w.view->nodes->pdata[prev])->selected = TRUE;
  w.view->matched = 1;
  g_free (root);
  return walk_finish (&w);
}

/* ---------------------------------------------------------------------------------------
 * Labels and Graphviz
 */
char *
ht_heap_node_label (const HtHeapNode *n)
{
  if (n->kind != HT_HEAP_NODE_BLOCK)
    return g_strdup (n->name);
  g_autofree char *size = ht_format_size ((double) n->size, FALSE);
  g_autofree char *retained = ht_format_size ((double) n->retained, FALSE);
  GString *s = g_string_new (n->type ? n->type : "?");
  g_string_append_printf (s, "\n%s, retains %s", size, retained);
  if (n->site && n->type && !g_str_equal (n->site, n->type))
    g_string_append_printf (s, "\n%s", n->site);
  return g_string_free (s, FALSE);
}

/* Graphviz reads backslash sequences in labels (\n, \l, \N, \G...), so a backslash from a
 * recording becomes "\\"; a newline ends the line ("\n"), other control characters become
 * spaces.  It also decodes HTML entities ("&amp;"), so '&' becomes "&amp;".  Quotes, braces
 * and angle brackets are left to cgraph, which quotes the string when it writes .dot, and
 * to the SVG renderer, which escapes XML; labels are never given to cgraph as HTML. */
static char *
escape_label (const char *text)
{
  GString *s = g_string_new (NULL);
  for (const char *p = text; *p; p++)
    {
      if (*p == '\\')
        g_string_append (s, "\\\\");
      else if (*p == '\n')
        g_string_append (s, "\\n");
      else if (*p == '&')
        g_string_append (s, "&amp;");
      else if ((unsigned char) *p < 0x20 || *p == 0x7f)
        g_string_append_c (s, ' ');
      else
        g_string_append_c (s, *p);
    }
  return g_string_free (s, FALSE);
}

static const char *
node_color (const HtHeapNode *n)
{
  static const char *const by_reach[] = { "#c8e6c9", "#ffe0b2", "#ffcdd2", "#ef9a9a" };
  if (n->kind == HT_HEAP_NODE_ROOT)
    return "#90caf9";
  if (n->kind == HT_HEAP_NODE_MORE)
    return "#eeeeee";
  if (n->selected)
    return "#ffd54f";
  return n->reach >= 0 && n->reach < HT_REACH_COUNT ? by_reach[n->reach] : "#ffffff";
}

static Agraph_t *
build_graph (const HtHeapView *view, Agnode_t ***nodes_out)
{
  Agraph_t *g = agopen ((char *) "heaptrail", Agdirected, NULL);
  agattr (g, AGRAPH, (char *) "label", (char *) "");
  agattr (g, AGRAPH, (char *) "fontname", (char *) "Sans");
  agattr (g, AGRAPH, (char *) "fontsize", (char *) "10");
  agattr (g, AGNODE, (char *) "shape", (char *) "box");
  agattr (g, AGNODE, (char *) "style", (char *) "filled,rounded");
  agattr (g, AGNODE, (char *) "fontname", (char *) "Sans");
  agattr (g, AGNODE, (char *) "fontsize", (char *) "10");
  agattr (g, AGNODE, (char *) "fillcolor", (char *) "#ffffff");
  agattr (g, AGNODE, (char *) "label", (char *) "\\N");
  agattr (g, AGNODE, (char *) "tooltip", (char *) "");
  agattr (g, AGEDGE, (char *) "label", (char *) "");
  agattr (g, AGEDGE, (char *) "fontname", (char *) "Sans");
  agattr (g, AGEDGE, (char *) "fontsize", (char *) "9");
  agattr (g, AGEDGE, (char *) "style", (char *) "solid");
  g_autofree char *snapshot = g_strdup_printf ("snapshot %s", view->snapshot ? view->snapshot : "");
  g_autofree char *title = escape_label (snapshot);
  agset (g, (char *) "label", title);
  Agnode_t **nodes = g_new (Agnode_t *, MAX (view->nodes->len, 1));
  for (guint i = 0; i < view->nodes->len; i++)
    {
      const HtHeapNode *n = view->nodes->pdata[i];
      char name[32];
      g_snprintf (name, sizeof name, "n%u", i);
      nodes[i] = agnode (g, name, TRUE);
      g_autofree char *label = ht_heap_node_label (n);
      g_autofree char *escaped = escape_label (label);
      agset (nodes[i], (char *) "label", escaped);
      agset (nodes[i], (char *) "fillcolor", (char *) node_color (n));
      if (n->kind == HT_HEAP_NODE_BLOCK)
        {
          char tip[64];
          g_snprintf (tip, sizeof tip, "0x%" G_GINT64_MODIFIER "x", n->address);
          agset (nodes[i], (char *) "tooltip", tip);
        }
      if (n->kind == HT_HEAP_NODE_MORE)
        agset (nodes[i], (char *) "style", (char *) "filled,dashed");
    }
  for (guint i = 0; i < view->edges->len; i++)
    {
      const HtHeapEdge *e = &g_array_index (view->edges, HtHeapEdge, i);
      Agedge_t *edge = agedge (g, nodes[e->from], nodes[e->to], NULL, TRUE);
      char label[64] = "";
      if (e->word_offset >= 0 && e->target_offset)
        g_snprintf (label, sizeof label, "+%" G_GINT64_FORMAT " \342\206\222 +%" G_GUINT64_FORMAT,
                    e->word_offset, e->target_offset);
      else if (e->word_offset >= 0)
        g_snprintf (label, sizeof label, "+%" G_GINT64_FORMAT, e->word_offset);
      else if (e->target_offset)
        g_snprintf (label, sizeof label, "\342\206\222 +%" G_GUINT64_FORMAT, e->target_offset);
      agset (edge, (char *) "label", label);
      if (e->target_offset) /* an interior pointer */
        agset (edge, (char *) "style", (char *) "dashed");
    }
  if (nodes_out)
    *nodes_out = nodes;
  else
    g_free (nodes);
  return g_steal_pointer (&g);
}

GBytes *
ht_heap_view_render_png (const HtHeapView *view, double dpi, GArray **boxes, GError **error)
{
  Agnode_t **nodes = NULL;
  Agraph_t *g = build_graph (view, &nodes);
  char dpi_s[32];
  g_ascii_formatd (dpi_s, sizeof dpi_s, "%.1f", dpi);
  agattr (g, AGRAPH, (char *) "dpi", dpi_s);
  agattr (g, AGRAPH, (char *) "pad", (char *) "0");
  GVC_t *gvc = gvContext ();
  GBytes *out = NULL;
  if (gvLayout (gvc, g, "dot") != 0)
    g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_SQLITE, "Graphviz could not lay the graph out");
  else
    {
      char *data = NULL;
      unsigned int len = 0;
      if (gvRenderData (gvc, g, "png", &data, &len) != 0 || !data)
        g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_SQLITE, "Graphviz cannot render png");
      else
        out = g_bytes_new (data, len);
      gvFreeRenderData (data);
      /* node boxes: layout coordinates are points, y up, from the bounding box's corner */
      boxf bb = GD_bb (g);
      double scale = dpi / 72.0;
      GArray *b = g_array_new (FALSE, FALSE, sizeof (double));
      for (guint i = 0; i < view->nodes->len; i++)
        {
          pointf c = ND_coord (nodes[i]);
          double w = ND_width (nodes[i]) * 72.0, h = ND_height (nodes[i]) * 72.0;
          double box[4] = { (c.x - w / 2 - bb.LL.x) * scale, (bb.UR.y - c.y - h / 2) * scale,
                            w * scale, h * scale };
          g_array_append_vals (b, box, 4);
        }
      if (boxes)
        *boxes = b;
      else
        g_array_unref (b);
      gvFreeLayout (gvc, g);
    }
  g_free (nodes);
  agclose (g);
  gvFreeContext (gvc);
  return out;
}

GBytes *
ht_heap_view_render (const HtHeapView *view, const char *format, GError **error)
{
  Agraph_t *g = build_graph (view, NULL);
  GBytes *out = NULL;
  if (g_str_equal (format, "dot"))
    {
      char *buf = NULL;
      size_t len = 0;
      FILE *f = open_memstream (&buf, &len);
      if (f && agwrite (g, f) == 0 && fclose (f) == 0)
        out = g_bytes_new_take (buf, len);
      else
        {
          if (f)
            fclose (f);
          free (buf);
          g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_SQLITE, "cannot write the graph");
        }
      agclose (g);
      return out;
    }
  GVC_t *gvc = gvContext ();
  char *data = NULL;
  unsigned int len = 0;
  if (gvLayout (gvc, g, "dot") != 0)
    g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_SQLITE, "Graphviz could not lay the graph out");
  else
    {
      if (gvRenderData (gvc, g, format, &data, &len) != 0 || !data)
        g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_SQLITE,
                     "Graphviz cannot render %s (is its plugin installed?)", format);
      else
        out = g_bytes_new (data, len);
      gvFreeRenderData (data);
      gvFreeLayout (gvc, g);
    }
  agclose (g);
  gvFreeContext (gvc);
  return out;
}

gboolean
ht_heap_view_write (const HtHeapView *view, const char *path, GError **error)
{
  const char *dot = strrchr (path, '.');
  const char *format = dot && g_ascii_strcasecmp (dot, ".svg") == 0   ? "svg"
                       : dot && g_ascii_strcasecmp (dot, ".png") == 0 ? "png"
                       : dot && g_ascii_strcasecmp (dot, ".dot") == 0 ? "dot"
                       : dot && g_ascii_strcasecmp (dot, ".gv") == 0  ? "dot"
                                                                      : NULL;
  if (!format)
    {
      g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_NOT_FOUND,
                   "%s: the file name must end in .dot, .gv, .svg or .png", path);
      return FALSE;
    }
  g_autoptr (GBytes) bytes = ht_heap_view_render (view, format, error);
  if (!bytes)
    return FALSE;
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  return g_file_set_contents (path, data, (gssize) len, error);
}

/* ---------------------------------------------------------------------------------------
 * Leak classes with other heuristics
 */
gboolean
ht_heap_reclassify (HtDb *db, gint64 snapshot, guint heuristics, GError **error)
{
  sqlite3 *h = ht_db_handle (db);
  sqlite3_stmt *st = NULL;
  GArray *size = g_array_new (FALSE, FALSE, sizeof (guint64));
  GArray *start = g_array_new (FALSE, TRUE, sizeof (guint));
  GArray *target = g_array_new (FALSE, FALSE, sizeof (guint));
  GArray *offset = g_array_new (FALSE, FALSE, sizeof (guint64));
  GArray *root_target = g_array_new (FALSE, FALSE, sizeof (guint));
  GArray *root_offset = g_array_new (FALSE, FALSE, sizeof (guint64));
  guint8 *reach = NULL;
  gboolean ok = FALSE;
  /* blocks are numbered 0, 1, 2... in a scan; each one's pointers, as packed at import */
  if (!ht_db_prepare (h, "SELECT id, size, refs FROM graph_blocks WHERE snapshot_id = ?"
                         " ORDER BY id", &st, error))
    goto out;
  sqlite3_bind_int64 (st, 1, snapshot);
  guint zero = 0;
  g_array_append_val (start, zero);
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      if ((guint64) sqlite3_column_int64 (st, 0) != size->len)
        {
          g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_NOT_OURS, "the heap graph's blocks are not "
                       "numbered in order");
          goto out;
        }
      guint64 sz = (guint64) sqlite3_column_int64 (st, 1);
      g_array_append_val (size, sz);
      const guint8 *p = sqlite3_column_blob (st, 2), *end = p + sqlite3_column_bytes (st, 2);
      guint64 other, word, off;
      while (p && p < end && read_varint (&p, end, &other) && read_varint (&p, end, &word)
             && read_varint (&p, end, &off))
        {
          guint t = (guint) other;
          guint64 eff = ht_graph_effective_offset (off, heuristics);
          g_array_append_val (target, t);
          g_array_append_val (offset, eff);
        }
      guint end_index = target->len;
      g_array_append_val (start, end_index);
    }
  g_clear_pointer (&st, sqlite3_finalize);
  if (!ht_db_prepare (h, "SELECT dst, offset FROM graph_roots WHERE snapshot_id = ?", &st, error))
    goto out;
  sqlite3_bind_int64 (st, 1, snapshot);
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      guint t = (guint) sqlite3_column_int64 (st, 0);
      guint64 eff = ht_graph_effective_offset ((guint64) sqlite3_column_int64 (st, 1), heuristics);
      if (t >= size->len)
        continue;
      g_array_append_val (root_target, t);
      g_array_append_val (root_offset, eff);
    }
  g_clear_pointer (&st, sqlite3_finalize);
  for (guint i = 0; i < target->len; i++)
    if (g_array_index (target, guint, i) >= size->len)
      {
        g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_NOT_OURS, "the heap graph names a block "
                     "it does not have");
        goto out;
      }
  HtGraph g = { size->len, (const guint64 *) size->data, (const guint *) start->data,
                (const guint *) target->data, (const guint64 *) offset->data, root_target->len,
                (const guint *) root_target->data, (const guint64 *) root_offset->data };
  reach = g_new (guint8, MAX (size->len, 1));
  ht_graph_classify (&g, reach);
  if (!ht_db_exec (h, "CREATE TEMP TABLE IF NOT EXISTS reach_override (id INTEGER PRIMARY KEY,"
                      " reach INTEGER NOT NULL); DELETE FROM temp.reach_override;", error)
      || !ht_db_exec (h, "BEGIN", error)
      || !ht_db_prepare (h, "INSERT INTO temp.reach_override VALUES (?, ?)", &st, error))
    goto out;
  for (guint i = 0; i < size->len; i++)
    {
      sqlite3_reset (st);
      sqlite3_bind_int64 (st, 1, i);
      sqlite3_bind_int (st, 2, reach[i]);
      if (sqlite3_step (st) != SQLITE_DONE)
        {
          ht_db_set_error (h, error, "reclassifying the heap graph");
          ht_db_exec (h, "ROLLBACK", NULL);
          goto out;
        }
    }
  ok = ht_db_exec (h, "COMMIT", error);
out:
  if (st)
    sqlite3_finalize (st);
  g_free (reach);
  g_array_unref (size);
  g_array_unref (start);
  g_array_unref (target);
  g_array_unref (offset);
  g_array_unref (root_target);
  g_array_unref (root_offset);
  return ok;
}
