/* ht-reader.c - the bounds-checked log reader and stream merger.
 *
 * The file is mapped read-only; nothing in it is trusted.  Chunks are decoded whole into
 * per-stream queues, and events leave in stamp order through a binary heap of streams:
 *
 *   chunks ──decode──▶ queue[stream 2] ─┐
 *                      queue[stream 3] ─┼─ heap by head stamp ─▶ next()  while stamp < watermark
 *                      queue[control ] ─┘
 *
 * The watermark is the stamp of the latest SYNC record (everything stamped before it is in
 * the file already), or infinity once the file is exhausted, so memory stays bounded by
 * what the recorder writes in one sync interval.  A chunk that runs past the end of the
 * file is the crash case: everything before it is used and a warning is kept.  A complete
 * chunk with an impossible record is corruption and an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "ht-error.h"
#include "ht-reader.h"
#include "ht-heaptrack.h"

/* An ALLOC among a stream's last HT_AGE_WINDOW ones, for FREE_AGE. */
typedef struct
{
  guint64 ptr;
  guint64 cls; /* its reuse class */
} HtAllocSeen;

/* A stream's pointer state (ht-format.h): what its chunks name pointers by. */
typedef struct
{
  guint64 last_ptr;
  guint64 allocs;  /* ALLOCs since the state started */
  guint64 next_ptr; /* where the previous ALLOC's chunk ends */
  GArray *ring;    /* HtAllocSeen: grows to HT_AGE_WINDOW, then ALLOC k is at (k - 1) % it */
  guint64 recent[HT_RECENT_SLOTS];
  HtReuseStacks reuse;
} HtPtrState;

typedef struct
{
  guint32 id;
  HtPtrState ptrs;
  GArray *events; /* HtEvent */
  guint head;
  guint64 last_stamp;
  int heap_pos; /* index in the heap, -1 when not in it */
} HtStream;

struct _HtReader
{
  char *path;
  GMappedFile *map;
  const guint8 *data;
  gsize size;
  gsize offset;
  gsize dropped; /* the log's pages before this were read and handed back to the kernel */
  HtLogInfo info;
  GHashTable *streams; /* id -> HtStream */
  GPtrArray *heap;     /* HtStream*, min-heap on head stamp */
  guint64 watermark;
  gboolean eof;
  char *warning;
  GByteArray *unpacked; /* a compressed chunk's records */
  guint version;        /* the header's format version */
};

/* ---------------------------------------------------------------------------------------
 * Decoding
 */
typedef struct
{
  const guint8 *p, *end;
  gboolean bad;
} HtCursor;

static guint64
cursor_varint (HtCursor *c)
{
  guint64 v = 0;
  for (guint shift = 0; shift < 64; shift += 7)
    {
      if (c->p >= c->end)
        break;
      guint8 b = *c->p++;
      v |= (guint64) (b & 0x7f) << shift;
      if (!(b & 0x80))
        return v;
    }
  c->bad = TRUE;
  return 0;
}

static const guint8 *
cursor_bytes (HtCursor *c, guint64 n)
{
  if (c->bad || n > (guint64) (c->end - c->p))
    {
      c->bad = TRUE;
      return NULL;
    }
  const guint8 *b = c->p;
  c->p += n;
  return b;
}

/* The size and trace node of every form of ALLOC. */
static void
decode_alloc_tail (HtCursor *size, HtCursor *node, HtEvent *e)
{
  e->alloc.size = cursor_varint (size);
  guint64 id = cursor_varint (node);
  if (id >= G_MAXUINT32)
    node->bad = TRUE;
  e->alloc.node = (guint32) id;
}

static void
ptr_state_reset (HtPtrState *ps)
{
  ps->last_ptr = 0;
  ps->allocs = 0;
  ps->next_ptr = 0;
  if (ps->ring)
    g_array_set_size (ps->ring, 0);
  memset (ps->recent, 0, sizeof ps->recent);
  memset (&ps->reuse, 0, sizeof ps->reuse);
}

static void
ptr_state_alloc (HtPtrState *ps, guint64 ptr, guint64 size)
{
  HtAllocSeen a = { ptr, ht_reuse_class (size) };
  ps->next_ptr = ptr + ht_chunk_size (size);
  if (!ps->ring)
    ps->ring = g_array_new (FALSE, FALSE, sizeof (HtAllocSeen));
  if (ps->ring->len < HT_AGE_WINDOW)
    g_array_append_val (ps->ring, a);
  else
    g_array_index (ps->ring, HtAllocSeen, ps->allocs % HT_AGE_WINDOW) = a;
  ps->allocs++;
}

/* A format 6 payload's columns (ht-format.h, HtColumn): `row` is cut to the row, `col` gets
 * one cursor a column.  FALSE when the trailer does not add up. */
