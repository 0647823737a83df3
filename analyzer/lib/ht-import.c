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
 * The heap graphs of record --graph are read and written by ht-import-graph.c; the state
 * both files share is in ht-import-private.h.
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
static HtSnap *
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
static char *
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
typedef struct
{
  guint count;
  HtFrame *frames;
  char **strings; /* what the frames point into */
} HtFrameSet;

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
  if (!b || !e->typetag.type || b->node == OUTSIDE_WINDOW)
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
      if (b->node != OUTSIDE_WINDOW)
        {
          HtWeight w = block_weight (im, b);
          im->exec_released_blocks += w.count;
          im->exec_released_bytes += w.bytes;
          forget_block (im, b);
        }
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

static gboolean
on_alloc (HtImport *im, const HtEvent *e, GError **error)
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
  if (e->stamp < im->window_from || e->stamp > im->window_to)
    {
      /* outside --time: followed, so that its free is recognised, but never counted */
      b.node = OUTSIDE_WINDOW;
      if (ht_block_map_insert (&im->blocks, &b, &old) && old.node != OUTSIDE_WINDOW)
        forget_block (im, &old);
      stream_state (im, e->stream)->last_alloc = 0;
      return TRUE;
    }
  if (ht_block_map_insert (&im->blocks, &b, &old) && old.node != OUTSIDE_WINDOW)
    {
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
on_free (HtImport *im, const HtEvent *e)
{
  HtBlock b;
  HtStreamState *s = stream_state (im, e->stream);
  if (!ht_block_map_remove (&im->blocks, e->free.ptr, &b))
    {
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
  if (b.node == OUTSIDE_WINDOW)
    {
      s->last_freed = b;
      s->last_alloc = 0;
      return;
    }
  untag (im, &b);
  HtNode *n = &g_array_index (im->nodes, HtNode, b.node);
  node_touch (im, n);
  n->live_count -= (gint64) w.count;
  n->live_bytes -= (gint64) w.bytes;
  im->heap_bytes -= w.bytes;
  im->heap_blocks -= w.count;
  if (e->stamp - b.stamp < im->short_lived_stamps)
    {
      n->short_lived += w.count;
      n->short_lived_bytes += w.bytes;
      im->short_lived += w.count;
    }
  /* temporary: freed before the thread's next allocation, which a sampled log cannot tell */
  if (s->last_alloc == b.ptr && b.stream == e->stream && !im->sample_mean)
    {
      n->temporary += w.count;
      n->temporary_bytes += w.bytes;
      im->temporary += w.count;
      s->temporary += w.count;
    }
  s->last_alloc = 0;
  s->last_freed = b;
}

/* A realloc failed after its FREE was recorded: the block lives on. */
static void
on_unfree (HtImport *im, const HtEvent *e)
{
  HtStreamState *s = stream_state (im, e->stream);
  HtBlock b = s->last_freed;
  if (b.ptr == 0 || b.ptr != e->free.ptr)
    {
      im->free_calls--;
      return; /* nothing (known) was freed just before: a corrupt log, or an unknown block */
    }
  HtWeight w = block_weight (im, &b);
  im->free_calls -= w.count;
  if (b.node == OUTSIDE_WINDOW)
    {
      ht_block_map_insert (&im->blocks, &b, NULL);
      s->last_freed.ptr = 0;
      return;
    }
  HtNode *n = &g_array_index (im->nodes, HtNode, b.node);
  node_touch (im, n);
  n->live_count += (gint64) w.count;
  n->live_bytes += (gint64) w.bytes;
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
  switch (e->tag)
    {
    case HT_REC_ALLOC:
      return on_alloc (im, e, error);
    case HT_REC_FREE:
      on_free (im, e);
      return TRUE;
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
      return TRUE;
    }
  return TRUE;
}

/* ---------------------------------------------------------------------------------------
 * Time: stamps to seconds since start, through the SAMPLE records' (stamp, ns) pairs
 */
static double
stamp_seconds (HtImport *im, guint64 stamp)
{
  const HtLogInfo *info = ht_reader_info (im->reader);
  if (info->clock == HT_CLOCK_MONOTONIC || im->samples->len < 2)
    {
      if (info->clock != HT_CLOCK_MONOTONIC)
        return 0; /* a TSC log too short to calibrate */
      /* monotonic stamps are nanoseconds >> stamp_shift */
      const HtSample *s0 = im->samples->len ? &g_array_index (im->samples, HtSample, 0) : NULL;
      guint64 ns = stamp << info->stamp_shift;
      guint64 origin = s0 ? (s0->stamp << info->stamp_shift) - s0->mono_ns
                          : info->start_stamp << info->stamp_shift;
      return ns > origin ? (double) (ns - origin) / 1e9 : 0;
    }
  GArray *a = im->samples;
  guint lo = 0, hi = a->len - 1;
  while (hi - lo > 1)
    {
      guint mid = (lo + hi) / 2;
      if (g_array_index (a, HtSample, mid).stamp <= stamp)
        lo = mid;
      else
        hi = mid;
    }
  const HtSample *x = &g_array_index (a, HtSample, lo), *y = &g_array_index (a, HtSample, hi);
  if (y->stamp == x->stamp)
    return (double) x->mono_ns / 1e9;
  double slope = ((double) y->mono_ns - (double) x->mono_ns) / (double) (y->stamp - x->stamp);
  double ns = (double) x->mono_ns + slope * ((double) stamp - (double) x->stamp);
  return ns > 0 ? ns / 1e9 : 0;
}

/* Stamp units to seconds, for durations: the clock's rate over the whole recording. */
static double
stamp_units_seconds (HtImport *im, guint64 units)
{
  const HtLogInfo *info = ht_reader_info (im->reader);
  if (info->clock == HT_CLOCK_MONOTONIC)
    return (double) (units << info->stamp_shift) / 1e9;
  if (im->samples->len < 2)
    return 0;
  const HtSample *a = &g_array_index (im->samples, HtSample, 0);
  const HtSample *b = &g_array_index (im->samples, HtSample, im->samples->len - 1);
  if (b->stamp <= a->stamp)
    return 0;
  return (double) units * (double) (b->mono_ns - a->mono_ns) / (double) (b->stamp - a->stamp)
         / 1e9;
}

/* ---------------------------------------------------------------------------------------
 * Writing the database
 */
typedef struct
{
  sqlite3 *db;
  sqlite3_stmt *location, *site, *frame, *snap_site, *snap_type;
  GHashTable *locations; /* key string -> id */
  gint64 next_location;
} HtWriter;

static const char *const allocator_functions[] = {
  "malloc", "free", "calloc", "realloc", "reallocarray", "posix_memalign", "aligned_alloc",
  "memalign", "valloc", "pvalloc", "__libc_malloc", "__libc_calloc", "__libc_realloc",
  "__libc_memalign", "__libc_valloc", "__libc_pvalloc", "__posix_memalign",
  "_mid_memalign", "_int_malloc", NULL,
};

/* Allocator frames are hidden from stacks: the recorder's, the malloc family's, and C++'s
 * operator new.  Only the innermost run of them is dropped. */
static gboolean
frame_is_allocator (HtImport *im, gint32 module, const HtFrame *f)
{
  if (module >= 0)
    {
      const HtModuleInfo *m = im->modules->pdata[module];
      const char *base = strrchr (m->path, '/');
      if (g_str_has_prefix (base ? base + 1 : m->path, "libheaptrail"))
        return TRUE;
    }
  if (!f->function)
    return FALSE;
  if (g_str_has_prefix (f->function, "operator new"))
    return TRUE;
  for (guint i = 0; allocator_functions[i]; i++)
    if (strcmp (f->function, allocator_functions[i]) == 0)
      return TRUE;
  return FALSE;
}

static gint64
location_id (HtImport *im, HtWriter *w, gint32 module, const HtFrame *f, guint64 ip,
             gboolean python, GError **error)
{
  g_autofree char *fallback = NULL;
  const char *function = f->function;
  if (!function && module >= 0)
    {
      const HtModuleInfo *m = im->modules->pdata[module];
      const char *base = strrchr (m->path, '/');
      fallback = g_strdup_printf ("%s+0x%" G_GINT64_MODIFIER "x", base ? base + 1 : m->path,
                                  ip - m->bias);
    }
  else if (!function && ip == HT_FRAME_CUT)
    fallback = g_strdup_printf ("[stack cut at %u frames]", ht_reader_info (im->reader)->max_frames);
  else if (!function)
    fallback = g_strdup_printf ("0x%" G_GINT64_MODIFIER "x", ip);
  if (fallback)
    function = fallback;

  g_autofree char *key = g_strdup_printf ("%d\x1f%s\x1f%s\x1f%u\x1f%d", module, function,
                                          f->file ? f->file : "", f->line, python);
  gpointer id = g_hash_table_lookup (w->locations, key);
  if (id)
    return GPOINTER_TO_SIZE (id);
  gint64 new_id = ++w->next_location;
  sqlite3_reset (w->location);
  sqlite3_bind_int64 (w->location, 1, new_id);
  sqlite3_bind_text (w->location, 2, function, -1, SQLITE_TRANSIENT);
  if (f->file)
    sqlite3_bind_text (w->location, 3, f->file, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (w->location, 3);
  sqlite3_bind_int (w->location, 4, (int) f->line);
  if (module >= 0)
    sqlite3_bind_int (w->location, 5, module + 1);
  else
    sqlite3_bind_null (w->location, 5);
  sqlite3_bind_int (w->location, 6, python);
  if (sqlite3_step (w->location) != SQLITE_DONE)
    return ht_db_set_error (w->db, error, "writing locations") ? 0 : -1;
  g_hash_table_insert (w->locations, g_steal_pointer (&key), GSIZE_TO_POINTER (new_id));
  return new_id;
}

/* A Python frame's location (HT_FRAME_PYTHON): its code object's qualified name, file, and
 * the line of the instruction, from the code's line table. */
static gboolean
python_location (HtImport *im, guint64 ip, HtFrame *out)
{
  if (!(ip & HT_FRAME_PYTHON))
    return FALSE;
  const HtPyCodeInfo *c = g_hash_table_lookup (im->codes,
                                               GUINT_TO_POINTER ((guint) ((ip >> 32) & 0x7fffffff)));
  if (!c)
    {
      *out = (HtFrame){ "<unknown Python code>", NULL, 0 };
      return TRUE;
    }
  gsize len = 0;
  const guint8 *table = g_bytes_get_data (c->linetable, &len);
  int line = ht_py_code_line (table, len, c->first_line, (guint) (ip & 0xffffffffu));
  *out = (HtFrame){ c->qualname, c->filename, line > 0 ? (guint) line : (guint) c->first_line };
  return TRUE;
}

/* Writes a site's visible frames, innermost first, allocator frames dropped. */
static gboolean
write_site_frames (HtImport *im, HtWriter *w, guint32 trace, GError **error)
{
  gboolean leading = TRUE;
  guint depth = 0, hops = 0;
  for (guint32 id = trace; id != 0 && hops < 4096; hops++)
    {
      if (id >= im->nodes->len)
        break;
      HtNode *n = &g_array_index (im->nodes, HtNode, id);
      if (!n->defined)
        break;
      const HtFrame *frames = NULL;
      guint nf = 0;
      HtFrame unknown = { NULL, NULL, 0 };
      HtFrame python_frame;
      gboolean python = python_location (im, n->ip, &python_frame);
      const HtFrameSet *given = python ? NULL
                                       : g_hash_table_lookup (im->frame_sets,
                                                              GSIZE_TO_POINTER (n->ip));
      if (python)
        {
          frames = &python_frame;
          nf = 1;
        }
      else if (given)
        {
          frames = given->frames;
          nf = given->count;
        }
      else if (n->module >= 0)
        nf = ht_symbolizer_lookup (im->symbols, (guint) n->module, n->ip, &frames);
      if (nf == 0)
        {
          frames = &unknown;
          nf = 1;
        }
      for (guint i = 0; i < nf; i++)
        {
          if (leading && frame_is_allocator (im, n->module, &frames[i]))
            continue;
          leading = FALSE;
          gint64 loc = location_id (im, w, python ? -1 : n->module, &frames[i], n->ip, python,
                                    error);
          if (loc < 0)
            return FALSE;
          sqlite3_reset (w->frame);
          sqlite3_bind_int64 (w->frame, 1, trace);
          sqlite3_bind_int (w->frame, 2, (int) depth++);
          sqlite3_bind_int64 (w->frame, 3, loc);
          if (sqlite3_step (w->frame) != SQLITE_DONE)
            return ht_db_set_error (w->db, error, "writing frames");
        }
      id = n->parent;
    }
  return TRUE;
}

static gboolean
put_meta (sqlite3 *db, const char *key, GVariant *value, GError **error)
{
  sqlite3_stmt *st;
  if (!ht_db_prepare (db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", &st, error))
    return FALSE;
  sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
  g_variant_ref_sink (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    sqlite3_bind_text (st, 2, g_variant_get_string (value, NULL), -1, SQLITE_TRANSIENT);
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_DOUBLE))
    sqlite3_bind_double (st, 2, g_variant_get_double (value));
  else
    sqlite3_bind_int64 (st, 2, g_variant_get_int64 (value));
  g_variant_unref (value);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  sqlite3_finalize (st);
  return ok ? TRUE : ht_db_set_error (db, error, "writing meta");
}

#define META_INT(k, v) put_meta (db, k, g_variant_new_int64 ((gint64) (v)), error)
#define META_STR(k, v) put_meta (db, k, g_variant_new_string (v), error)
#define META_DBL(k, v) put_meta (db, k, g_variant_new_double (v), error)

static gint64
mtime_ns (const struct stat *st)
{
  return (gint64) st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

gboolean
ht_import_is_current (const char *log_path, const char *db_path)
{
  struct stat st;
  if (stat (log_path, &st) != 0 || !g_file_test (db_path, G_FILE_TEST_IS_REGULAR))
    return FALSE;
  g_autoptr (GError) error = NULL;
  g_autoptr (HtDb) db = ht_db_open (db_path, &error);
  if (!db)
    return FALSE;
  return ht_db_meta_int (db, "log_mtime_ns") == mtime_ns (&st)
         && ht_db_meta_int (db, "log_bytes") == (gint64) st.st_size;
}

static gboolean
write_meta (HtImport *im, sqlite3 *db, const char *log_path, GError **error)
{
  struct stat st;
  gint64 log_mtime = stat (log_path, &st) == 0 ? mtime_ns (&st) : 0;
  const HtLogInfo *info = ht_reader_info (im->reader);
  guint64 peak_rss = 0, recorder_peak = 0, recorder_time = 0;
  for (guint i = 0; i < im->samples->len; i++)
    {
      peak_rss = MAX (peak_rss, g_array_index (im->samples, HtSample, i).rss);
      recorder_peak = MAX (recorder_peak, g_array_index (im->samples, HtSample, i).recorder);
      recorder_time = MAX (recorder_time, g_array_index (im->samples, HtSample, i).recorder_time);
    }
  g_autoptr (GString) argv = g_string_new (NULL);
  GStrv args = im->image_argv ? im->image_argv : info->argv;
  const char *exe = im->image_exe ? im->image_exe : info->exe;
  for (guint i = 0; args[i]; i++)
    {
      g_autofree char *q = g_shell_quote (args[i]);
      g_string_append_printf (argv, "%s%s", i ? " " : "", q);
    }
  g_autofree char *abs = g_canonicalize_filename (log_path, NULL);
  double duration = stamp_seconds (im, im->last_stamp);
  static const char *const reasons[] = { "", "exit", "exec", "abort", "_exit", "detach" };
  g_autofree char *by_signal = NULL;
  if (im->ended && im->end_reason > HT_END_SIGNAL && im->end_reason < HT_END_SIGNAL + 65)
    {
      const char *abbrev = sigabbrev_np ((int) (im->end_reason - HT_END_SIGNAL));
      by_signal = abbrev ? g_strconcat ("SIG", abbrev, NULL)
                         : g_strdup_printf ("signal %d", (int) (im->end_reason - HT_END_SIGNAL));
    }
  const char *reason = !im->ended                                ? "incomplete"
                       : by_signal                               ? by_signal
                       : im->end_reason < G_N_ELEMENTS (reasons) ? reasons[im->end_reason]
                                                                 : "unknown";
  const char *w = ht_reader_warning (im->reader);
  return META_INT ("schema_version", HT_DB_SCHEMA_VERSION) && META_STR ("log_path", abs)
         && META_INT ("pid", info->pid) && META_INT ("ppid", info->ppid)
         && META_STR ("exe", exe) && META_STR ("command_line", argv->str)
         && META_STR ("exec_chain", im->exec_chain ? im->exec_chain->str : "")
         && META_STR ("lsan_default_suppressions",
                      im->program_suppressions ? im->program_suppressions : "")
         && META_INT ("exec_released_blocks", im->exec_released_blocks)
         && META_INT ("exec_released_bytes", im->exec_released_bytes)
         && META_INT ("start_unix_ns", info->start_unix_ns)
         && META_INT ("max_frames", info->max_frames)
         && META_STR ("clock", info->clock == HT_CLOCK_TSC ? "tsc" : "monotonic")
         && META_DBL ("duration_s", duration) && META_INT ("allocations", im->alloc_calls)
         && META_INT ("frees", im->free_calls) && META_INT ("allocated_bytes", im->total_bytes)
         && META_INT ("unmatched_frees", im->unmatched_frees)
         && META_INT ("attached", info->attached)
         && META_INT ("sample_bytes", im->sample_mean)
         && META_INT ("sampled_allocations", im->sampled_allocs)
         && META_INT ("temporary", im->temporary) && META_INT ("short_lived", im->short_lived)
         && META_DBL ("short_lived_ms", im->short_lived_ms)
         && META_DBL ("time_from_s", im->window_from_s) && META_DBL ("time_to_s", im->window_to_s) && META_INT ("peak_heap_bytes", im->peak_bytes)
         && META_INT ("peak_heap_blocks", im->peak_blocks)
         && META_DBL ("peak_time_s", stamp_seconds (im, im->peak_stamp))
         && META_INT ("peak_rss_bytes", peak_rss) && META_INT ("leaked_bytes", im->heap_bytes)
         && META_INT ("leaked_blocks", im->heap_blocks)
         && META_INT ("recorder_peak_bytes", recorder_peak)
         && META_DBL ("recorder_time_s", stamp_units_seconds (im, recorder_time))
         && META_INT ("threads", im->threads)
         && META_INT ("lost_events", im->lost) && META_INT ("complete", im->ended)
         && META_STR ("warning", w ? w : "") && META_STR ("end_reason", reason)
         && META_INT ("end_marks", im->end_marks)
         && META_INT ("log_bytes", ht_reader_size (im->reader))
         && META_INT ("log_mtime_ns", log_mtime);
}

static gboolean
write_snapshot (HtImport *im, HtWriter *w, gint64 id, const HtSnap *snap, GError **error)
{
  sqlite3_stmt *st;
  if (!ht_db_prepare (w->db,
                      "INSERT INTO snapshots (id, label, kind, time_s, heap_bytes, heap_blocks)"
                      " VALUES (?, ?, ?, ?, ?, ?)",
                      &st, error))
    return FALSE;
  sqlite3_bind_int64 (st, 1, id);
  sqlite3_bind_text (st, 2, snap->label, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 3, snap->kind, -1, SQLITE_STATIC);
  sqlite3_bind_double (st, 4, stamp_seconds (im, snap->stamp));
  sqlite3_bind_int64 (st, 5, (gint64) snap->bytes);
  sqlite3_bind_int64 (st, 6, (gint64) snap->blocks);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  sqlite3_finalize (st);
  if (!ok)
    return ht_db_set_error (w->db, error, "writing snapshots");
  for (guint i = 0; i < snap->entries->len; i++)
    {
      const HtSnapEntry *e = &g_array_index (snap->entries, HtSnapEntry, i);
      sqlite3_reset (w->snap_site);
      sqlite3_bind_int64 (w->snap_site, 1, id);
      sqlite3_bind_int64 (w->snap_site, 2, e->node);
      sqlite3_bind_int64 (w->snap_site, 3, e->count);
      sqlite3_bind_int64 (w->snap_site, 4, e->bytes);
      sqlite3_bind_int64 (w->snap_site, 5, e->tagged_count);
      sqlite3_bind_int64 (w->snap_site, 6, e->tagged_bytes);
      if (sqlite3_step (w->snap_site) != SQLITE_DONE)
        return ht_db_set_error (w->db, error, "writing snapshot sites");
    }
  for (guint i = 0; i < snap->types->len; i++)
    {
      const HtTally *t = &g_array_index (snap->types, HtTally, i);
      if (t->count <= 0)
        continue;
      sqlite3_reset (w->snap_type);
      sqlite3_bind_int64 (w->snap_type, 1, id);
      sqlite3_bind_text (w->snap_type, 2, im->type_names->pdata[i], -1, SQLITE_STATIC);
      sqlite3_bind_int64 (w->snap_type, 3, t->count);
      sqlite3_bind_int64 (w->snap_type, 4, t->bytes);
      if (sqlite3_step (w->snap_type) != SQLITE_DONE)
        return ht_db_set_error (w->db, error, "writing snapshot types");
    }
  return !snap->scan || write_graph (im, w->db, id, snap->scan, error);
}

static gint
snap_by_time (gconstpointer a, gconstpointer b)
{
  const HtSnap *x = *(HtSnap **) a, *y = *(HtSnap **) b;
  return x->stamp < y->stamp ? -1 : x->stamp > y->stamp;
}

static gboolean
write_database (HtImport *im, sqlite3 *db, const char *log_path, GError **error)
{
  HtWriter w = { .db = db };
  gboolean ok = FALSE;
  w.locations = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (!ht_db_exec (db, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; BEGIN", error)
      || !ht_db_create_schema (db, error) || !write_meta (im, db, log_path, error))
    goto out;
  if (!ht_db_prepare (db, "INSERT INTO locations VALUES (?, ?, ?, ?, ?, ?)", &w.location, error)
      || !ht_db_prepare (db, "INSERT INTO sites VALUES (?, ?, ?, ?, ?, ?, ?)", &w.site, error)
      || !ht_db_prepare (db, "INSERT INTO site_frames VALUES (?, ?, ?)", &w.frame, error)
      || !ht_db_prepare (db, "INSERT INTO snapshot_sites VALUES (?, ?, ?, ?, ?, ?)",
                         &w.snap_site, error)
      || !ht_db_prepare (db, "INSERT INTO snapshot_types VALUES (?, ?, ?, ?)", &w.snap_type,
                         error))
    goto out;

  sqlite3_stmt *st;
  if (!ht_db_prepare (db, "INSERT INTO modules VALUES (?, ?, ?, ?)", &st, error))
    goto out;
  for (guint i = 0; i < im->modules->len; i++)
    {
      const HtModuleInfo *m = im->modules->pdata[i];
      sqlite3_reset (st);
      sqlite3_bind_int (st, 1, (int) i + 1);
      sqlite3_bind_text (st, 2, m->path, -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 3, m->build_id, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (st, 4, (gint64) m->bias);
      if (sqlite3_step (st) != SQLITE_DONE)
        {
          sqlite3_finalize (st);
          ht_db_set_error (db, error, "writing modules");
          goto out;
        }
    }
  sqlite3_finalize (st);

  for (guint i = 0; i < im->nodes->len; i++)
    {
      HtNode *n = &g_array_index (im->nodes, HtNode, i);
      if (n->alloc_count == 0)
        continue;
      sqlite3_reset (w.site);
      sqlite3_bind_int64 (w.site, 1, i);
      sqlite3_bind_int64 (w.site, 2, (gint64) n->alloc_count);
      sqlite3_bind_int64 (w.site, 3, (gint64) n->alloc_bytes);
      sqlite3_bind_int64 (w.site, 4, (gint64) n->temporary);
      sqlite3_bind_int64 (w.site, 5, (gint64) n->temporary_bytes);
      sqlite3_bind_int64 (w.site, 6, (gint64) n->short_lived);
      sqlite3_bind_int64 (w.site, 7, (gint64) n->short_lived_bytes);
      if (sqlite3_step (w.site) != SQLITE_DONE)
        {
          ht_db_set_error (db, error, "writing sites");
          goto out;
        }
      if (!write_site_frames (im, &w, i, error))
        goto out;
    }

  /* every snapshot, the peak and the end included, numbered in time order */
  g_ptr_array_add (im->snapshots,
                   snap_capture (im, "peak", g_strdup ("peak"), im->peak_stamp, TRUE));
  HtSnap *end = snap_capture (im, "end", g_strdup ("end"), im->last_stamp, FALSE);
  end->scan = take_scan (im); /* the scan at exit */
  g_ptr_array_add (im->snapshots, end);
  g_ptr_array_sort (im->snapshots, snap_by_time);
  for (guint i = 0; i < im->snapshots->len; i++)
    {
      HtSnap *snap = im->snapshots->pdata[i];
      if (!snap->label) /* automatic ones are named by their time, now that it is known */
        {
          g_autofree char *name = g_strdup_printf ("@%.3fs", stamp_seconds (im, snap->stamp));
          snap->label = snap_label (im, name);
        }
    }
  for (guint i = 0; i < im->snapshots->len; i++)
    if (!write_snapshot (im, &w, i + 1, im->snapshots->pdata[i], error))
      goto out;

  if (!ht_db_prepare (db, "INSERT INTO timeline VALUES (?, ?, ?, ?)", &st, error))
    goto out;
  for (guint i = 0; i < im->samples->len; i++)
    {
      const HtSample *s = &g_array_index (im->samples, HtSample, i);
      sqlite3_reset (st);
      sqlite3_bind_double (st, 1, (double) s->mono_ns / 1e9);
      sqlite3_bind_int64 (st, 2, (gint64) s->heap);
      sqlite3_bind_int64 (st, 3, (gint64) s->rss);
      sqlite3_bind_int64 (st, 4, (gint64) s->recorder);
      if (sqlite3_step (st) != SQLITE_DONE)
        {
          sqlite3_finalize (st);
          ht_db_set_error (db, error, "writing the timeline");
          goto out;
        }
    }
  sqlite3_finalize (st);

  if (!ht_db_prepare (db, "INSERT INTO size_histogram VALUES (?, ?, ?, ?)", &st, error))
    goto out;
  for (guint i = 0; i < SIZE_BUCKETS; i++)
    {
      if (!im->size_count[i])
        continue;
      guint64 lo = i == 0 ? 0 : G_GUINT64_CONSTANT (1) << (i - 1);
      guint64 hi = i == 0 ? 0 : i == SIZE_BUCKETS - 1 ? G_MAXINT64 : (lo << 1) - 1;
      sqlite3_reset (st);
      sqlite3_bind_int64 (st, 1, (gint64) lo);
      sqlite3_bind_int64 (st, 2, (gint64) hi);
      sqlite3_bind_int64 (st, 3, (gint64) im->size_count[i]);
      sqlite3_bind_int64 (st, 4, (gint64) im->size_bytes[i]);
      sqlite3_step (st);
    }
  sqlite3_finalize (st);

  if (!ht_db_prepare (db, "INSERT INTO threads VALUES (?, ?, ?, ?, ?, ?)", &st, error))
    goto out;
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, im->streams);
  while (g_hash_table_iter_next (&it, &key, &value))
    g_ptr_array_add (im->finished_threads, g_memdup2 (value, sizeof (HtStreamState)));
  for (guint i = 0; i < im->finished_threads->len; i++)
    {
      HtStreamState *s = im->finished_threads->pdata[i];
      if (!s->tid && !s->alloc_count && !s->frees)
        continue;
      sqlite3_reset (st);
      sqlite3_bind_int64 (st, 1, i);
      sqlite3_bind_int64 (st, 2, (gint64) s->tid);
      sqlite3_bind_int64 (st, 3, (gint64) s->alloc_count);
      sqlite3_bind_int64 (st, 4, (gint64) s->alloc_bytes);
      sqlite3_bind_int64 (st, 5, (gint64) s->temporary);
      sqlite3_bind_int64 (st, 6, (gint64) s->frees);
      sqlite3_step (st);
    }
  sqlite3_finalize (st);

  ok = ht_db_exec (db,
                   "CREATE INDEX snapshot_sites_trace ON snapshot_sites (trace_id);"
                   "CREATE INDEX locations_file ON locations (file, line);"
                   "CREATE INDEX graph_roots_dst ON graph_roots (snapshot_id, dst);"
                   "CREATE INDEX graph_blocks_retained ON graph_blocks (snapshot_id, retained);"
                   "COMMIT",
                   error);
out:
  sqlite3_finalize (w.location);
  sqlite3_finalize (w.site);
  sqlite3_finalize (w.frame);
  sqlite3_finalize (w.snap_site);
  sqlite3_finalize (w.snap_type);
  g_hash_table_unref (w.locations);
  return ok;
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
  im.window_from = 0;
  im.window_to = G_MAXUINT64;
  im.window_from_s = options->window_from_s;
  im.window_to_s = options->window_to_s;
  if (options->window_to_s > 0 && ns_per_stamp > 0)
    {
      double start = (double) ht_reader_info (im.reader)->start_stamp;
      double from = start + options->window_from_s * 1e9 / ns_per_stamp;
      double to = start + options->window_to_s * 1e9 / ns_per_stamp;
      im.window_from = from >= 1.8e19 ? G_MAXUINT64 : (guint64) from;
      im.window_to = to >= 1.8e19 ? G_MAXUINT64 : (guint64) to; /* "4.." is 1e12 s */
    }
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
