/* ht-import-graph.c - the heap graphs of record --graph, as the importer reads them: each
 * scan's blocks (typed by tag, C++ vtable or Python type), the pointers between them and from
 * the roots, then memcheck's classes, dominators and retained sizes, and the graph tables
 * written to the database. */
#include <string.h>

#include "ht-error.h"
#include "ht-import-private.h"

static HtScan *
scan_new (void)
{
  HtScan *sc = g_new0 (HtScan, 1);
  sc->blocks = g_array_new (FALSE, FALSE, sizeof (HtScanBlock));
  sc->edges = g_array_new (FALSE, FALSE, sizeof (HtScanEdge));
  sc->roots = g_array_new (FALSE, FALSE, sizeof (HtScanRoot));
  return sc;
}

void
scan_free (HtScan *sc)
{
  if (!sc)
    return;
  g_array_unref (sc->blocks);
  g_array_unref (sc->edges);
  g_array_unref (sc->roots);
  g_free (sc->reach);
  g_free (sc->idom);
  g_free (sc->retained);
  g_free (sc);
}
/* The C++ class of an object from its first word: a pointer into "vtable for Node"
 * (_ZTV4Node) names it Node.  NULL for anything else. */
static const char *
vtable_class (HtImport *im, guint64 word)
{
  if (!word)
    return NULL;
  const char *known = g_hash_table_lookup (im->word_class, GSIZE_TO_POINTER (word));
  if (known)
    return *known ? known : NULL;
  /* vtables are in a module's data, which the map's executable ranges do not cover: ask
   * each module of the current map for its whole extent */
  const char *sym = NULL;
  for (guint m = 0; m < im->modules->len && !sym; m++)
    if (ht_symbolizer_module_contains (im->symbols, m, word))
      sym = ht_symbolizer_symbol_at (im->symbols, m, word);
  if (!sym || !g_str_has_prefix (sym, "_ZTV"))
    {
      g_hash_table_insert (im->word_class, GSIZE_TO_POINTER (word), (gpointer) "");
      return NULL;
    }
  const char *cls = g_hash_table_lookup (im->class_names, sym);
  if (!cls)
    {
      g_autofree char *d = ht_demangle (sym); /* "vtable for Node" */
      cls = g_str_has_prefix (d, "vtable for ") ? d + 11 : d;
      char *copy = g_strdup (cls);
      g_hash_table_insert (im->class_names, g_strdup (sym), copy);
      cls = copy;
    }
  g_hash_table_insert (im->word_class, GSIZE_TO_POINTER (word), (gpointer) cls);
  return cls;
}

/* A live block reported by --graph: an object with a vtable is typed by its class, like a
 * heaptrail_tag, unless the program tagged it itself. */
void
on_block (HtImport *im, const HtEvent *e)
{
  if (!g_hash_table_contains (im->tagged, GSIZE_TO_POINTER (e->block.ptr)))
    {
      const char *cls = e->tag == HT_REC_PYBLOCK
                          ? g_hash_table_lookup (im->py_types, GSIZE_TO_POINTER (e->block.word))
                          : vtable_class (im, e->block.word);
      if (cls)
        {
          HtEvent tag = { .tag = HT_REC_TAG, .stream = e->stream, .stamp = e->stamp };
          tag.typetag.ptr = e->block.ptr;
          tag.typetag.type = (char *) cls;
          on_tag (im, &tag);
        }
    }
  if (!im->scan || im->scan->closed)
    {
      scan_free (im->scan);
      im->scan = scan_new ();
    }
  const HtBlock *b = ht_block_map_lookup (&im->blocks, e->block.ptr);
  gpointer type = g_hash_table_lookup (im->tagged, GSIZE_TO_POINTER (e->block.ptr));
  HtScanBlock sb = { e->block.ptr, e->block.size,
                     b ? b->node : 0,
                     type ? (gint32) GPOINTER_TO_UINT (type) - 1 : -1,
                     e->tag == HT_REC_PYBLOCK ? (guint8) (e->block.gc_head + 1) : 0,
                     b ? b->stamp : 0 };
  g_array_append_val (im->scan->blocks, sb);
}

