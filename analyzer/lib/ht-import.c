/* ht-import.c - one streaming pass from log to database.
 *
 *   reader (events in stamp order) ──▶ live blocks (HtBlockMap) ──▶ per-trace counters
 *                                                                   │ at the end
 *                       symbolizer (libdw) ◀── visible frames ◀─────┘ ──▶ SQLite (tmp, rename)
 *
 * Memory is bounded by the live blocks and the distinct call stacks, never by the number
 * of events.  The exact peak is found from the events, not from samples: each trace keeps
 * its live count and bytes, and a lazily saved copy of them as of the latest peak.  When
 * the heap reaches a new maximum only an epoch counter moves; a trace saves its counters
 * the first time it changes after that.  So the peak snapshot costs O(1) per event.
 *
 * Temporary allocation (heaptrack's definition, per thread): a block freed by the thread
 * that allocated it before that thread allocated anything else.
 *
 * The heap graphs of record --graph are read and written by ht-import-graph.c, the database
 * is written at the end by ht-import-db.c; the state they share is in ht-import-private.h.
 */
#define _GNU_SOURCE /* sigabbrev_np */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ht-blockmap.h"
#include "ht-db.h"
#include "ht-error.h"
#include "ht-graph.h"
#include "ht-heaptrack.h"
#include "ht-import-private.h"
#include "ht-pycode.h"
#include "ht-reader.h"
#include "ht-symbols.h"

static void
snap_free (gpointer data)
{
  HtSnap *s = data;
  g_free (s->label);
  g_array_unref (s->entries);
  g_array_unref (s->types);
  scan_free (s->scan);
  g_free (s);
}

static void
py_code_info_free (gpointer data)
{
  HtPyCodeInfo *c = data;
  g_free (c->filename);
  g_free (c->qualname);
  g_bytes_unref (c->linetable);
  g_free (c);
}

static const char *tmp_path_current;

const char *
ht_import_current_tmp_path (void)
{
  return tmp_path_current;
}

char *
ht_import_default_db_path (const char *log_path)
{
  return g_strconcat (log_path, ".db", NULL);
}

/* ---------------------------------------------------------------------------------------
 * Traces
 */
static HtNode *
node_get (HtImport *im, guint32 id, GError **error)
{
  /* The recorder numbers nodes 1, 2, 3...; an event may name a node whose definition
   * another thread writes a moment later, but never one far beyond those defined.  So
   * the table, indexed by id, grows with the log's own size, never with a number in it. */
  if (id >= MAX_NODE_ID || id > 2 * im->defined_nodes + 65536)
    {
      g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT,
                   "corrupt log: reference to unknown trace node %u", id);
      return NULL;
    }
  if (id >= im->nodes->len)
    {
      guint old = im->nodes->len;
      g_array_set_size (im->nodes, MAX (id + 1, old * 2));
      for (guint i = old; i < im->nodes->len; i++)
        g_array_index (im->nodes, HtNode, i).module = -1;
    }
  return &g_array_index (im->nodes, HtNode, id);
}

/* Before a trace's counters change, saves them if they still describe the latest peak. */
static inline void
node_touch (HtImport *im, HtNode *n)
{
  if (n->peak_epoch != im->peak_epoch)
    {
      n->peak_count = n->live_count;
      n->peak_bytes = n->live_bytes;
      n->peak_epoch = im->peak_epoch;
    }
}