static gboolean
split_columns (HtCursor *row, HtCursor col[HT_COLUMNS])
{
  gsize size = (gsize) (row->end - row->p);
  if (size < HT_COLUMN_TRAILER)
    return FALSE;
  const guint8 *trailer = row->end - HT_COLUMN_TRAILER;
  gsize total = 0;
  guint32 len[HT_COLUMNS];
  for (int i = 0; i < HT_COLUMNS; i++)
    {
      memcpy (&len[i], trailer + 4 * i, 4);
      len[i] = GUINT32_FROM_LE (len[i]);
      total += len[i];
    }
  if (total > size - HT_COLUMN_TRAILER)
    return FALSE;
  const guint8 *p = trailer - total;
  row->end = p;
  for (int i = 0; i < HT_COLUMNS; i++)
    {
      col[i] = (HtCursor){ p, p + len[i], FALSE };
      p += len[i];
    }
  return TRUE;
}

void
ht_module_info_free (HtModuleInfo *info)
{
  if (!info)
    return;
  g_free (info->path);
  g_free (info->build_id);
  g_free (info->segments);
  g_free (info);
}

/* NUL-terminated arguments into a GStrv. */
static GStrv
split_cmdline (const char *cmd, gsize len)
{
  GPtrArray *argv = g_ptr_array_new ();
  const char *end = cmd + len;
  while (cmd < end)
    {
      const char *z = memchr (cmd, 0, (size_t) (end - cmd));
      size_t n = z ? (size_t) (z - cmd) : (size_t) (end - cmd);
      g_ptr_array_add (argv, g_strndup (cmd, n));
      cmd += n + 1;
    }
  g_ptr_array_add (argv, NULL);
  return (GStrv) g_ptr_array_free (argv, FALSE);
}

void
ht_event_clear (HtEvent *e)
{
  if (e->tag == HT_REC_PYTYPE)
    g_clear_pointer (&e->pytype.name, g_free);
  if (e->tag == HT_REC_SUPPRESSIONS)
    g_clear_pointer (&e->suppressions.text, g_free);
  if (e->tag == HT_REC_CODE)
    {
      g_clear_pointer (&e->code.filename, g_free);
      g_clear_pointer (&e->code.qualname, g_free);
      g_clear_pointer (&e->code.linetable, g_bytes_unref);
    }
  if (e->tag == HT_REC_IMAGE)
    {
      g_clear_pointer (&e->image.exe, g_free);
      g_clear_pointer (&e->image.argv, g_strfreev);
    }
  if (e->tag == HT_REC_FRAMES && e->frames.functions)
    {
      for (guint i = 0; i < e->frames.count; i++)
        {
          g_free (e->frames.functions[i]);
          g_free (e->frames.files[i]);
        }
      g_clear_pointer (&e->frames.functions, g_free);
      g_clear_pointer (&e->frames.files, g_free);
      g_clear_pointer (&e->frames.lines, g_free);
      g_clear_pointer (&e->frames.module, g_free);
    }
  if (e->tag == HT_REC_MODULE)
    g_clear_pointer (&e->module.info, ht_module_info_free);
  else if (e->tag == HT_REC_SNAPSHOT)
    g_clear_pointer (&e->snapshot.label, g_free);
  else if (e->tag == HT_REC_TAG)
    g_clear_pointer (&e->typetag.type, g_free);
  else if (e->tag == HT_REC_EDGES)
    g_clear_pointer (&e->edges.items, g_free);
  else if (e->tag == HT_REC_ROOTS)
    g_clear_pointer (&e->roots.items, g_free);
}

/* The (word index, target, offset) triples of EDGES and ROOTS; word indexes come as
 * deltas, an EDGES target as a zigzag delta from the source block. */
static guint64 *
decode_refs (HtCursor *c, guint *count_out, gboolean relative, guint64 source)
{
  guint64 count = cursor_varint (c);
  if (count == 0 || count > HT_SCAN_BATCH)
    {
      c->bad = TRUE;
      return NULL;
    }
  guint64 *items = g_new (guint64, 3 * count);
  guint64 word = 0;
  for (guint64 i = 0; i < count && !c->bad; i++)
    {
      word += cursor_varint (c);
      guint64 target = cursor_varint (c);
      if (relative)
        target = source + (guint64) ht_zigzag_decode (target);
      items[3 * i] = word;
      items[3 * i + 1] = target;
      items[3 * i + 2] = cursor_varint (c);
    }
  if (c->bad)
    g_clear_pointer (&items, g_free);
  *count_out = (guint) count;
  return items;
}

static HtModuleInfo *
decode_module (HtCursor *c)
{
  guint64 path_len = cursor_varint (c);
  if (path_len > 65536)
    c->bad = TRUE;
  const guint8 *path = cursor_bytes (c, path_len);
  guint64 bias = cursor_varint (c);
  guint64 bid_len = cursor_varint (c);
  if (bid_len > 256)
    c->bad = TRUE;
  const guint8 *bid = cursor_bytes (c, bid_len);
  guint64 nseg = cursor_varint (c);
  if (nseg > 1024)
    c->bad = TRUE;
  if (c->bad)
    return NULL;
  HtModuleInfo *m = g_new0 (HtModuleInfo, 1);
  m->path = g_strndup ((const char *) path, path_len);
  m->bias = bias;
  GString *hex = g_string_new (NULL);
  for (guint64 i = 0; i < bid_len; i++)
    g_string_append_printf (hex, "%02x", bid[i]);
  m->build_id = g_string_free (hex, FALSE);
  m->nsegments = (guint) nseg;
  m->segments = g_new0 (guint64, nseg * 2 + 1);
  for (guint64 i = 0; i < nseg * 2; i++)
    m->segments[i] = cursor_varint (c);
  if (c->bad)
    {
      ht_module_info_free (m);
      return NULL;
    }
  return m;
}