/* EDGES and ROOTS name blocks by their number in the scan: checked against it. */
static gboolean
check_refs (HtImport *im, const guint64 *items, guint count, GError **error)
{
  guint n = im->scan && !im->scan->closed ? im->scan->blocks->len : 0;
  for (guint i = 0; i < count; i++)
    {
      guint64 t = items[3 * i + 1], off = items[3 * i + 2] & HT_OFFSET_MASK;
      if (t >= n)
        {
          g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT,
                       "corrupt log: heap graph names block %" G_GUINT64_FORMAT " of %u", t, n);
          return FALSE;
        }
      guint64 size = g_array_index (im->scan->blocks, HtScanBlock, t).size;
      if (off != 0 && off >= size)
        {
          g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT,
                       "corrupt log: heap graph points past the end of a block");
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
on_edges (HtImport *im, const HtEvent *e, GError **error)
{
  if (!check_refs (im, e->edges.items, e->edges.count, error))
    return FALSE;
  if (e->edges.source >= im->scan->blocks->len)
    {
      g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT,
                   "corrupt log: heap graph edge from an unknown block");
      return FALSE;
    }
  const HtScanBlock *source = &g_array_index (im->scan->blocks, HtScanBlock, e->edges.source);
  guint64 size = source->size;
  for (guint i = 0; i < e->edges.count; i++)
    {
      HtScanEdge edge = { (guint32) e->edges.source, (guint32) e->edges.items[3 * i + 1],
                          e->edges.items[3 * i], e->edges.items[3 * i + 2], FALSE };
      guint64 at = 8 * edge.word;
      edge.gc_link = source->gc_head && at >= source->gc_head - 1u && at < source->gc_head + 15u;
      if (edge.word >= size / 8)
        {
          g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT,
                       "corrupt log: heap graph edge from past the end of a block");
          return FALSE;
        }
      g_array_append_val (im->scan->edges, edge);
    }
  return TRUE;
}

gboolean
on_roots (HtImport *im, const HtEvent *e, GError **error)
{
  if (!check_refs (im, e->roots.items, e->roots.count, error))
    return FALSE;
  for (guint i = 0; i < e->roots.count; i++)
    {
      HtScanRoot r = { e->roots.kind, (guint32) e->roots.items[3 * i + 1], e->roots.tid,
                       e->roots.base + 8 * e->roots.items[3 * i], e->roots.items[3 * i + 2] };
      g_array_append_val (im->scan->roots, r);
    }
  return TRUE;
}

static gint
edge_by_source (gconstpointer a, gconstpointer b)
{
  const HtScanEdge *x = a, *y = b;
  return x->src != y->src ? (x->src < y->src ? -1 : 1)
                          : (x->word < y->word ? -1 : x->word > y->word);
}

static void scan_analyze (HtScan *sc, gboolean classify);