static int
range_cmp (gconstpointer a, gconstpointer b)
{
  const HtMapRange *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

static gint32
map_find (GArray *map, guint64 ip)
{
  guint lo = 0, hi = map->len;
  while (lo < hi)
    {
      guint mid = (lo + hi) / 2;
      const HtMapRange *r = &g_array_index (map, HtMapRange, mid);
      if (ip < r->start)
        hi = mid;
      else if (ip >= r->end)
        lo = mid + 1;
      else
        return (gint32) r->module;
    }
  return -1;
}

/* The module holding `ip`: in the current map, else the latest older map that has it. */
static gint32
module_of (HtImport *im, guint64 ip)
{
  if (!im->map_sorted && im->maps->len > 0)
    {
      g_array_sort (im->maps->pdata[im->maps->len - 1], range_cmp);
      im->map_sorted = TRUE;
    }
  for (guint i = im->maps->len; i-- > 0;)
    {
      gint32 m = map_find (im->maps->pdata[i], ip);
      if (m >= 0)
        return m;
    }
  return -1;
}

static void
add_module (HtImport *im, gboolean new_map, HtModuleInfo *info)
{
  if (new_map || im->maps->len == 0)
    {
      g_ptr_array_add (im->maps, g_array_new (FALSE, FALSE, sizeof (HtMapRange)));
      if (im->maps->len > 1)
        g_array_sort (im->maps->pdata[im->maps->len - 2], range_cmp);
    }
  im->map_sorted = FALSE;
  g_autofree char *key = g_strdup_printf ("%s\n%" G_GUINT64_FORMAT "\n%s", info->path,
                                          info->bias, info->build_id);
  guint index = GPOINTER_TO_UINT (g_hash_table_lookup (im->module_index, key));
  if (index == 0)
    {
      index = ht_symbolizer_add_module (im->symbols, info) + 1;
      g_ptr_array_add (im->modules, info);
      g_hash_table_insert (im->module_index, g_steal_pointer (&key), GUINT_TO_POINTER (index));
      const char *w = ht_symbolizer_module_warning (im->symbols, index - 1);
      if (w)
        g_string_append_printf (im->warnings, "%s\n", w);
    }
  GArray *map = im->maps->pdata[im->maps->len - 1];
  for (guint i = 0; i < info->nsegments; i++)
    {
      guint64 start = info->bias + info->segments[2 * i];
      HtMapRange r = { start, start + info->segments[2 * i + 1], index - 1 };
      g_array_append_val (map, r);
    }
  if (im->modules->pdata[index - 1] != info)
    ht_module_info_free (info); /* the same object again, in a later map */
}

static HtStreamState *
stream_state (HtImport *im, guint32 stream)
{
  if (im->last_state && im->last_state_id == stream)
    return im->last_state;
  HtStreamState *s = g_hash_table_lookup (im->streams, GUINT_TO_POINTER (stream));
  if (!s)
    {
      s = g_new0 (HtStreamState, 1);
      g_hash_table_insert (im->streams, GUINT_TO_POINTER (stream), s);
    }
  im->last_state = s;
  im->last_state_id = stream;
  return s;
}

/* The live blocks per trace right now, or as of the latest peak.  O(traces): snapshots
 * are few, events are many. */
HtSnap *
snap_capture (HtImport *im, const char *kind, char *label, guint64 stamp, gboolean peak)
{
  HtSnap *snap = g_new0 (HtSnap, 1);
  snap->label = label;
  snap->kind = kind;
  snap->stamp = stamp;
  snap->bytes = peak ? im->peak_bytes : im->heap_bytes;
  snap->blocks = peak ? im->peak_blocks : im->heap_blocks;
  snap->entries = g_array_new (FALSE, FALSE, sizeof (HtSnapEntry));
  snap->types = g_array_new (FALSE, TRUE, sizeof (HtTally));
  if (!peak)
    g_array_append_vals (snap->types, im->type_live->data, im->type_live->len);
  for (guint i = 0; i < im->nodes->len; i++)
    {
      HtNode *n = &g_array_index (im->nodes, HtNode, i);
      HtSnapEntry e = { i, n->live_count, n->live_bytes, n->tagged_count, n->tagged_bytes };
      if (peak) /* tags are not followed back to the peak */
        e.tagged_count = e.tagged_bytes = 0;
      if (peak && n->peak_epoch == im->peak_epoch) /* changed since the peak: saved copy */
        {
          e.count = n->peak_count;
          e.bytes = n->peak_bytes;
        }
      if (e.count > 0)
        g_array_append_val (snap->entries, e);
    }
  return snap;
}

/* Labels name snapshots in queries, so they are made unique: "label #2", "label #3". */
char *
snap_label (HtImport *im, const char *wanted)
{
  char *label = g_strdup (wanted && *wanted ? wanted : "snapshot");
  for (int n = 2; g_hash_table_contains (im->labels, label); n++)
    {
      g_free (label);
      label = g_strdup_printf ("%s #%d", wanted && *wanted ? wanted : "snapshot", n);
    }
  g_hash_table_add (im->labels, g_strdup (label));
  return label;
}

/* ---------------------------------------------------------------------------------------
 * Events
 */
/* Frames symbolized before the log was written (a converted heaptrack file's). */
static void
frame_set_free (gpointer p)
{
  HtFrameSet *f = p;
  g_strfreev (f->strings);
  g_free (f->frames);
  g_free (f);
}

static void
on_frames (HtImport *im, HtEvent *e)
{
  HtFrameSet *f = g_new0 (HtFrameSet, 1);
  f->count = e->frames.count;
  f->frames = g_new0 (HtFrame, f->count);
  f->strings = g_new0 (char *, 2 * f->count + 1);
  guint k = 0;
  for (guint i = 0; i < f->count; i++)
    {
      if (e->frames.functions[i])
        f->frames[i].function = f->strings[k++] = g_steal_pointer (&e->frames.functions[i]);
      if (e->frames.files[i])
        f->frames[i].file = f->strings[k++] = g_steal_pointer (&e->frames.files[i]);
      f->frames[i].line = e->frames.lines[i];
    }
  g_hash_table_replace (im->frame_sets, GSIZE_TO_POINTER (e->frames.ip), f);
}

/* What one recorded block stands for.  Exact recordings: itself.  Sampled ones (record
 * --sample): a block of size S was recorded with probability p = 1 - exp(-S / mean), so it
 * stands for 1/p blocks and S/p bytes, which makes every sum unbiased.  The fractions are
 * rounded up or down at random, with a draw that hashes the block's address and stamp:
 * the block's free recomputes the same weight, so live figures come back to zero. */
typedef struct
{
  guint64 count, bytes;
} HtWeight;

static HtWeight
weigh (const HtImport *im, guint64 ptr, guint64 size, guint64 stamp)
{
  if (G_LIKELY (im->sample_mean == 0 || size == 0))
    return (HtWeight){ 1, size };
  double w = -1.0 / expm1 (-(double) size / (double) im->sample_mean);
  guint64 h = (ptr ^ (stamp * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15)));
  h ^= h >> 33;
  h *= G_GUINT64_CONSTANT (0xff51afd7ed558ccd);
  h ^= h >> 33;
  double u = (double) (h >> 11) / 9007199254740992.0;
  double bytes = w * (double) size;
  HtWeight r = { (guint64) w, (guint64) bytes };
  r.count += u < w - (double) r.count;
  r.bytes += u < bytes - (double) r.bytes;
  return r;
}