static HtStream *
stream_get (HtReader *r, guint32 id)
{
  HtStream *s = g_hash_table_lookup (r->streams, GUINT_TO_POINTER (id));
  if (!s)
    {
      s = g_new0 (HtStream, 1);
      s->id = id;
      s->events = g_array_new (FALSE, FALSE, sizeof (HtEvent));
      s->heap_pos = -1;
      g_hash_table_insert (r->streams, GUINT_TO_POINTER (id), s);
    }
  return s;
}

static void
stream_free (gpointer data)
{
  HtStream *s = data;
  for (guint i = s->head; i < s->events->len; i++)
    ht_event_clear (&g_array_index (s->events, HtEvent, i));
  g_array_unref (s->events);
  if (s->ptrs.ring)
    g_array_unref (s->ptrs.ring);
  g_free (s);
}

/* ---------------------------------------------------------------------------------------
 * The heap of streams, keyed on the stamp of each stream's next event
 */
static guint64
head_stamp (HtStream *s)
{
  return g_array_index (s->events, HtEvent, s->head).stamp;
}

/* On equal stamps a free goes first: if it is the free of a block another thread then
 * got back from malloc, that is the true order (a block cannot be freed by a thread before
 * it was allocated and handed over, which takes far longer than one stamp unit). */
static gboolean
heap_less (HtStream *a, HtStream *b)
{
  guint64 x = head_stamp (a), y = head_stamp (b);
  if (x != y)
    return x < y;
  gboolean fa = g_array_index (a->events, HtEvent, a->head).tag == HT_REC_FREE;
  gboolean fb = g_array_index (b->events, HtEvent, b->head).tag == HT_REC_FREE;
  if (fa != fb)
    return fa;
  return a->id < b->id;
}

static void
heap_swap (GPtrArray *h, guint i, guint j)
{
  HtStream *a = h->pdata[i], *b = h->pdata[j];
  h->pdata[i] = b;
  h->pdata[j] = a;
  b->heap_pos = (int) i;
  a->heap_pos = (int) j;
}

static void
heap_up (GPtrArray *h, guint i)
{
  while (i > 0 && heap_less (h->pdata[i], h->pdata[(i - 1) / 2]))
    {
      heap_swap (h, i, (i - 1) / 2);
      i = (i - 1) / 2;
    }
}

static void
heap_down (GPtrArray *h, guint i)
{
  for (;;)
    {
      guint l = 2 * i + 1, r = l + 1, m = i;
      if (l < h->len && heap_less (h->pdata[l], h->pdata[m]))
        m = l;
      if (r < h->len && heap_less (h->pdata[r], h->pdata[m]))
        m = r;
      if (m == i)
        return;
      heap_swap (h, i, m);
      i = m;
    }
}

static void
heap_push (GPtrArray *h, HtStream *s)
{
  g_ptr_array_add (h, s);
  s->heap_pos = (int) h->len - 1;
  heap_up (h, h->len - 1);
}

static void
heap_pop (GPtrArray *h)
{
  HtStream *top = h->pdata[0];
  heap_swap (h, 0, h->len - 1);
  g_ptr_array_set_size (h, h->len - 1);
  top->heap_pos = -1;
  if (h->len > 0)
    heap_down (h, 0);
}

/* ---------------------------------------------------------------------------------------
 * Chunks
 */

/* Decodes one complete chunk payload into its stream's queue.  SYNC moves the watermark
 * and is not queued. */