/* SCAN closes the scan: classes, dominators and retained sizes are computed now. */
void
on_scan (HtImport *im, const HtEvent *e)
{
  if (!im->scan || im->scan->closed)
    {
      scan_free (im->scan);
      im->scan = scan_new (); /* an empty heap */
    }
  HtScan *sc = im->scan;
  sc->closed = TRUE;
  sc->root_words = e->scan.root_words;
  sc->heap_scanned = e->scan.heap_bytes;
  sc->root_scanned = e->scan.root_bytes;
  sc->stopped = e->scan.stopped;
  sc->missed = e->scan.missed;
  sc->duration_ns = e->scan.duration_ns;
  sc->flags = e->scan.flags;
  if (sc->missed)
    g_string_append_printf (im->warnings,
                            "%" G_GUINT64_FORMAT " threads could not be stopped for a heap scan "
                            "(they block signals): what only their stacks hold counts as lost\n",
                            sc->missed);
  if (sc->flags & HT_SCAN_NOT_STOPPED)
    g_string_append (im->warnings, "a heap scan could not stop the other threads (no free "
                                   "real-time signal): their stacks were not scanned\n");
  if (sc->flags & HT_SCAN_INCOMPLETE)
    g_string_append (im->warnings, "a heap scan is incomplete (the recorder ran out of "
                                   "memory): some pointers are missing\n");

  g_array_sort (sc->edges, edge_by_source);
  sc->reach = g_new (guint8, MAX (sc->blocks->len, 1));
  sc->idom = g_new (gint64, MAX (sc->blocks->len, 1));
  sc->retained = g_new (guint64, MAX (sc->blocks->len, 1));
  /* memcheck's classes follow every word, the GC's list links included, as valgrind does;
   * who keeps what alive (dominators, backrefs) follows references only */
  scan_analyze (sc, TRUE);
  scan_analyze (sc, FALSE);
}

/* Leak classes (`classify`: every edge, memcheck's default heuristics) or dominators and
 * retained sizes (references only: no GC list links), from the scan's edges (sorted by
 * source). */
static void
scan_analyze (HtScan *sc, gboolean classify)
{
  guint n = sc->blocks->len, m = 0;
  guint64 *size = g_new (guint64, MAX (n, 1));
  guint *start = g_new0 (guint, n + 1), *target = g_new (guint, MAX (sc->edges->len, 1));
  guint64 *offset = g_new (guint64, MAX (sc->edges->len, 1));
  for (guint i = 0; i < n; i++)
    size[i] = g_array_index (sc->blocks, HtScanBlock, i).size;
  for (guint i = 0; i < sc->edges->len; i++)
    {
      const HtScanEdge *edge = &g_array_index (sc->edges, HtScanEdge, i);
      if (!classify && edge->gc_link)
        continue;
      start[edge->src + 1]++;
      target[m] = edge->dst;
      offset[m++] = ht_graph_effective_offset (edge->offset, HT_HEUR_ALL);
    }
  for (guint i = 0; i < n; i++)
    start[i + 1] += start[i];
  guint nr = sc->roots->len;
  guint *root_target = g_new (guint, MAX (nr, 1));
  guint64 *root_offset = g_new (guint64, MAX (nr, 1));
  for (guint i = 0; i < nr; i++)
    {
      root_target[i] = g_array_index (sc->roots, HtScanRoot, i).dst;
      root_offset[i] = ht_graph_effective_offset (g_array_index (sc->roots, HtScanRoot, i).offset,
                                                  HT_HEUR_ALL);
    }
  HtGraph g = { n, size, start, target, offset, nr, root_target, root_offset };
  if (classify)
    ht_graph_classify (&g, sc->reach);
  else
    ht_graph_dominators (&g, sc->reach, sc->idom, sc->retained);
  g_free (size);
  g_free (start);
  g_free (target);
  g_free (offset);
  g_free (root_target);
  g_free (root_offset);
}

/* The closed scan waiting for its snapshot, handed over; an unclosed one (a log of format
 * 2, which had no SCAN) is dropped. */
HtScan *
take_scan (HtImport *im)
{
  HtScan *sc = im->scan;
  im->scan = NULL;
  if (sc && !sc->closed)
    g_clear_pointer (&sc, scan_free);
  return sc;
}

/* How a root is named in graphs: the global (demangled, with an offset inside it), else
 * the object's segment; a thread's stack or TLS by the thread. */