static inline HtWeight
block_weight (const HtImport *im, const HtBlock *b)
{
  return weigh (im, b->ptr, b->size, b->stamp);
}

/* The block at b->ptr leaves the live heap (freed, or its address handed out again): if
 * it was tagged, its type and its trace count one tagged block less. */
static void
untag (HtImport *im, const HtBlock *b)
{
  if (g_hash_table_size (im->tagged) == 0)
    return;
  gpointer v = g_hash_table_lookup (im->tagged, GSIZE_TO_POINTER (b->ptr));
  if (!v)
    return;
  g_hash_table_remove (im->tagged, GSIZE_TO_POINTER (b->ptr));
  HtWeight w = block_weight (im, b);
  HtTally *t = &g_array_index (im->type_live, HtTally, GPOINTER_TO_UINT (v) - 1);
  t->count -= (gint64) w.count;
  t->bytes -= (gint64) w.bytes;
  HtNode *n = &g_array_index (im->nodes, HtNode, b->node);
  n->tagged_count -= (gint64) w.count;
  n->tagged_bytes -= (gint64) w.bytes;
}

void
on_tag (HtImport *im, const HtEvent *e)
{
  HtBlock *b = ht_block_map_lookup (&im->blocks, e->typetag.ptr);
  if (!b || !e->typetag.type)
    return; /* not a live block (or not a counted one): nothing to name */
  HtBlock copy = *b;
  untag (im, &copy);
  guint id = GPOINTER_TO_UINT (g_hash_table_lookup (im->type_ids, e->typetag.type));
  if (id == 0)
    {
      g_ptr_array_add (im->type_names, g_strdup (e->typetag.type));
      id = im->type_names->len;
      g_hash_table_insert (im->type_ids, g_strdup (e->typetag.type), GUINT_TO_POINTER (id));
      g_array_set_size (im->type_live, id);
    }
  g_hash_table_insert (im->tagged, GSIZE_TO_POINTER (copy.ptr), GUINT_TO_POINTER (id));
  HtWeight w = block_weight (im, &copy);
  HtTally *t = &g_array_index (im->type_live, HtTally, id - 1);
  t->count += (gint64) w.count;
  t->bytes += (gint64) w.bytes;
  HtNode *n = &g_array_index (im->nodes, HtNode, copy.node);
  n->tagged_count += (gint64) w.count;
  n->tagged_bytes += (gint64) w.bytes;
}

/* A counted live block leaves the heap without a free we saw. */
static void
forget_block (HtImport *im, const HtBlock *old)
{
  untag (im, old);
  HtWeight w = block_weight (im, old);
  HtNode *on = node_get (im, old->node, NULL);
  node_touch (im, on);
  on->live_count -= (gint64) w.count;
  on->live_bytes -= (gint64) w.bytes;
  HtSpan *span = span_of_block (im, on, old->stamp);
  if (span)
    {
      span->live_count -= (gint64) w.count;
      span->live_bytes -= (gint64) w.bytes;
    }
  im->heap_bytes -= w.bytes;
  im->heap_blocks -= w.count;
}