static gboolean
decode_chunk (HtReader *r, const HtChunkHeader *h, const guint8 *payload, gsize chunk_offset,
              GError **error)
{
  HtStream *s = stream_get (r, h->stream);
  gboolean was_empty = s->head >= s->events->len;
  if (was_empty)
    {
      g_array_set_size (s->events, 0);
      s->head = 0;
    }
  else if (s->head > 4096 && s->head > s->events->len / 2)
    {
      g_array_remove_range (s->events, 0, s->head); /* keep the queue bounded */
      s->head = 0;
    }
  HtCursor c = { payload, payload + h->payload_size, FALSE };
  /* before format 6 every field follows its tag in the row: all cursors are the row's */
  HtCursor col[HT_COLUMNS];
  HtCursor *cs = &c, *cp = &c, *csz = &c, *cn = &c;
  if (r->version >= HT_FORMAT_VERSION_COLUMNS)
    {
      if (!split_columns (&c, col))
        {
          g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT,
                       "corrupt log: the columns of the chunk at byte %" G_GSIZE_FORMAT
                       " do not fit in it", chunk_offset);
          return FALSE;
        }
      cs = &col[HT_COL_STAMP];
      cp = &col[HT_COL_PTR];
      csz = &col[HT_COL_SIZE];
      cn = &col[HT_COL_NODE];
    }
  HtPtrState *ps = &s->ptrs;
  if (!(h->flags & HT_CHUNK_CONTINUES))
    ptr_state_reset (ps);
  guint64 stamp = h->base_stamp, ptr = ps->last_ptr;
  guint64 *recent = ps->recent;
  guint slot = 0;

  while (c.p < c.end)
    {
      const guint8 *rec_start = c.p;
      HtEvent e = { .tag = *c.p++, .stream = h->stream };
      if (e.tag & HT_REC_FREE_SLOT)
        {
          slot = e.tag & ~HT_REC_FREE_SLOT;
          e.tag = HT_REC_FREE_SLOT;
        }
      stamp += cursor_varint (cs);
      e.stamp = MAX (stamp, s->last_stamp); /* a stream never goes back in time */
      switch (e.tag)
        {
        case HT_REC_FREE_SLOT:
          e.tag = HT_REC_FREE;
          ptr = recent[slot];
          if (ptr == 0)
            c.bad = TRUE;
          e.free.ptr = ptr;
          break;
        case HT_REC_FREE_AGE:
          {
            e.tag = HT_REC_FREE;
            guint64 age = cursor_varint (cp);
            if (age == 0 || age > MIN (ps->allocs, HT_AGE_WINDOW))
              {
                c.bad = TRUE;
                break;
              }
            HtAllocSeen *a = &g_array_index (ps->ring, HtAllocSeen,
                                             (ps->allocs - age) % HT_AGE_WINDOW);
            ptr = a->ptr;
            recent[ht_recent_slot (ptr)] = ptr;
            ht_reuse_push (&ps->reuse, (unsigned) a->cls, ptr);
            e.free.ptr = ptr;
          }
          break;
        case HT_REC_ALLOC_SLOT:
        case HT_REC_ALLOC_REUSE:
        case HT_REC_ALLOC_NEXT:
        case HT_REC_ALLOC:
          /* the pointer first: before format 6 the row has it before the size */
          if (e.tag == HT_REC_ALLOC_REUSE)
            {
              guint64 depth = cursor_varint (cp);
              decode_alloc_tail (csz, cn, &e);
              ptr = ht_reuse_take (&ps->reuse, ht_reuse_class (e.alloc.size), depth);
              if (ptr == 0)
                c.bad = TRUE;
              recent[ht_recent_slot (ptr)] = ptr;
            }
          else if (e.tag == HT_REC_ALLOC_NEXT)
            {
              decode_alloc_tail (csz, cn, &e);
              ptr = ps->next_ptr;
              if (ptr == 0)
                c.bad = TRUE;
              recent[ht_recent_slot (ptr)] = ptr;
            }
          else
            {
              if (e.tag == HT_REC_ALLOC_SLOT)
                {
                  slot = cp->p < cp->end ? *cp->p++ : HT_RECENT_SLOTS;
                  if (slot >= HT_RECENT_SLOTS || recent[slot] == 0)
                    c.bad = TRUE;
                  else
                    ptr = recent[slot];
                }
              else
                {
                  ptr += (guint64) ht_zigzag_decode (cursor_varint (cp));
                  recent[ht_recent_slot (ptr)] = ptr;
                }
              decode_alloc_tail (csz, cn, &e);
            }
          e.tag = HT_REC_ALLOC;
          e.alloc.ptr = ptr;
          ptr_state_alloc (ps, ptr, e.alloc.size);
          break;
        case HT_REC_FREE:
        case HT_REC_UNFREE:
          ptr += (guint64) ht_zigzag_decode (cursor_varint (cp));
          recent[ht_recent_slot (ptr)] = ptr;
          e.free.ptr = ptr;
          break;
        case HT_REC_TRACE_NODE:
          {
            guint64 id = cursor_varint (&c), parent = cursor_varint (&c);
            if (id == 0 || id >= G_MAXUINT32 || parent >= G_MAXUINT32)
              c.bad = TRUE;
            e.node.id = (guint32) id;
            e.node.parent = (guint32) parent;
            e.node.ip = cursor_varint (&c);
          }
          break;
        case HT_REC_THREAD:
          e.thread.tid = cursor_varint (&c);
          break;
        case HT_REC_TAG:
          {
            ptr += (guint64) ht_zigzag_decode (cursor_varint (cp));
            recent[ht_recent_slot (ptr)] = ptr;
            e.typetag.ptr = ptr;
            guint64 len = cursor_varint (&c);
            if (len > 255)
              c.bad = TRUE;
            const guint8 *type = cursor_bytes (&c, len);
            if (!c.bad)
              e.typetag.type = g_utf8_make_valid ((const char *) type, (gssize) len);
          }
          break;
        case HT_REC_THREAD_END:
        case HT_REC_SYNC:
          break;
        case HT_REC_SAMPLE:
          e.sample.mono_ns = cursor_varint (&c);
          e.sample.rss = cursor_varint (&c);
          e.sample.recorder = cursor_varint (&c);
          e.sample.recorder_time = cursor_varint (&c);
          break;
        case HT_REC_MODULE:
          e.module.new_map = (cursor_varint (&c) & HT_MODULE_NEW_MAP) != 0;
          e.module.info = decode_module (&c);
          if (!e.module.info)
            c.bad = TRUE;
          break;
        case HT_REC_END:
          e.end.reason = cursor_varint (&c);
          break;
        case HT_REC_LOST:
          e.lost.count = cursor_varint (&c);
          break;
        case HT_REC_FRAMES:
          {
            e.frames.ip = cursor_varint (&c);
            guint64 len = cursor_varint (&c);
            const guint8 *module = len <= 4096 ? cursor_bytes (&c, len) : NULL;
            guint64 n = cursor_varint (&c);
            if (len > 4096 || n == 0 || n > 64 || c.bad)
              {
                c.bad = TRUE;
                break;
              }
            e.frames.module = len ? g_utf8_make_valid ((const char *) module, (gssize) len) : NULL;
            e.frames.count = (guint) n;
            e.frames.functions = g_new0 (char *, n + 1);
            e.frames.files = g_new0 (char *, n + 1);
            e.frames.lines = g_new0 (guint, n);
            for (guint i = 0; i < n && !c.bad; i++)
              for (int part = 0; part < 2 && !c.bad; part++)
                {
                  guint64 l = cursor_varint (&c);
                  const guint8 *text = l <= 4096 ? cursor_bytes (&c, l) : NULL;
                  if (l > 4096 || c.bad)
                    c.bad = TRUE;
                  else if (l)
                    (part ? e.frames.files : e.frames.functions)[i]
                      = g_utf8_make_valid ((const char *) text, (gssize) l);
                }
            for (guint i = 0; i < n && !c.bad; i++)
              {
                guint64 line = cursor_varint (&c); /* MIN() would read it twice */
                e.frames.lines[i] = (guint) MIN (line, G_MAXUINT);
              }
          }
          break;
        case HT_REC_SAMPLING:
          e.sampling.mean = cursor_varint (&c);
          if (e.sampling.mean == 0 || e.sampling.mean > (G_GUINT64_CONSTANT (1) << 48))
            c.bad = TRUE;
          break;
        case HT_REC_SUPPRESSIONS:
          {
            guint64 len = cursor_varint (&c);
            if (len > 32768)
              c.bad = TRUE;
            const guint8 *text = cursor_bytes (&c, len);
            if (!c.bad)
              e.suppressions.text = g_utf8_make_valid ((const char *) text, (gssize) len);
          }
          break;
        case HT_REC_PYTYPE:
          {
            e.pytype.type = cursor_varint (&c);
            guint64 len = cursor_varint (&c);
            if (len == 0 || len > 255)
              c.bad = TRUE;
            const guint8 *name = cursor_bytes (&c, len);
            if (!c.bad)
              e.pytype.name = g_utf8_make_valid ((const char *) name, (gssize) len);
          }
          break;
        case HT_REC_PYBLOCK:
        case HT_REC_BLOCK:
          e.block.ptr = cursor_varint (&c);
          e.block.size = cursor_varint (&c);
          e.block.word = cursor_varint (&c);
          if (e.tag == HT_REC_PYBLOCK)
            {
              e.block.gc_head = cursor_varint (&c);
              if (e.block.gc_head > 64)
                c.bad = TRUE;
            }
          break;
        case HT_REC_EDGES:
          e.edges.source = cursor_varint (&c);
          e.edges.items = decode_refs (&c, &e.edges.count, TRUE, e.edges.source);
          break;
        case HT_REC_ROOTS:
          {
            guint64 kind = cursor_varint (&c);
            if (kind < HT_ROOT_DATA || kind > HT_ROOT_ANON)
              c.bad = TRUE;
            e.roots.kind = (guint) kind;
            e.roots.tid = cursor_varint (&c);
            e.roots.base = cursor_varint (&c);
            e.roots.items = decode_refs (&c, &e.roots.count, FALSE, 0);
          }
          break;
        case HT_REC_SCAN:
          e.scan.blocks = cursor_varint (&c);
          e.scan.edges = cursor_varint (&c);
          e.scan.root_words = cursor_varint (&c);
          e.scan.heap_bytes = cursor_varint (&c);
          e.scan.root_bytes = cursor_varint (&c);
          e.scan.stopped = cursor_varint (&c);
          e.scan.missed = cursor_varint (&c);
          e.scan.duration_ns = cursor_varint (&c);
          e.scan.flags = cursor_varint (&c);
          break;
        case HT_REC_CODE:
          {
            guint64 id = cursor_varint (&c);
            e.code.version = (guint32) cursor_varint (&c);
            guint64 first = cursor_varint (&c);
            if (id == 0 || id > G_MAXINT32 || first > G_MAXINT32)
              c.bad = TRUE;
            e.code.id = (guint32) id;
            e.code.first_line = (guint32) first;
            guint64 flen = cursor_varint (&c);
            const guint8 *fname = cursor_bytes (&c, flen);
            guint64 qlen = cursor_varint (&c);
            const guint8 *qname = cursor_bytes (&c, qlen);
            guint64 tlen = cursor_varint (&c);
            const guint8 *table = cursor_bytes (&c, tlen);
            if (!c.bad)
              {
                e.code.filename = g_utf8_make_valid ((const char *) fname, (gssize) flen);
                e.code.qualname = g_utf8_make_valid ((const char *) qname, (gssize) qlen);
                e.code.linetable = g_bytes_new (table, tlen);
              }
          }
          break;
        case HT_REC_IMAGE:
          {
            e.image.pid = (guint32) cursor_varint (&c);
            guint64 exe_len = cursor_varint (&c);
            if (exe_len > 65536)
              c.bad = TRUE;
            const guint8 *exe = cursor_bytes (&c, exe_len);
            guint64 cmd_len = cursor_varint (&c);
            if (cmd_len > HT_CHUNK_MAX_PAYLOAD)
              c.bad = TRUE;
            const guint8 *cmd = cursor_bytes (&c, cmd_len);
            if (!c.bad)
              {
                e.image.exe = g_strndup ((const char *) exe, exe_len);
                e.image.argv = split_cmdline ((const char *) cmd, cmd_len);
              }
          }
          break;
        case HT_REC_SNAPSHOT:
          {
            guint64 len = cursor_varint (&c);
            if (len > 255)
              c.bad = TRUE;
            const guint8 *label = cursor_bytes (&c, len);
            if (!c.bad)
              e.snapshot.label = g_utf8_make_valid ((const char *) label, (gssize) len);
          }
          break;
        default:
          g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT,
                       "corrupt log: unknown record type 0x%02x in the chunk at byte %"
                       G_GSIZE_FORMAT " (record offset %" G_GSIZE_FORMAT ")",
                       e.tag, chunk_offset, (gsize) (rec_start - payload));
          return FALSE;
        }
      if (c.bad || cs->bad || cp->bad || csz->bad || cn->bad)
        {
          ht_event_clear (&e);
          g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT,
                       "corrupt log: bad record (type 0x%02x) in the chunk at byte %"
                       G_GSIZE_FORMAT " (record offset %" G_GSIZE_FORMAT ")",
                       e.tag, chunk_offset, (gsize) (rec_start - payload));
          return FALSE;
        }
      s->last_stamp = e.stamp;
      if (e.tag == HT_REC_SYNC)
        r->watermark = MAX (r->watermark, e.stamp);
      else
        g_array_append_val (s->events, e);
    }
  ps->last_ptr = ptr;
  if (cs->p != cs->end || cp->p != cp->end || csz->p != csz->end || cn->p != cn->end)
    {
      g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT,
                   "corrupt log: the columns of the chunk at byte %" G_GSIZE_FORMAT
                   " hold more than its records use", chunk_offset);
      return FALSE;
    }
  if (s->heap_pos < 0 && s->head < s->events->len)
    heap_push (r->heap, s);
  return TRUE;
}

