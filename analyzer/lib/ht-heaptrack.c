/* ht-heaptrack.c - heaptrack's recordings (heaptrack.PROG.PID.zst or .gz), read as they are.
 *
 * What `heaptrack PROG` leaves is zstd- or gzip-compressed text, one record a line, numbers
 * in hex, after heaptrack_interpret has symbolized it.  Learnt from the files Debian's
 * heaptrack 1.4 writes (file version 3; 2 has strings without their length):
 *
 *   v VERSION FILE_VERSION      X EXE                I PAGE_SIZE PAGES
 *   s LENGTH STRING             strings, numbered from 1 in order
 *   i IP MODULE [FUNC [FILE LINE [FUNC FILE LINE]...]]
 *                               an address, numbered from 1: its module's path and, when
 *                               known, its function, source line and inlined frames
 *   t IP_INDEX PARENT_TRACE     a trace tree node, numbered from 1 (0 is the root)
 *   a SIZE TRACE                an allocation kind, numbered from 0
 *   + KIND  / - KIND            an allocation of that kind / a free of one
 *   c MILLISECONDS  R RSS_PAGES  A (attached to a running process)  # comment
 *
 * The file becomes a heaptrail log (ht-encoder.h's records, one thread stream): each 'i'
 * a FRAMES record, each 't' a TRACE_NODE, each '+' an ALLOC at an address made up for it,
 * each '-' the FREE of the latest live block of that kind (heaptrack keeps no addresses
 * once interpreted; any choice gives the same figures per kind), each 'c' a SAMPLE and a
 * SYNC.  The importer then reads it as any log.
 */
#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <zstd.h>

#include "ht-encoder.h"
#include "ht-error.h"
#include "ht-heaptrack.h"

#define CHUNK_FLUSH (1u << 20) /* records per chunk before it is written */

/* ---------------------------------------------------------------------------------------
 * Lines out of a .zst or .gz
 */
typedef struct
{
  GInputStream *file;
  GInputStream *gz;   /* gzip: the decompressing stream; else NULL */
  ZSTD_DStream *zstd; /* zstd: the decompressor; else NULL */
  guint8 in[1 << 16];
  ZSTD_inBuffer zin;
  GByteArray *buf; /* decompressed, not yet returned */
  gsize pos;
  gboolean eof;
  guint64 line_no;
} HtLines;

static gboolean
lines_fill (HtLines *l, GError **error)
{
  if (l->pos > 0)
    {
      g_byte_array_remove_range (l->buf, 0, (guint) l->pos);
      l->pos = 0;
    }
  guint8 out[1 << 16];
  gssize got;
  if (l->gz)
    {
      got = g_input_stream_read (l->gz, out, sizeof out, NULL, error);
      if (got < 0)
        return FALSE;
      if (got == 0)
        l->eof = TRUE;
      g_byte_array_append (l->buf, out, (guint) got);
      return TRUE;
    }
  if (l->zin.pos == l->zin.size)
    {
      got = g_input_stream_read (l->file, l->in, sizeof l->in, NULL, error);
      if (got < 0)
        return FALSE;
      if (got == 0)
        {
          l->eof = TRUE;
          return TRUE;
        }
      l->zin = (ZSTD_inBuffer){ l->in, (size_t) got, 0 };
    }
  ZSTD_outBuffer zout = { out, sizeof out, 0 };
  size_t r = ZSTD_decompressStream (l->zstd, &zout, &l->zin);
  if (ZSTD_isError (r))
    {
      g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT, "corrupt zstd data: %s",
                   ZSTD_getErrorName (r));
      return FALSE;
    }
  g_byte_array_append (l->buf, out, (guint) zout.pos);
  return TRUE;
}

/* The next line, NUL-terminated in place (valid until the next call); NULL at the end. */
static char *
lines_next (HtLines *l, GError **error)
{
  for (;;)
    {
      guint8 *start = l->buf->data + l->pos;
      guint8 *nl = l->buf->len > l->pos ? memchr (start, '\n', l->buf->len - l->pos) : NULL;
      if (nl)
        {
          *nl = 0;
          l->pos = (gsize) (nl + 1 - l->buf->data);
          l->line_no++;
          return (char *) start;
        }
      if (l->eof)
        {
          if (l->pos == l->buf->len)
            return NULL;
          g_byte_array_append (l->buf, (const guint8 *) "", 1); /* a last line without \n */
          start = l->buf->data + l->pos;
          l->pos = l->buf->len;
          l->line_no++;
          return (char *) start;
        }
      if (l->buf->len - l->pos > (64u << 20))
        {
          g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT,
                       "not a heaptrack recording: a line longer than 64 MiB");
          return NULL;
        }
      if (!lines_fill (l, error))
        return NULL;
    }
}