/* The process executed a new program that goes on with this log: the old image's blocks
 * went with it (not frees; counted apart), and the recording is not over. */
static void
on_image (HtImport *im, HtEvent *e)
{
  for (gsize i = 0; i <= im->blocks.mask; i++)
    {
      HtBlock *b = &im->blocks.slots[i];
      if (!b->ptr)
        continue;
      HtWeight w = block_weight (im, b);
      im->exec_released_blocks += w.count;
      im->exec_released_bytes += w.bytes;
      forget_block (im, b);
    }
  ht_block_map_clear (&im->blocks);
  ht_block_map_init (&im->blocks);
  if (!im->exec_chain)
    {
      const HtLogInfo *info = ht_reader_info (im->reader);
      im->exec_chain = g_string_new (NULL);
      g_autofree char *first = g_path_get_basename (info->exe);
      g_string_append (im->exec_chain, first);
    }
  g_autofree char *base = g_path_get_basename (e->image.exe ? e->image.exe : "?");
  g_string_append_printf (im->exec_chain, " \u2192 %s", base);
  g_free (im->image_exe);
  g_strfreev (im->image_argv);
  im->image_exe = g_steal_pointer (&e->image.exe);
  im->image_argv = g_steal_pointer (&e->image.argv);
  im->ended = FALSE;
}

static gboolean on_alloc_as (HtImport *im, const HtEvent *e, gboolean parking, GError **error);
static void on_free_as (HtImport *im, const HtEvent *e, gboolean parking);

/* A held event (ht-import-skew.c), applied as it would have been without holding. */
static gboolean
apply_parked (HtImport *im, const HtEvent *p, GError **error)
{
  if (p->tag == HT_REC_ALLOC)
    return on_alloc_as (im, p, TRUE, error);
  on_free_as (im, p, TRUE);
  return TRUE;
}

static gboolean
on_alloc_as (HtImport *im, const HtEvent *e, gboolean parking, GError **error)
{
  HtNode *n = node_get (im, e->alloc.node, error);
  if (!n || e->alloc.ptr == 0)
    {
      if (n)
        g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT,
                     "corrupt log: allocation at address 0");
      return FALSE;
    }
  if (e->alloc.size > (G_GUINT64_CONSTANT (1) << 48))
    {
      g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT,
                   "corrupt log: absurd allocation size %" G_GUINT64_FORMAT, e->alloc.size);
      return FALSE;
    }
  HtBlock b = { e->alloc.ptr, e->alloc.size, e->alloc.node, e->stream, e->stamp }, old;
  if (ht_block_map_insert (&im->blocks, &b, &old))
    {
      if (im->skew_stamps && !parking)
        {
          /* still live: its free may be another thread's, stamped a little later */
          ht_block_map_insert (&im->blocks, &old, NULL);
          ht_skew_park (im, e);
          return TRUE;
        }
      /* an address handed out twice without a free in between: the free was lost */
      forget_block (im, &old);
      im->unmatched_frees++;
    }
  HtWeight w = block_weight (im, &b);
  n = &g_array_index (im->nodes, HtNode, e->alloc.node);
  node_touch (im, n);
  n->alloc_count += w.count;
  n->alloc_bytes += w.bytes;
  n->live_count += (gint64) w.count;
  n->live_bytes += (gint64) w.bytes;
  HtSpan *span = span_for_alloc (im, n, e->stamp);
  span->alloc_count += w.count;
  span->alloc_bytes += w.bytes;
  span->live_count += (gint64) w.count;
  span->live_bytes += (gint64) w.bytes;
  im->sampled_allocs++;
  im->alloc_calls += w.count;
  im->total_bytes += w.bytes;
  im->heap_bytes += w.bytes;
  im->heap_blocks += w.count;
  if (im->heap_bytes > im->peak_bytes)
    {
      im->peak_bytes = im->heap_bytes;
      im->peak_blocks = im->heap_blocks;
      im->peak_stamp = e->stamp;
      im->peak_epoch++;
    }
  HtStreamState *st = stream_state (im, e->stream);
  st->last_alloc = e->alloc.ptr;
  st->alloc_count += w.count;
  st->alloc_bytes += w.bytes;
  guint bucket = e->alloc.size == 0 ? 0 : MIN (64 - (guint) __builtin_clzll (e->alloc.size),
                                                SIZE_BUCKETS - 1);
  im->size_count[bucket] += w.count;
  im->size_bytes[bucket] += w.bytes;
  return TRUE;
}