/* Reads the next chunk.  FALSE at the end of the file (r->eof set) or on error. */
/* Chunks are read once, in file order: what lies behind is given back to the kernel every
 * 8 MiB (the pages stay in the page cache), so the import's resident memory does not grow
 * with the log, however large. */
static void
drop_read_pages (HtReader *r)
{
  gsize page = (gsize) sysconf (_SC_PAGESIZE);
  gsize upto = r->offset & ~(page - 1);
  if (r->map && upto >= r->dropped + (8u << 20))
    {
      madvise ((void *) (r->data + r->dropped), upto - r->dropped, MADV_DONTNEED);
      r->dropped = upto;
    }
}

static gboolean
read_chunk (HtReader *r, GError **error)
{
  drop_read_pages (r);
  gsize left = r->size - r->offset;
  if (left == 0)
    {
      r->eof = TRUE;
      return FALSE;
    }
  if (left < sizeof (HtChunkHeader))
    {
      r->warning = g_strdup_printf ("truncated log: %" G_GSIZE_FORMAT
                                    " stray bytes at the end ignored (the program was killed?)",
                                    left);
      r->eof = TRUE;
      return FALSE;
    }
  HtChunkHeader h;
  memcpy (&h, r->data + r->offset, sizeof h);
  if (h.magic != HT_CHUNK_MAGIC || h.payload_size > HT_CHUNK_MAX_PAYLOAD
      || (h.flags & ~(guint32) (HT_CHUNK_ZSTD | (r->version >= HT_FORMAT_VERSION_COLUMNS
                                                      ? HT_CHUNK_CONTINUES : 0))) != 0)
    {
      g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT,
                   "corrupt log: bad chunk header at byte %" G_GSIZE_FORMAT, r->offset);
      return FALSE;
    }
  if (h.payload_size > left - sizeof h)
    {
      r->warning = g_strdup_printf ("truncated log: the last chunk (%" G_GSIZE_FORMAT
                                    " of %u bytes) is incomplete; read up to byte %" G_GSIZE_FORMAT
                                    " (the program was killed?)",
                                    left - sizeof h, h.payload_size, r->offset);
      r->eof = TRUE;
      return FALSE;
    }
  const guint8 *payload = r->data + r->offset + sizeof h;
  gsize chunk_offset = r->offset;
  r->offset += sizeof h + h.payload_size;
  if (h.flags & HT_CHUNK_ZSTD)
    {
      unsigned long long size = ZSTD_getFrameContentSize (payload, h.payload_size);
      if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN
          || size > HT_CHUNK_MAX_PAYLOAD)
        {
          g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT,
                       "corrupt log: bad compressed chunk at byte %" G_GSIZE_FORMAT, chunk_offset);
          return FALSE;
        }
      g_byte_array_set_size (r->unpacked, (guint) size);
      size_t n = ZSTD_decompress (r->unpacked->data, size, payload, h.payload_size);
      if (ZSTD_isError (n) || n != size)
        {
          g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT,
                       "corrupt log: compressed chunk at byte %" G_GSIZE_FORMAT " does not "
                       "decompress (%s)",
                       chunk_offset, ZSTD_isError (n) ? ZSTD_getErrorName (n) : "short");
          return FALSE;
        }
      h.payload_size = (guint32) size;
      return decode_chunk (r, &h, r->unpacked->data, chunk_offset, error);
    }
  return decode_chunk (r, &h, payload, chunk_offset, error);
}

