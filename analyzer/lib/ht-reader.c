/* ht-reader.c - the bounds-checked log reader and stream merger.
 *
 * The file is mapped read-only; nothing in it is trusted.  Chunks are decoded whole into
 * per-stream queues (ht-reader-decode.c), and events leave in stamp order through a binary
 * heap of streams:
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
#include "ht-heaptrack.h"
#include "ht-reader-private.h"

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

static HtStream *
stream_get (HtReader *r, guint32 id)
{
  HtStream *s = g_hash_table_lookup (r->streams, GUINT_TO_POINTER (id));
  if (!s)
    {
      s = g_new0 (HtStream, 1);
      s->id = id;
      s->events = g_array_new (FALSE, FALSE, sizeof (HtQueued));
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
    ht_queued_clear (&g_array_index (s->events, HtQueued, i));
  g_array_unref (s->events);
  if (s->ptrs.ring)
    g_array_unref (s->ptrs.ring);
  g_free (s->ptrs.freed);
  g_free (s->ptrs.live);
  g_free (s);
}

/* ---------------------------------------------------------------------------------------
 * The heap of streams, keyed on the stamp of each stream's next event
 */
static guint64
head_stamp (HtStream *s)
{
  return g_array_index (s->events, HtQueued, s->head).stamp;
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
  gboolean fa = g_array_index (a->events, HtQueued, a->head).tag == HT_REC_FREE;
  gboolean fb = g_array_index (b->events, HtQueued, b->head).tag == HT_REC_FREE;
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

/* Decodes one complete chunk payload into its stream's queue (ht-reader-decode.c), which
 * then joins the heap. */
static gboolean
decode_chunk (HtReader *r, const HtChunkHeader *h, const guint8 *payload, gsize chunk_offset,
              GError **error)
{
  HtStream *s = stream_get (r, h->stream);
  if (!ht_stream_decode (s, r->version, h, payload, chunk_offset, &r->watermark, error))
    return FALSE;
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
              ht_queued_take (&g_array_index (s->events, HtQueued, s->head), s->id, event);
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
          const HtQueued *q = &g_array_index (s->events, HtQueued, i);
          const HtEvent *e
            = q->tag == HT_REC_SAMPLE ? (const HtEvent *) (uintptr_t) q->ptr : NULL;
          if (e && e->stamp > reader->info.start_stamp && e->sample.mono_ns)
            return (double) e->sample.mono_ns / (double) (e->stamp - reader->info.start_stamp);
        }
    }
  return 0;
}