static void
on_free_as (HtImport *im, const HtEvent *e, gboolean parking)
{
  HtBlock b;
  HtStreamState *s = stream_state (im, e->stream);
  if (!ht_block_map_remove (&im->blocks, e->free.ptr, &b))
    {
      if (im->skew_stamps && !parking)
        {
          /* not live: its allocation may be another thread's, stamped a little later */
          ht_skew_park (im, e);
          return;
        }
      /* allocated before recording started, or while paused; after an attach, these are
       * the program's blocks from before it, counted apart (unmatched_frees) only */
      if (!ht_reader_info (im->reader)->attached)
        {
          im->free_calls++;
          s->frees++;
        }
      im->unmatched_frees++;
      s->last_freed.ptr = 0;
      return;
    }
  HtWeight w = block_weight (im, &b);
  im->free_calls += w.count;
  s->frees += w.count;
  untag (im, &b);
  HtNode *n = &g_array_index (im->nodes, HtNode, b.node);
  node_touch (im, n);
  n->live_count -= (gint64) w.count;
  n->live_bytes -= (gint64) w.bytes;
  HtSpan *span = span_of_block (im, n, b.stamp);
  if (span)
    {
      span->live_count -= (gint64) w.count;
      span->live_bytes -= (gint64) w.bytes;
    }
  im->heap_bytes -= w.bytes;
  im->heap_blocks -= w.count;
  if ((e->stamp > b.stamp ? e->stamp - b.stamp : 0) < im->short_lived_stamps)
    {
      n->short_lived += w.count;
      n->short_lived_bytes += w.bytes;
      im->short_lived += w.count;
      if (span)
        {
          span->short_lived += w.count;
          span->short_lived_bytes += w.bytes;
        }
    }
  /* temporary: freed before the thread's next allocation, which a sampled log cannot tell */
  if (s->last_alloc == b.ptr && b.stream == e->stream && !im->sample_mean)
    {
      n->temporary += w.count;
      n->temporary_bytes += w.bytes;
      im->temporary += w.count;
      s->temporary += w.count;
      if (span)
        {
          span->temporary += w.count;
          span->temporary_bytes += w.bytes;
        }
    }
  s->last_alloc = 0;
  s->last_freed = b;
}

/* A realloc failed after its FREE was recorded: the block lives on. */
static void
on_unfree (HtImport *im, const HtEvent *e)
{
  if (G_UNLIKELY (im->parked->len) && ht_skew_drop_free (im, e))
    return; /* the free it takes back was never applied */
  HtStreamState *s = stream_state (im, e->stream);
  HtBlock b = s->last_freed;
  if (b.ptr == 0 || b.ptr != e->free.ptr)
    {
      im->free_calls--;
      return; /* nothing (known) was freed just before: a corrupt log, or an unknown block */
    }
  HtWeight w = block_weight (im, &b);
  im->free_calls -= w.count;
  HtNode *n = &g_array_index (im->nodes, HtNode, b.node);
  node_touch (im, n);
  n->live_count += (gint64) w.count;
  n->live_bytes += (gint64) w.bytes;
  HtSpan *span = span_of_block (im, n, b.stamp);
  if (span)
    {
      span->live_count += (gint64) w.count;
      span->live_bytes += (gint64) w.bytes;
    }
  im->heap_bytes += w.bytes;
  im->heap_blocks += w.count;
  ht_block_map_insert (&im->blocks, &b, NULL);
  s->last_freed.ptr = 0;
}