static void
lines_close (HtLines *l)
{
  g_clear_object (&l->gz);
  g_clear_object (&l->file);
  if (l->zstd)
    ZSTD_freeDStream (l->zstd);
  if (l->buf)
    g_byte_array_unref (l->buf);
}

static gboolean
lines_open (HtLines *l, const char *path, GError **error)
{
  memset (l, 0, sizeof *l);
  g_autoptr (GFile) f = g_file_new_for_path (path);
  l->file = G_INPUT_STREAM (g_file_read (f, NULL, error));
  if (!l->file)
    return FALSE;
  guint8 magic[4] = { 0 };
  gssize n = g_input_stream_read (l->file, magic, sizeof magic, NULL, error);
  if (n < 0)
    return FALSE;
  l->buf = g_byte_array_new ();
  if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
    {
      g_seekable_seek (G_SEEKABLE (l->file), 0, G_SEEK_SET, NULL, NULL);
      g_autoptr (GZlibDecompressor) gz = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
      l->gz = g_converter_input_stream_new (l->file, G_CONVERTER (gz));
      return TRUE;
    }
  if (n == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
    {
      l->zstd = ZSTD_createDStream ();
      memcpy (l->in, magic, 4);
      l->zin = (ZSTD_inBuffer){ l->in, 4, 0 };
      return TRUE;
    }
  g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT,
               "not a heaptrack recording (neither zstd nor gzip)");
  return FALSE;
}

gboolean
ht_heaptrack_looks_like (const char *path)
{
  HtLines l;
  g_autoptr (GError) error = NULL;
  gboolean ok = FALSE;
  if (lines_open (&l, path, NULL))
    {
      char *first = lines_next (&l, &error);
      ok = first && first[0] == 'v' && first[1] == ' ';
    }
  lines_close (&l);
  return ok;
}

/* ---------------------------------------------------------------------------------------
 * The log written
 */
typedef struct
{
  FILE *out;
  GByteArray *events, *control; /* the two streams' current chunks */
  HtEncoder *enc, *cenc; /* their encoders (large: on the heap) */
  HtEncoderColumns *cols, *ccols;
  guint64 ev_base, ctl_base;
  guint64 stamp; /* ns since the start: the last 'c', plus one per event since */
  guint64 rss, page_size;
  GPtrArray *strings; /* char*, index 1.. */
  GArray *ips;        /* guint64 address, index 1.. */
  GArray *kinds;      /* HtKind, index 0.. */
  GHashTable *live;   /* kind -> GArray of live made-up addresses */
  guint64 next_ptr;
  guint64 traces; /* trace nodes so far: the next one's id */
  guint file_version;
  GError **error;
} HtConvert;

typedef struct
{
  guint64 size;
  guint32 trace;
} HtKind;

static gboolean
write_chunk (HtConvert *c, guint32 stream, GByteArray *b, HtEncoder *e, guint64 base)
{
  if (b->len == 0)
    return TRUE;
  guint row = b->len;
  g_byte_array_set_size (b, row + HT_ENCODE_FINISH_MAX);
  g_byte_array_set_size (b, row + (guint) ht_encoder_finish (e, b->data + row));
  HtChunkHeader h = { HT_CHUNK_MAGIC, b->len, stream, 0, base };
  h.flags = ht_encoder_chunk_flags (e);
  if (fwrite (&h, sizeof h, 1, c->out) != 1 || fwrite (b->data, b->len, 1, c->out) != 1)
    {
      g_set_error (c->error, HT_LOG_ERROR, HT_LOG_ERROR_IO, "cannot write the converted log: %s",
                   g_strerror (errno));
      return FALSE;
    }
  g_byte_array_set_size (b, 0);
  return TRUE;
}

/* Room for one record at the end of a chunk; done() keeps what was written. */
static guint8 *
room (GByteArray *b, gsize need)
{
  g_byte_array_set_size (b, b->len + (guint) need);
  return b->data + b->len - need;
}

static void
done (GByteArray *b, gsize need, const guint8 *end)
{
  g_byte_array_set_size (b, (guint) (end - (b->data + b->len - need)) + b->len - (guint) need);
}

