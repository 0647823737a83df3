/* ht-reader-decode.c - a chunk's records into events, bounds-checked: nothing in the file
 * is trusted.
 *
 * Format 6 chunks are split into columns (ht-format.h, HtColumn): a record's fields are
 * read each from its column, and the pointer state (recent slots, the last allocations,
 * reuse stacks) goes on from chunk to chunk of a stream when the chunk says so.  Before
 * format 6 every field follows its tag in the row: all cursors are then the row's.
 */
#include <string.h>

#include "ht-error.h"
#include "ht-reader-private.h"

/* ---------------------------------------------------------------------------------------
 * The queue of a stream's decoded events
 */
void
ht_queued_push (GArray *queue, HtEvent *e)
{
  HtQueued q = { .stamp = e->stamp, .tag = (guint8) e->tag };
  if (e->tag == HT_REC_ALLOC)
    {
      q.ptr = e->alloc.ptr;
      q.size = e->alloc.size;
      q.node = e->alloc.node;
    }
  else if (e->tag == HT_REC_FREE || e->tag == HT_REC_UNFREE)
    q.ptr = e->free.ptr;
  else
    q.ptr = (guint64) (uintptr_t) g_memdup2 (e, sizeof *e); /* its strings go with it */
  g_array_append_val (queue, q);
}

void
ht_queued_take (HtQueued *q, guint32 stream, HtEvent *out)
{
  if (q->tag == HT_REC_ALLOC)
    *out = (HtEvent){ .tag = q->tag, .stream = stream, .stamp = q->stamp,
                      .alloc = { q->ptr, q->size, q->node } };
  else if (q->tag == HT_REC_FREE || q->tag == HT_REC_UNFREE)
    *out = (HtEvent){ .tag = q->tag, .stream = stream, .stamp = q->stamp,
                      .free = { q->ptr } };
  else
    {
      HtEvent *e = (HtEvent *) (uintptr_t) q->ptr;
      *out = *e;
      g_free (e);
    }
}

void
ht_queued_clear (HtQueued *q)
{
  if (q->tag != HT_REC_ALLOC && q->tag != HT_REC_FREE && q->tag != HT_REC_UNFREE && q->ptr)
    {
      HtEvent *e = (HtEvent *) (uintptr_t) q->ptr;
      ht_event_clear (e);
      g_free (e);
      q->ptr = 0;
    }
}

/* ---------------------------------------------------------------------------------------
 * Decoding
 */
typedef struct HtCursor HtCursor;
struct HtCursor
{
  const guint8 *p, *end;
  gboolean bad;
  HtCursor *more; /* a format 9 column's more part: the rest of its varints */
};

/* A whole varint from c. */
static guint64
cursor_leb128 (HtCursor *c)
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

/* The next varint of c: whole, or in a format 9 column its first byte here and the rest
 * in the more part. */