static gboolean
on_event (HtImport *im, HtEvent *e, GError **error)
{
  /* an evenly spaced snapshot is the heap just before the first event at or after it */
  while (im->auto_next < im->auto_count && e->stamp >= im->auto_at[im->auto_next])
    g_ptr_array_add (im->snapshots, snap_capture (im, "auto", NULL,
                                                  im->auto_at[im->auto_next++], FALSE));
  im->last_stamp = MAX (im->last_stamp, e->stamp);
  HtEvent held;
  while (G_UNLIKELY (im->parked->len) && ht_skew_take_expired (im, e->stamp, &held))
    if (!apply_parked (im, &held, error))
      return FALSE;
  switch (e->tag)
    {
    case HT_REC_ALLOC:
    case HT_REC_FREE:
      /* held events of the same address: this thread's own go first, another's after */
      if (G_UNLIKELY (im->parked->len) && ht_skew_take_own (im, e, &held)
          && !apply_parked (im, &held, error))
        return FALSE;
      if (e->tag == HT_REC_ALLOC)
        {
          if (!on_alloc_as (im, e, FALSE, error))
            return FALSE;
        }
      else
        on_free_as (im, e, FALSE);
      return G_LIKELY (!im->parked->len) || !ht_skew_take_partner (im, e, &held)
             || apply_parked (im, &held, error);
    case HT_REC_UNFREE:
      on_unfree (im, e);
      return TRUE;
    case HT_REC_TRACE_NODE:
      {
        if (e->node.parent >= MAX_NODE_ID)
          {
            g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT,
                         "corrupt log: trace node %u has an out-of-range parent", e->node.id);
            return FALSE;
          }
        HtNode *n = node_get (im, e->node.id, error);
        if (!n)
          return FALSE;
        if (!n->defined)
          im->defined_nodes++;
        n->parent = e->node.parent;
        n->ip = e->node.ip;
        n->module = module_of (im, e->node.ip);
        n->defined = TRUE;
        return TRUE;
      }
    case HT_REC_THREAD:
      {
        /* a stream id is reused by a later thread: keep the earlier thread's figures */
        HtStreamState *st = stream_state (im, e->stream);
        if (st->tid || st->alloc_count || st->frees)
          {
            HtStreamState *done = g_memdup2 (st, sizeof *st);
            g_ptr_array_add (im->finished_threads, done);
          }
        st->tid = e->thread.tid;
        st->last_alloc = st->alloc_count = st->alloc_bytes = st->temporary = st->frees = 0;
        im->threads++;
        return TRUE;
      }
    case HT_REC_THREAD_END:
      return TRUE;
    case HT_REC_SAMPLE:
      {
        HtSample s = { e->stamp, e->sample.mono_ns, e->sample.rss, e->sample.recorder,
                       im->heap_bytes, e->sample.recorder_time };
        g_array_append_val (im->samples, s);
        return TRUE;
      }
    case HT_REC_MODULE:
      add_module (im, e->module.new_map, g_steal_pointer (&e->module.info));
      return TRUE;
    case HT_REC_IMAGE:
      on_image (im, e);
      return TRUE;
    case HT_REC_CODE:
      {
        HtPyCodeInfo *c = g_new0 (HtPyCodeInfo, 1);
        c->filename = g_steal_pointer (&e->code.filename);
        c->qualname = g_steal_pointer (&e->code.qualname);
        c->first_line = (int) e->code.first_line;
        c->linetable = g_steal_pointer (&e->code.linetable);
        g_hash_table_replace (im->codes, GUINT_TO_POINTER (e->code.id), c);
        return TRUE;
      }
    case HT_REC_END:
      /* not necessarily the last record: an exec that failed goes on recording */
      im->ended = TRUE;
      im->end_stamp = e->stamp;
      im->end_reason = e->end.reason;
      im->end_marks++;
      return TRUE;
    case HT_REC_LOST:
      im->lost += e->lost.count;
      return TRUE;
    case HT_REC_FRAMES:
      on_frames (im, e);
      return TRUE;
    case HT_REC_COUNTED:
      im->counted_calls += e->counted.calls;
      im->counted_bytes += e->counted.bytes;
      return TRUE;
    case HT_REC_SAMPLING:
      if (im->sample_mean && im->sample_mean != e->sampling.mean)
        {
          g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT,
                       "corrupt log: the sampling rate changes during the recording");
          return FALSE;
        }
      im->sample_mean = e->sampling.mean;
      return TRUE;
    case HT_REC_TAG:
      on_tag (im, e);
      return TRUE;
    case HT_REC_BLOCK:
    case HT_REC_PYBLOCK:
      on_block (im, e);
      return TRUE;
    case HT_REC_SUPPRESSIONS:
      g_free (im->program_suppressions);
      im->program_suppressions = g_steal_pointer (&e->suppressions.text);
      return TRUE;
    case HT_REC_PYTYPE:
      g_hash_table_replace (im->py_types, GSIZE_TO_POINTER (e->pytype.type),
                            g_steal_pointer (&e->pytype.name));
      return TRUE;
    case HT_REC_EDGES:
      return on_edges (im, e, error);
    case HT_REC_ROOTS:
      return on_roots (im, e, error);
    case HT_REC_SCAN:
      on_scan (im, e);
      return TRUE;
    case HT_REC_SNAPSHOT:
      {
        HtSnap *snap = snap_capture (im, "snapshot", snap_label (im, e->snapshot.label),
                                     e->stamp, FALSE);
        snap->scan = take_scan (im);
        g_ptr_array_add (im->snapshots, snap);
      }
      return TRUE;
    case HT_REC_SYNC:
    case HT_REC_ALLOC_SLOT: /* the reader turns these into ALLOC and FREE */
    case HT_REC_FREE_SLOT:
    case HT_REC_FREE_AGE:
    case HT_REC_ALLOC_REUSE:
    case HT_REC_ALLOC_NEXT:
    case HT_REC_ALLOC_FREED:
      return TRUE;
    }
  return TRUE;
}