/* Everything so far goes to the file, and a SYNC says so. */
static gboolean
flush (HtConvert *c)
{
  if (!write_chunk (c, 1, c->events, c->enc, c->ev_base))
    return FALSE;
  c->ev_base = c->stamp;
  ht_encoder_start (c->enc, c->ev_base, c->cols);
  guint8 *p = room (c->control, HT_ENCODE_MAX);
  done (c->control, HT_ENCODE_MAX, ht_encode_head (c->cenc, p, HT_REC_SYNC, c->stamp));
  if (!write_chunk (c, HT_CONTROL_STREAM, c->control, c->cenc, c->ctl_base))
    return FALSE;
  c->ctl_base = c->stamp;
  ht_encoder_start (c->cenc, c->ctl_base, c->ccols);
  return TRUE;
}

static gboolean
bad (HtConvert *c, guint64 line, const char *what)
{
  g_set_error (c->error, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT,
               "not a heaptrack recording heaptrail reads: line %" G_GUINT64_FORMAT ": %s", line,
               what);
  return FALSE;
}

static gboolean
hex (char **s, guint64 *out)
{
  while (**s == ' ')
    (*s)++;
  char *end;
  errno = 0;
  guint64 v = g_ascii_strtoull (*s, &end, 16);
  if (end == *s || errno)
    return FALSE;
  *s = end;
  *out = v;
  return TRUE;
}

static const char *
string_at (HtConvert *c, guint64 i)
{
  return i > 0 && i <= c->strings->len ? c->strings->pdata[i - 1] : NULL;
}

static void
put_bytes (GByteArray *b, const char *s)
{
  gsize len = s ? strlen (s) : 0;
  guint8 *p = room (b, HT_VARINT_MAX + len);
  done (b, HT_VARINT_MAX + len, ht_bytes_put (p, s, len));
}

static void
put_varint (GByteArray *b, guint64 v)
{
  guint8 *p = room (b, HT_VARINT_MAX);
  done (b, HT_VARINT_MAX, p + ht_varint_put (p, v));
}

/* 'i': the address and its frames, as a FRAMES record */
static gboolean
on_ip (HtConvert *c, char *s, guint64 line)
{
  guint64 ip, module;
  if (!hex (&s, &ip) || !hex (&s, &module))
    return bad (c, line, "an address without its module");
  g_array_append_val (c->ips, ip);
  GPtrArray *fn = g_ptr_array_new (), *file = g_ptr_array_new ();
  GArray *lines = g_array_new (FALSE, FALSE, sizeof (guint64));
  /* a function, with its file and line when known; then inlined ones, each with all three */
  guint64 f, fl = 0, ln = 0;
  while (fn->len < 64 && hex (&s, &f))
    {
      gboolean placed = hex (&s, &fl) && hex (&s, &ln);
      g_ptr_array_add (fn, (gpointer) string_at (c, f));
      g_ptr_array_add (file, placed ? (gpointer) string_at (c, fl) : NULL);
      if (!placed)
        ln = 0;
      g_array_append_val (lines, ln);
      if (!placed)
        break;
    }
  g_autofree char *unknown = NULL;
  if (fn->len == 0) /* no symbol: named by its module, as heaptrack_print does */
    {
      g_autofree char *base = g_path_get_basename (string_at (c, module) ? string_at (c, module) : "??");
      unknown = g_strdup_printf ("%s@0x%" G_GINT64_MODIFIER "x", base, ip);
      g_ptr_array_add (fn, unknown);
      g_ptr_array_add (file, NULL);
      guint64 zero = 0;
      g_array_append_val (lines, zero);
    }
  guint8 *p = room (c->events, HT_ENCODE_MAX);
  p = ht_encode_head (c->enc, p, HT_REC_FRAMES, c->stamp);
  p += ht_varint_put (p, ip);
  done (c->events, HT_ENCODE_MAX, p);
  put_bytes (c->events, string_at (c, module));
  put_varint (c->events, fn->len);
  for (guint i = 0; i < fn->len; i++)
    {
      put_bytes (c->events, fn->pdata[i]);
      put_bytes (c->events, file->pdata[i]);
    }
  for (guint i = 0; i < lines->len; i++)
    put_varint (c->events, g_array_index (lines, guint64, i));
  g_ptr_array_unref (fn);
  g_ptr_array_unref (file);
  g_array_unref (lines);
  return TRUE;
}