static inline guint64
cursor_varint (HtCursor *c)
{
  if (G_LIKELY (c->p < c->end && !(*c->p & 0x80)))
    return *c->p++;
  if (!c->more || c->p >= c->end)
    return cursor_leb128 (c);
  guint8 first = *c->p++;
  guint64 rest = cursor_leb128 (c->more);
  if (c->more->bad || rest >> 57)
    {
      c->bad = TRUE;
      return 0;
    }
  return (first & 0x7f) | rest << 7;
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
ptr_state_reset (HtPtrState *ps, guint version)
{
  ps->version = version;
  ps->last_ptr = 0;
  ps->allocs = 0;
  ps->next_ptr = 0;
  ps->frees = 0;
  if (ps->ring)
    g_array_set_size (ps->ring, 0);
  memset (ps->recent, 0, sizeof ps->recent);
  ht_reuse_init (&ps->reuse, version);
  if (ps->live)
    ht_live_clear (ps->live);
}

/* A FREE of `ptr`, in any form. */
static void
ptr_state_free (HtPtrState *ps, guint64 ptr)
{
  if (!ps->freed)
    ps->freed = g_new (guint64, HT_FREED_WINDOW);
  ps->freed[ps->frees++ % HT_FREED_WINDOW] = ptr;
}

static void
ptr_state_alloc (HtPtrState *ps, guint64 ptr, guint64 size)
{
  HtAllocSeen a = { ptr, ht_reuse_class (&ps->reuse, size) };
  ps->next_ptr = ptr + ht_chunk_size (size);
  if (!ps->ring)
    ps->ring = g_array_new (FALSE, FALSE, sizeof (HtAllocSeen));
  if (ps->ring->len < HT_AGE_WINDOW)
    g_array_append_val (ps->ring, a);
  else
    g_array_index (ps->ring, HtAllocSeen, ps->allocs % HT_AGE_WINDOW) = a;
  ps->allocs++;
  if (ps->version >= HT_FORMAT_VERSION_SPLIT)
    {
      if (!ps->live)
        ps->live = g_new0 (HtLiveWindow, 1);
      ht_live_alloc (ps->live, ps->allocs);
    }
}

/* A format 6 payload's columns (ht-format.h, HtColumn): `row` is cut to the row, `col` gets
 * one cursor a part (`parts` of them: a format 9 column's first part is col[i], its more
 * part col[HT_COLUMNS + i]).  FALSE when the trailer does not add up. */
static gboolean
split_columns (HtCursor *row, HtCursor col[HT_PARTS], int parts)
{
  gsize size = (gsize) (row->end - row->p), trailer_size = 4 * (gsize) parts;
  if (size < trailer_size)
    return FALSE;
  const guint8 *trailer = row->end - trailer_size;
  gsize total = 0;
  guint32 len[HT_PARTS];
  for (int i = 0; i < parts; i++)
    {
      memcpy (&len[i], trailer + 4 * i, 4);
      len[i] = GUINT32_FROM_LE (len[i]);
      total += len[i];
    }
  if (total > size - trailer_size)
    return FALSE;
  const guint8 *p = trailer - total;
  row->end = p;
  for (int i = 0; i < parts; i++)
    {
      col[i] = (HtCursor){ p, p + len[i], FALSE, NULL };
      p += len[i];
    }
  if (parts == HT_PARTS)
    for (int i = 0; i < HT_COLUMNS; i++)
      col[i].more = &col[HT_COLUMNS + i];
  return TRUE;
}

/* Whether a column read past its end; per record, so only the first parts are looked at:
 * a more part's failure marks its column's first part (cursor_varint). */
static gboolean
cursors_bad (const HtCursor *col, int columns)
{
  for (int i = 0; i < columns; i++)
    if (col[i].bad)
      return TRUE;
  return FALSE;
}

/* Whether a part holds bytes that no record read. */
static gboolean
cursors_left (const HtCursor *col, int parts)
{
  for (int i = 0; i < parts; i++)
    if (col[i].p != col[i].end)
      return TRUE;
  return FALSE;
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
GStrv
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

gboolean
ht_stream_decode (HtStream *s, guint version, const HtChunkHeader *h, const guint8 *payload,
                  gsize chunk_offset, guint64 *watermark, GError **error)
{
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
  HtCursor c = { payload, payload + h->payload_size, FALSE, NULL };
  /* before format 6 every field follows its tag in the row: all cursors are the row's */
  HtCursor col[HT_PARTS];
  HtCursor *cs = &c, *cp = &c, *csz = &c, *cn = &c, *ca = &c;
  int columns = ht_columns_of (version), parts = ht_parts_of (version);
  if (columns)
    {
      if (!split_columns (&c, col, parts))
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
      ca = columns > HT_COL_AGE ? &col[HT_COL_AGE] : cp;
    }
  HtPtrState *ps = &s->ptrs;
  if (!(h->flags & HT_CHUNK_CONTINUES) || ps->version != version)
    ptr_state_reset (ps, version);
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
          ptr_state_free (ps, ptr);
          e.free.ptr = ptr;
          break;
        case HT_REC_FREE_AGE:
          {
            e.tag = HT_REC_FREE;
            guint64 age = cursor_varint (ca);
            int pos = -1;
            if (version >= HT_FORMAT_VERSION_SPLIT)
              pos = ps->live ? ht_live_take (ps->live, ps->allocs, age) : -1;
            else if (age != 0 && age <= MIN (ps->allocs, HT_AGE_WINDOW))
              pos = (int) ((ps->allocs - age) % HT_AGE_WINDOW);
            if (pos < 0)
              {
                c.bad = TRUE;
                break;
              }
            HtAllocSeen *a = &g_array_index (ps->ring, HtAllocSeen, (guint) pos);
            ptr = a->ptr;
            recent[ht_recent_slot (ptr)] = ptr;
            ht_reuse_push (&ps->reuse, (unsigned) a->cls, ptr);
            ptr_state_free (ps, ptr);
            e.free.ptr = ptr;
          }
          break;
        case HT_REC_ALLOC_SLOT:
        case HT_REC_ALLOC_REUSE:
        case HT_REC_ALLOC_NEXT:
        case HT_REC_ALLOC_FREED:
        case HT_REC_ALLOC:
          /* the pointer first: before format 6 the row has it before the size */
          if (e.tag == HT_REC_ALLOC_REUSE)
            {
              guint64 depth = cursor_varint (cp);
              decode_alloc_tail (csz, cn, &e);
              ptr = ht_reuse_take (&ps->reuse, ht_reuse_class (&ps->reuse, e.alloc.size), depth);
              if (ptr == 0)
                c.bad = TRUE;
              recent[ht_recent_slot (ptr)] = ptr;
            }
          else if (e.tag == HT_REC_ALLOC_FREED)
            {
              guint64 index = cursor_varint (version >= HT_FORMAT_VERSION_SPLIT ? ca : cp);
              decode_alloc_tail (csz, cn, &e);
              if (version < HT_FORMAT_VERSION_FREED || index == 0
                  || index > MIN (ps->frees, version >= HT_FORMAT_VERSION_SPLIT
                                                 ? HT_FREED_WINDOW : HT_FREED_WINDOW_8))
                c.bad = TRUE;
              else
                ptr = ps->freed[(ps->frees - index) % HT_FREED_WINDOW];
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
          if (e.tag == HT_REC_FREE)
            ptr_state_free (ps, ptr);
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
        case HT_REC_COUNTED:
          e.counted.calls = cursor_varint (&c);
          e.counted.bytes = cursor_varint (&c);
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
      if (c.bad || cursors_bad (col, columns))
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
        *watermark = MAX (*watermark, e.stamp);
      else
        ht_queued_push (s->events, &e);
    }
  ps->last_ptr = ptr;
  if (cursors_left (col, parts))
    {
      g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT,
                   "corrupt log: the columns of the chunk at byte %" G_GSIZE_FORMAT
                   " hold more than its records use", chunk_offset);
      return FALSE;
    }
  return TRUE;
}