/* ---------------------------------------------------------------------------------------
 * Driver
 */
static void
import_clear (HtImport *im)
{
  ht_reader_free (im->reader);
  ht_symbolizer_free (im->symbols);
  ht_block_map_clear (&im->blocks);
  g_clear_pointer (&im->parked, g_array_unref);
  spans_free (im);
  g_array_unref (im->nodes);
  g_ptr_array_unref (im->modules);
  g_hash_table_unref (im->module_index);
  g_ptr_array_unref (im->maps);
  g_hash_table_unref (im->streams);
  g_ptr_array_unref (im->finished_threads);
  g_free (im->image_exe);
  g_strfreev (im->image_argv);
  g_hash_table_unref (im->codes);
  g_hash_table_unref (im->py_types);
  g_hash_table_unref (im->frame_sets);
  g_free (im->program_suppressions);
  if (im->exec_chain)
    g_string_free (im->exec_chain, TRUE);
  g_array_unref (im->samples);
  g_ptr_array_unref (im->snapshots);
  g_free (im->auto_at);
  g_hash_table_unref (im->labels);
  g_hash_table_unref (im->type_ids);
  g_ptr_array_unref (im->type_names);
  g_array_unref (im->type_live);
  g_hash_table_unref (im->tagged);
  g_hash_table_unref (im->class_names);
  g_hash_table_unref (im->word_class);
  g_string_free (im->warnings, TRUE);
  scan_free (im->scan);
}

static gboolean
read_all (HtImport *im, HtImportOptions *options, GError **error)
{
  HtEvent e;
  guint64 n = 0;
  GError *local = NULL;
  while (ht_reader_next (im->reader, &e, &local))
    {
      gboolean ok = on_event (im, &e, error);
      ht_event_clear (&e);
      if (!ok)
        return FALSE;
      if ((++n & 0xffff) == 0)
        {
          if (g_cancellable_set_error_if_cancelled (options->cancellable, error))
            return FALSE;
          if (options->progress)
            options->progress ((double) ht_reader_offset (im->reader)
                                 / (double) MAX (1, ht_reader_size (im->reader)),
                               options->progress_data);
        }
    }
  if (local)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  HtEvent held;
  while (ht_skew_take_expired (im, G_MAXUINT64, &held))
    if (!apply_parked (im, &held, error))
      return FALSE;
  return TRUE;
}

static gboolean import_log (const char *log_path, const char *read_path, const char *db_path,
                            HtImportOptions *options, GError **error);

/* A heaptrack recording is first written as a heaptrail log beside the database
 * (ht-heaptrack.c), imported, and removed. */
gboolean
ht_import (const char *log_path, const char *db_path, HtImportOptions *options, GError **error)
{
  g_return_val_if_fail (log_path && db_path, FALSE);
  HtImportOptions none = { 0 };
  if (!options)
    options = &none;
  char magic[8] = { 0 };
  FILE *f = fopen (log_path, "rb");
  gboolean ours = f && fread (magic, 1, sizeof magic, f) == sizeof magic
                  && memcmp (magic, HT_FILE_MAGIC, sizeof magic) == 0;
  if (f)
    fclose (f);
  if (ours || !ht_heaptrack_looks_like (log_path))
    return import_log (log_path, log_path, db_path, options, error);
  g_autofree char *converted = g_strconcat (db_path, ".heaptrack.htr", NULL);
  if (!ht_heaptrack_convert (log_path, converted, error))
    return FALSE;
  gboolean ok = import_log (log_path, converted, db_path, options, error);
  g_unlink (converted);
  return ok;
}