gboolean
ht_reader_next (HtReader *r, HtEvent *event, GError **error)
{
  for (;;)
    {
      if (r->heap->len > 0)
        {
          HtStream *s = r->heap->pdata[0];
          if (r->eof || head_stamp (s) < r->watermark)
            {
              *event = g_array_index (s->events, HtEvent, s->head);
              s->head++;
              if (s->head < s->events->len)
                heap_down (r->heap, 0);
              else
                heap_pop (r->heap);
              return TRUE;
            }
        }
      if (r->eof)
        return FALSE;
      if (!read_chunk (r, error))
        {
          if (!r->eof)
            return FALSE; /* an error */
          if (r->heap->len == 0)
            return FALSE;
        }
    }
}

/* ---------------------------------------------------------------------------------------
 * Opening
 */
static gboolean
parse_header (HtReader *r, GError **error)
{
  HtFileHeader h;
  if (r->size < sizeof h.magic || memcmp (r->data, HT_FILE_MAGIC, sizeof h.magic) != 0)
    {
      g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_NOT_A_LOG,
                   r->size == 0 ? "empty file, not a heaptrail log"
                                : "not a heaptrail log (wrong magic)");
      return FALSE;
    }
  if (r->size < sizeof h)
    {
      g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_TRUNCATED,
                   "truncated log: the header is incomplete (%" G_GSIZE_FORMAT " bytes)",
                   r->size);
      return FALSE;
    }
  memcpy (&h, r->data, sizeof h);
  r->version = h.version;
  if (h.version > HT_FORMAT_VERSION)
    {
      g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_VERSION,
                   "log format version %u is newer than this heaptrail reads (%u); "
                   "upgrade heaptrail",
                   h.version, HT_FORMAT_VERSION);
      return FALSE;
    }
  if (h.version > 0 && h.version < HT_FORMAT_VERSION_OLDEST)
    {
      g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_VERSION,
                   "log format version %u is older than this heaptrail reads (%u); record the "
                   "program again",
                   h.version, HT_FORMAT_VERSION_OLDEST);
      return FALSE;
    }
  if (h.version == 0 || h.header_size < sizeof h || h.clock < HT_CLOCK_TSC
      || h.clock > HT_CLOCK_MONOTONIC || h.stamp_shift > 32)
    {
      g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT, "corrupt log: bad header");
      return FALSE;
    }
  guint64 need = (guint64) h.header_size + h.exe_len + h.cmdline_len;
  if (need > r->size)
    {
      g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_TRUNCATED,
                   "truncated log: the header is incomplete (%" G_GSIZE_FORMAT " bytes)",
                   r->size);
      return FALSE;
    }
  r->info.pid = h.pid;
  r->info.ppid = h.ppid;
  r->info.clock = h.clock;
  r->info.stamp_shift = h.stamp_shift;
  r->info.max_frames = h.max_frames;
  r->info.attached = (h.flags & HT_HEADER_ATTACHED) != 0;
  r->info.start_unix_ns = h.start_unix_ns;
  r->info.start_stamp = h.start_stamp;
  const char *exe = (const char *) r->data + h.header_size;
  r->info.exe = g_strndup (exe, h.exe_len);
  r->info.argv = split_cmdline (exe + h.exe_len, h.cmdline_len);
  r->offset = (gsize) need;
  r->watermark = 0;
  return TRUE;
}