static char *
root_name (HtImport *im, const HtScanRoot *r)
{
  const char *what = r->kind == HT_ROOT_STACK ? "stack" : "TLS";
  if (r->kind == HT_ROOT_ANON)
    return g_strdup ("anonymous mappings");
  if (r->kind == HT_ROOT_STACK || r->kind == HT_ROOT_TLS)
    return r->tid == ht_reader_info (im->reader)->pid
             ? g_strdup_printf ("%s of main thread", what)
             : g_strdup_printf ("%s of thread %" G_GUINT64_FORMAT, what, r->tid);
  for (guint m = 0; m < im->modules->len; m++)
    if (ht_symbolizer_module_contains (im->symbols, m, r->addr))
      {
        char *sym = ht_symbolizer_describe_data (im->symbols, m, r->addr);
        if (sym)
          return sym;
        const HtModuleInfo *info = im->modules->pdata[m];
        const char *base = strrchr (info->path, '/');
        return g_strdup_printf ("%s data+0x%" G_GINT64_MODIFIER "x", base ? base + 1 : info->path,
                                r->addr - info->bias);
      }
  return g_strdup_printf ("data at 0x%" G_GINT64_MODIFIER "x", r->addr);
}

static gboolean
step_done (sqlite3 *db, sqlite3_stmt *st, GError **error)
{
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  sqlite3_reset (st);
  return ok ? TRUE : ht_db_set_error (db, error, "writing the heap graph");
}

static void
put_varint (GByteArray *out, guint64 v)
{
  guint8 buf[HT_VARINT_MAX];
  g_byte_array_append (out, buf, (guint) ht_varint_put (buf, v));
}

/* A block's pointers, one way: (other block, word index in the source, offset in the
 * target) varint triples, the form graph_blocks keeps them in (see ht-db.c). */
static void
pack_edges (GByteArray *out, const HtScanEdge *const *edges, guint n, gboolean incoming)
{
  g_byte_array_set_size (out, 0);
  for (guint i = 0; i < n; i++)
    {
      put_varint (out, incoming ? edges[i]->src : edges[i]->dst);
      put_varint (out, edges[i]->word << 1 | (edges[i]->gc_link ? 1 : 0));
      put_varint (out, edges[i]->offset);
    }
}