static gboolean
on_line (HtConvert *c, char *s, guint64 line)
{
  char kind = s[0];
  s += kind ? 1 : 0;
  guint64 a, b;
  switch (kind)
    {
    case '+':
    case '-':
      {
        if (!hex (&s, &a) || *s == ' ')
          return bad (c, line, kind == '+' ? "'+' takes one number (a raw heaptrack file? run "
                                             "heaptrack_interpret on it first)"
                                           : "'-' takes one number");
        if (a >= c->kinds->len)
          return bad (c, line, "an allocation of an unknown kind");
        GArray *live = g_hash_table_lookup (c->live, GSIZE_TO_POINTER (a));
        guint8 *p = room (c->events, HT_ENCODE_MAX);
        c->stamp++;
        if (kind == '+')
          {
            if (!live)
              {
                live = g_array_new (FALSE, FALSE, sizeof (guint64));
                g_hash_table_insert (c->live, GSIZE_TO_POINTER (a), live);
              }
            guint64 ptr = c->next_ptr;
            c->next_ptr += 16;
            g_array_append_val (live, ptr);
            const HtKind *k = &g_array_index (c->kinds, HtKind, a);
            done (c->events, HT_ENCODE_MAX,
                  ht_encode_alloc (c->enc, p, c->stamp, ptr, k->size, k->trace));
          }
        else if (live && live->len)
          {
            guint64 ptr = g_array_index (live, guint64, live->len - 1);
            g_array_set_size (live, live->len - 1);
            done (c->events, HT_ENCODE_MAX,
                  ht_encode_ptr_record (c->enc, p, HT_REC_FREE, c->stamp, ptr));
          }
        else
          done (c->events, HT_ENCODE_MAX, p); /* a block from before an attach */
        return TRUE;
      }
    case 'a':
      {
        if (!hex (&s, &a) || !hex (&s, &b) || b > G_MAXUINT32)
          return bad (c, line, "'a' takes a size and a trace");
        HtKind k = { a, (guint32) b };
        g_array_append_val (c->kinds, k);
        return TRUE;
      }
    case 't':
      {
        if (!hex (&s, &a) || !hex (&s, &b) || a == 0 || a > c->ips->len || b > c->traces)
          return bad (c, line, "a trace node of an unknown address or parent");
        guint8 *p = room (c->events, HT_ENCODE_MAX + 3 * HT_VARINT_MAX);
        p = ht_encode_head (c->enc, p, HT_REC_TRACE_NODE, c->stamp);
        p += ht_varint_put (p, ++c->traces);
        p += ht_varint_put (p, b);
        p += ht_varint_put (p, g_array_index (c->ips, guint64, a - 1));
        done (c->events, HT_ENCODE_MAX + 3 * HT_VARINT_MAX, p);
        return TRUE;
      }
    case 's':
      {
        if (c->file_version >= 3)
          {
            if (!hex (&s, &a))
              return bad (c, line, "a string without its length");
            s += *s == ' ';
            if (strlen (s) != a)
              return bad (c, line, "a string shorter than its length");
          }
        else
          s += *s == ' ';
        g_ptr_array_add (c->strings, g_utf8_make_valid (s, -1));
        return TRUE;
      }
    case 'i':
      return on_ip (c, s, line);
    case 'c':
      {
        if (!hex (&s, &a))
          return bad (c, line, "'c' takes a time");
        c->stamp = MAX (c->stamp, a * 1000000);
        guint8 *p = room (c->control, HT_ENCODE_MAX + 4 * HT_VARINT_MAX);
        p = ht_encode_head (c->cenc, p, HT_REC_SAMPLE, c->stamp);
        p += ht_varint_put (p, a * 1000000);
        p += ht_varint_put (p, c->rss * c->page_size);
        p += ht_varint_put (p, 0);
        p += ht_varint_put (p, 0);
        done (c->control, HT_ENCODE_MAX + 4 * HT_VARINT_MAX, p);
        return flush (c);
      }
    case 'R':
      if (!hex (&s, &c->rss))
        return bad (c, line, "'R' takes a size");
      return TRUE;
    case 'I':
      if (!hex (&s, &c->page_size))
        return bad (c, line, "'I' takes the page size");
      return TRUE;
    case 'v':
      if (!hex (&s, &a) || !hex (&s, &b))
        return bad (c, line, "'v' takes two versions");
      c->file_version = (guint) MIN (b, 1000);
      return TRUE;
    case 'X':
    case 'A':
    case '#':
    case 0:
      return TRUE;
    default:
      return bad (c, line, "a line heaptrail does not know");
    }
}

/* ---------------------------------------------------------------------------------------
 * The conversion
 */