static gboolean
import_log (const char *log_path, const char *read_path, const char *db_path,
            HtImportOptions *options, GError **error)
{
  HtImport im = { 0 };
  im.reader = ht_reader_open (read_path, error);
  if (!im.reader)
    return FALSE;
  im.symbols = ht_symbolizer_new ();
  ht_block_map_init (&im.blocks);
  ht_skew_init (&im);
  im.nodes = g_array_sized_new (FALSE, TRUE, sizeof (HtNode), 1024);
  g_array_set_size (im.nodes, 1);
  g_array_index (im.nodes, HtNode, 0).module = -1;
  im.modules = g_ptr_array_new_with_free_func ((GDestroyNotify) ht_module_info_free);
  im.module_index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  im.maps = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  im.streams = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  im.finished_threads = g_ptr_array_new_with_free_func (g_free);
  im.codes = g_hash_table_new_full (NULL, NULL, NULL, py_code_info_free);
  im.py_types = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  im.frame_sets = g_hash_table_new_full (NULL, NULL, NULL, frame_set_free);
  im.samples = g_array_new (FALSE, FALSE, sizeof (HtSample));
  im.snapshots = g_ptr_array_new_with_free_func (snap_free);
  im.type_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  im.type_names = g_ptr_array_new_with_free_func (g_free);
  im.type_live = g_array_new (FALSE, TRUE, sizeof (HtTally));
  im.tagged = g_hash_table_new (NULL, NULL);
  im.class_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  im.word_class = g_hash_table_new (NULL, NULL);
  im.labels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_add (im.labels, g_strdup ("peak")); /* reserved */
  g_hash_table_add (im.labels, g_strdup ("end"));
  im.warnings = g_string_new (NULL);

  im.short_lived_ms = options->short_lived_ms > 0 ? options->short_lived_ms : 1.0;
  double ns_per_stamp = ht_reader_ns_per_stamp (im.reader);
  /* a corrupt log can claim any clock rate: the threshold saturates instead of overflowing */
  double stamps = ns_per_stamp > 0 ? im.short_lived_ms * 1e6 / ns_per_stamp : 0;
  im.short_lived_stamps = stamps >= 1.8e19 ? G_MAXUINT64 : (guint64) stamps;
  spans_init (&im, ns_per_stamp);
  int n_auto = options->auto_snapshots == 0 ? 50 : MAX (options->auto_snapshots, 0);
  guint64 first = ht_reader_info (im.reader)->start_stamp;
  guint64 last = n_auto > 0 ? ht_reader_last_stamp (im.reader) : 0;
  if (n_auto > 0 && last > first)
    {
      im.auto_count = (guint) n_auto;
      im.auto_at = g_new (guint64, n_auto);
      for (int i = 0; i < n_auto; i++)
        im.auto_at[i] = first + (guint64) ((double) (last - first) * (i + 1) / (n_auto + 1));
    }

  gboolean ok = read_all (&im, options, error);
  if (ok && ht_reader_warning (im.reader))
    g_string_append_printf (im.warnings, "%s\n", ht_reader_warning (im.reader));
  if (ok && !im.ended && !ht_reader_warning (im.reader))
    g_string_append (im.warnings, "the recording has no end mark (the program was killed or "
                                  "called _exit?); the results cover what was written\n");

  if (options->dry_run)
    {
      options->warnings = im.warnings->len ? g_strdup (im.warnings->str) : NULL;
      import_clear (&im);
      return ok;
    }

  g_autofree char *dir = g_path_get_dirname (db_path);
  g_autofree char *base = g_path_get_basename (db_path);
  g_autofree char *tmp = NULL;
  if (ok)
    {
      g_autofree char *tmpl = g_strdup_printf ("%s/.%s.tmp-XXXXXX", dir, base);
      int fd = g_mkstemp_full (tmpl, O_RDWR | O_CLOEXEC, 0600);
      if (fd < 0)
        {
          int err = errno;
          g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_SQLITE, "cannot create %s: %s", db_path,
                       g_strerror (err));
          ok = FALSE;
        }
      else
        {
          close (fd);
          tmp = g_steal_pointer (&tmpl);
          tmp_path_current = tmp;
        }
    }
  if (ok)
    {
      sqlite3 *db = NULL;
      if (sqlite3_open_v2 (tmp, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        ok = ht_db_set_error (db, error, "cannot create the database");
      else
        ok = write_database (&im, db, log_path, error);
      if (sqlite3_close (db) != SQLITE_OK && ok)
        ok = ht_db_set_error (db, error, "closing the database");
    }
  if (ok && g_cancellable_set_error_if_cancelled (options->cancellable, error))
    ok = FALSE;
  if (ok && g_rename (tmp, db_path) != 0)
    {
      int err = errno;
      g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_SQLITE, "cannot create %s: %s", db_path,
                   g_strerror (err));
      ok = FALSE;
    }
  if (!ok && tmp)
    g_unlink (tmp);
  tmp_path_current = NULL;
  if (options->progress && ok)
    options->progress (1.0, options->progress_data);
  options->warnings = im.warnings->len ? g_strdup (im.warnings->str) : NULL;
  import_clear (&im);
  return ok;
}