gboolean
write_graph (HtImport *im, sqlite3 *db, gint64 snapshot, const HtScan *sc, GError **error)
{
  sqlite3_stmt *graph = NULL, *block = NULL, *root = NULL;
  gboolean ok = FALSE;
  guint n = sc->blocks->len, m = sc->edges->len;
  /* edges are sorted by source (on_scan); the incoming ones, grouped by target */
  const HtScanEdge **out_edges = g_new (const HtScanEdge *, MAX (m, 1));
  const HtScanEdge **in_edges = g_new (const HtScanEdge *, MAX (m, 1));
  guint *in_start = g_new0 (guint, n + 1), *out_start = g_new0 (guint, n + 1);
  for (guint i = 0; i < m; i++)
    {
      const HtScanEdge *e = &g_array_index (sc->edges, HtScanEdge, i);
      out_edges[i] = e;
      out_start[e->src + 1]++;
      in_start[e->dst + 1]++;
    }
  for (guint i = 0; i < n; i++)
    {
      out_start[i + 1] += out_start[i];
      in_start[i + 1] += in_start[i];
    }
  guint *fill = g_memdup2 (in_start, (n + 1) * sizeof (guint));
  for (guint i = 0; i < m; i++)
    in_edges[fill[out_edges[i]->dst]++] = out_edges[i];
  g_free (fill);
  GByteArray *refs = g_byte_array_new (), *referrers = g_byte_array_new ();
  GHashTable *names = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);

  if (!ht_db_prepare (db, "INSERT INTO graphs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &graph,
                      error)
      || !ht_db_prepare (db,
                         "INSERT INTO graph_blocks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         &block, error)
      || !ht_db_prepare (db, "INSERT INTO graph_roots VALUES (?, ?, ?, ?, ?, ?, ?)", &root,
                         error))
    goto out;
  guint64 bytes = 0;
  for (guint i = 0; i < n; i++)
    {
      const HtScanBlock *b = &g_array_index (sc->blocks, HtScanBlock, i);
      bytes += b->size;
      sqlite3_bind_int64 (block, 1, snapshot);
      sqlite3_bind_int64 (block, 2, i);
      sqlite3_bind_int64 (block, 3, (gint64) b->addr);
      sqlite3_bind_int64 (block, 4, (gint64) b->size);
      sqlite3_bind_int64 (block, 5, b->trace);
      if (b->type >= 0)
        sqlite3_bind_text (block, 6, im->type_names->pdata[b->type], -1, SQLITE_STATIC);
      else
        sqlite3_bind_null (block, 6);
      sqlite3_bind_int (block, 7, sc->reach[i]);
      sqlite3_bind_int64 (block, 8, sc->idom[i]);
      sqlite3_bind_int64 (block, 9, (gint64) sc->retained[i]);
      pack_edges (refs, out_edges + out_start[i], out_start[i + 1] - out_start[i], FALSE);
      pack_edges (referrers, in_edges + in_start[i], in_start[i + 1] - in_start[i], TRUE);
      static const guint8 none = 0; /* an empty BLOB, not NULL */
      sqlite3_bind_blob (block, 10, refs->len ? refs->data : &none, (int) refs->len,
                         SQLITE_STATIC);
      sqlite3_bind_blob (block, 11, referrers->len ? referrers->data : &none,
                         (int) referrers->len, SQLITE_STATIC);
      sqlite3_bind_int64 (block, 12, span_bucket (im, b->stamp));
      if (!step_done (db, block, error))
        goto out;
    }
  static const char *const kinds[] = { "", "data", "stack", "tls", "mapping" };
  for (guint i = 0; i < sc->roots->len; i++)
    {
      const HtScanRoot *r = &g_array_index (sc->roots, HtScanRoot, i);
      gint64 key = r->kind == HT_ROOT_DATA ? (gint64) r->addr : -(gint64) (r->tid * 8 + r->kind);
      const char *name = g_hash_table_lookup (names, &key);
      if (!name)
        {
          name = root_name (im, r);
          g_hash_table_insert (names, g_memdup2 (&key, sizeof key), (gpointer) name);
        }
      sqlite3_bind_int64 (root, 1, snapshot);
      sqlite3_bind_text (root, 2, kinds[r->kind], -1, SQLITE_STATIC);
      sqlite3_bind_int64 (root, 3, (gint64) r->tid);
      sqlite3_bind_int64 (root, 4, (gint64) r->addr);
      sqlite3_bind_text (root, 5, name, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (root, 6, r->dst);
      sqlite3_bind_int64 (root, 7, (gint64) r->offset);
      if (!step_done (db, root, error))
        goto out;
    }
  sqlite3_bind_int64 (graph, 1, snapshot);
  sqlite3_bind_int64 (graph, 2, sc->blocks->len);
  sqlite3_bind_int64 (graph, 3, (gint64) bytes);
  sqlite3_bind_int64 (graph, 4, sc->edges->len);
  sqlite3_bind_int64 (graph, 5, (gint64) sc->root_words);
  sqlite3_bind_int64 (graph, 6, (gint64) sc->heap_scanned);
  sqlite3_bind_int64 (graph, 7, (gint64) sc->root_scanned);
  sqlite3_bind_int64 (graph, 8, (gint64) sc->stopped);
  sqlite3_bind_int64 (graph, 9, (gint64) sc->missed);
  sqlite3_bind_double (graph, 10, (double) sc->duration_ns / 1e9);
  sqlite3_bind_int64 (graph, 11, (gint64) sc->flags);
  ok = step_done (db, graph, error);
out:
  sqlite3_finalize (graph);
  sqlite3_finalize (block);
  sqlite3_finalize (root);
  g_byte_array_unref (refs);
  g_byte_array_unref (referrers);
  g_hash_table_unref (names);
  g_free (out_edges);
  g_free (in_edges);
  g_free (out_start);
  g_free (in_start);
  return ok;
}