gboolean
ht_heaptrack_convert (const char *path, const char *log_path, GError **error)
{
  HtLines l;
  if (!lines_open (&l, path, error))
    {
      lines_close (&l);
      return FALSE;
    }
  HtConvert c = { 0 };
  c.error = error;
  c.file_version = 3;
  c.page_size = 4096;
  c.next_ptr = 0x100000;
  c.events = g_byte_array_new ();
  c.enc = g_new0 (HtEncoder, 1);
  c.cenc = g_new0 (HtEncoder, 1);
  c.cols = g_new (HtEncoderColumns, 1);
  c.ccols = g_new (HtEncoderColumns, 1);
  ht_encoder_start (c.enc, 0, c.cols);
  ht_encoder_start (c.cenc, 0, c.ccols);
  c.control = g_byte_array_new ();
  c.strings = g_ptr_array_new_with_free_func (g_free);
  c.ips = g_array_new (FALSE, FALSE, sizeof (guint64));
  c.kinds = g_array_new (FALSE, FALSE, sizeof (HtKind));
  c.live = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_array_unref);
  c.out = fopen (log_path, "wb");
  gboolean ok = c.out != NULL;
  if (!ok)
    g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_IO, "%s: %s", log_path, g_strerror (errno));

  /* the header needs the program: the first lines say it */
  char *line = NULL;
  g_autofree char *exe = NULL;
  GError *local = NULL;
  guint64 n = 0;
  while (ok && (line = lines_next (&l, &local)))
    {
      n++;
      if (n == 1 && (line[0] != 'v' || line[1] != ' '))
        {
          ok = bad (&c, 1, "it does not start with a version line");
          break;
        }
      if (line[0] == 'X' && !exe)
        {
          exe = g_strdup (line + 2);
          HtFileHeader h = { 0 };
          memcpy (h.magic, HT_FILE_MAGIC, 8);
          h.version = HT_FORMAT_VERSION;
          h.header_size = sizeof h;
          g_autofree char *base = g_path_get_basename (path);
          /* heaptrack.PROG.PID.zst: the pid is the part before the extension */
          g_auto (GStrv) parts = g_strsplit (base, ".", -1);
          guint np = g_strv_length (parts);
          h.pid = np >= 3 ? (guint32) g_ascii_strtoull (parts[np - 2], NULL, 10) : 0;
          h.clock = HT_CLOCK_MONOTONIC;
          h.max_frames = 255;
          GStatBuf st;
          h.start_unix_ns = g_stat (path, &st) == 0 ? (guint64) st.st_mtime * 1000000000u : 0;
          h.exe_len = (guint32) strlen (exe);
          h.cmdline_len = (guint32) strlen (exe) + 1;
          ok = fwrite (&h, sizeof h, 1, c.out) == 1 && fwrite (exe, h.exe_len, 1, c.out) == 1
               && fwrite (exe, h.cmdline_len, 1, c.out) == 1;
          guint8 *p = room (c.events, HT_ENCODE_MAX + HT_VARINT_MAX);
          p = ht_encode_head (c.enc, p, HT_REC_THREAD, 0);
          p += ht_varint_put (p, h.pid);
          done (c.events, HT_ENCODE_MAX + HT_VARINT_MAX, p);
          continue;
        }
      if (!exe && line[0] != 'v' && line[0] != '#')
        {
          ok = bad (&c, n, "no program ('X') before the data");
          break;
        }
      /* a line adds one record at most: room for it in every column */
      if ((c.events->len > CHUNK_FLUSH || ht_encoder_full (c.enc) || ht_encoder_full (c.cenc))
          && !flush (&c))
        ok = FALSE;
      else
        ok = on_line (&c, line, n);
    }
  if (local)
    {
      g_propagate_error (error, local);
      ok = FALSE;
    }
  if (ok && !exe)
    ok = bad (&c, n, "no program ('X'): an empty or cut recording");
  if (ok)
    {
      guint8 *p = room (c.control, HT_ENCODE_MAX + HT_VARINT_MAX);
      p = ht_encode_head (c.cenc, p, HT_REC_END, c.stamp);
      p += ht_varint_put (p, HT_END_EXIT);
      done (c.control, HT_ENCODE_MAX + HT_VARINT_MAX, p);
      ok = flush (&c);
    }
  if (c.out && fclose (c.out) != 0 && ok)
    {
      g_set_error (error, HT_LOG_ERROR, HT_LOG_ERROR_IO, "%s: %s", log_path, g_strerror (errno));
      ok = FALSE;
    }
  if (!ok)
    g_unlink (log_path);
  g_byte_array_unref (c.events);
  g_free (c.enc);
  g_free (c.cenc);
  g_free (c.cols);
  g_free (c.ccols);
  g_byte_array_unref (c.control);
  g_ptr_array_unref (c.strings);
  g_array_unref (c.ips);
  g_array_unref (c.kinds);
  g_hash_table_unref (c.live);
  lines_close (&l);
  return ok;
}