HtReader *
ht_reader_open (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);

  struct stat st;
  if (stat (path, &st) != 0)
    {
      int err = errno;
      g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_IO, "%s", g_strerror (err));
      return NULL;
    }
  if (S_ISDIR (st.st_mode))
    {
      g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_IO, "is a directory, not a log");
      return NULL;
    }
  HtReader *r = g_new0 (HtReader, 1);
  r->path = g_strdup (path);
  r->streams = g_hash_table_new_full (NULL, NULL, NULL, stream_free);
  r->heap = g_ptr_array_new ();
  r->unpacked = g_byte_array_new ();
  if (st.st_size > 0)
    {
      GError *local = NULL;
      r->map = g_mapped_file_new (path, FALSE, &local);
      if (!r->map)
        {
          g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_IO, "%s",
                       local->code == G_FILE_ERROR_ACCES ? g_strerror (EACCES) : local->message);
          g_error_free (local);
          ht_reader_free (r);
          return NULL;
        }
      r->data = (const guint8 *) g_mapped_file_get_contents (r->map);
      r->size = g_mapped_file_get_length (r->map);
    }
  if (!parse_header (r, error))
    {
      ht_reader_free (r);
      return NULL;
    }
  return r;
}

void
ht_reader_free (HtReader *r)
{
  if (!r)
    return;
  g_free (r->path);
  g_clear_pointer (&r->map, g_mapped_file_unref);
  g_free (r->info.exe);
  g_strfreev (r->info.argv);
  g_hash_table_unref (r->streams);
  g_ptr_array_unref (r->heap);
  g_byte_array_unref (r->unpacked);
  g_free (r->warning);
  g_free (r);
}

const HtLogInfo *
ht_reader_info (HtReader *r)
{
  return &r->info;
}

guint64
ht_reader_offset (HtReader *r)
{
  return r->offset;
}

guint64
ht_reader_size (HtReader *r)
{
  return r->size;
}

const char *
ht_reader_warning (HtReader *r)
{
  return r->warning;
}

gboolean
ht_log_looks_like_log (const char *path)
{
  char magic[8];
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return FALSE;
  gboolean ok = read (fd, magic, sizeof magic) == sizeof magic
                && memcmp (magic, HT_FILE_MAGIC, sizeof magic) == 0;
  close (fd);
  return ok || ht_heaptrack_looks_like (path); /* imported through ht-heaptrack.c */
}

/* Opens a second reader on the same file with one control chunk decoded: the last one, or
 * the one `back` control chunks before it. */
static HtReader *
open_at_control_chunk (HtReader *reader, guint back)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HtReader) r = ht_reader_open (reader->path, &error);
  if (!r)
    return NULL;
  gsize off = r->offset, recent[8], n = 0;
  while (off + sizeof (HtChunkHeader) <= r->size)
    {
      HtChunkHeader h;
      memcpy (&h, r->data + off, sizeof h);
      if (h.magic != HT_CHUNK_MAGIC || h.payload_size > r->size - off - sizeof h)
        break;
      if (h.stream == HT_CONTROL_STREAM)
        recent[n++ % G_N_ELEMENTS (recent)] = off;
      off += sizeof h + h.payload_size;
      r->offset = off; /* the walk's pages too go back to the kernel behind it */
      drop_read_pages (r);
    }
  if (back >= MIN (n, G_N_ELEMENTS (recent)))
    return NULL;
  gsize last_control = recent[(n - 1 - back) % G_N_ELEMENTS (recent)];
  r->offset = last_control;
  if (!read_chunk (r, NULL))
    return NULL;
  return g_steal_pointer (&r);
}

guint64
ht_reader_last_stamp (HtReader *reader)
{
  g_autoptr (HtReader) r = open_at_control_chunk (reader, 0);
  HtStream *s = r ? g_hash_table_lookup (r->streams, GUINT_TO_POINTER (HT_CONTROL_STREAM)) : NULL;
  return s ? s->last_stamp : 0;
}

double
ht_reader_ns_per_stamp (HtReader *reader)
{
  /* the very last control chunk may hold only the END mark: look a few chunks back */
  for (guint back = 0; back < 8; back++)
    {
      g_autoptr (HtReader) r = open_at_control_chunk (reader, back);
      if (!r)
        return 0;
      HtStream *s = g_hash_table_lookup (r->streams, GUINT_TO_POINTER (HT_CONTROL_STREAM));
      for (guint i = s ? s->events->len : 0; i-- > 0;)
        {
          const HtEvent *e = &g_array_index (s->events, HtEvent, i);
          if (e->tag == HT_REC_SAMPLE && e->stamp > reader->info.start_stamp && e->sample.mono_ns)
            return (double) e->sample.mono_ns / (double) (e->stamp - reader->info.start_stamp);
        }
    }
  return 0;
}
