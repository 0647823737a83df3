/* test-reader.c - the log format round trip, and the reader on cut and corrupt logs.
 *
 * Logs are written here with the encoder the recorder uses (log-writer.c), then read
 * back with the analyzer's reader: every field must survive, and events of different
 * thread streams must come out merged in stamp order.
 */
#include <glib/gstdio.h>
#include <unistd.h>
#include <string.h>

#include <zstd.h>

#include "ht-blockmap.h"
#include "ht-error.h"
#include "ht-reader.h"
#include "log-writer.h"

/* A thread stream chunk of compact records, stored zstd-compressed. */
static void
append_compressed_chunk (Writer *w)
{
  const guint64 p = 0x7f0000009000, q = 0x7f0000009400, r = 0x7f0000009800;
  chunk_begin (w, 4, 2000);
  g_assert_cmpuint (rec_alloc (w, 2001, p, 10, 1), ==, HT_REC_ALLOC);
  /* freed in the chunk that allocated it: named by age; malloc then gives it back for a
   * size of the same class: the top of that class's reuse stack */
  g_assert_cmpuint (rec_free (w, 2002, p), ==, HT_REC_FREE_AGE);
  g_assert_cmpuint (rec_alloc (w, 2003, p, 20, 1), ==, HT_REC_ALLOC_REUSE);
  g_assert_cmpuint (rec_free (w, 2004, p), ==, HT_REC_FREE_AGE);
  /* blocks from before the chunk: a pointer, then its recent slot */
  g_assert_cmpuint (rec_free (w, 2005, q), ==, HT_REC_FREE);
  g_assert_cmpuint (rec_alloc (w, 2006, q, 4000, 1), ==, HT_REC_ALLOC_SLOT);
  g_assert_cmpuint (rec_free (w, 2007, r), ==, HT_REC_FREE);
  g_assert_cmpuint (rec_free (w, 2008, r), ==, HT_REC_FREE_SLOT | ht_recent_slot (r));
  /* --sample's exact counts (format 8) */
  rec_stamp (w, HT_REC_COUNTED, 2009);
  put_varint (w->chunk, 123456);
  put_varint (w->chunk, G_GUINT64_CONSTANT (1) << 36);
  chunk_finish (w);
  GByteArray *raw = w->chunk;
  gsize cap = ZSTD_compressBound (raw->len);
  g_autofree guint8 *packed = g_malloc (cap);
  ZSTD_CCtx *cctx = ZSTD_createCCtx ();
  ZSTD_CCtx_setParameter (cctx, ZSTD_c_checksumFlag, 1);
  gsize n = ZSTD_compress2 (cctx, packed, cap, raw->data, raw->len);
  ZSTD_freeCCtx (cctx);
  g_assert_false (ZSTD_isError (n));
  HtChunkHeader h = { HT_CHUNK_MAGIC, (guint32) n, 4, HT_CHUNK_ZSTD, w->base };
  g_byte_array_append (w->file, (guint8 *) &h, sizeof h);
  g_byte_array_append (w->file, packed, (guint) n);
  g_byte_array_unref (raw);
}

/* Two threads and a control stream.  Thread 3 frees at stamp 150 the block thread 2
 * allocated at 110, and thread 2 gets the address back at 160: only a merge by stamp puts
 * the free between the two allocations. */
static GByteArray *
build_log (void)
{
  Writer w = { .file = g_byte_array_new () };
  writer_header (&w);

  chunk_begin (&w, 0, 1000);
  rec_stamp (&w, HT_REC_MODULE, 1001);
  put_varint (w.chunk, HT_MODULE_NEW_MAP);
  put_varint (w.chunk, 9);
  g_byte_array_append (w.chunk, (guint8 *) "/bin/prog", 9);
  put_varint (w.chunk, 0x555500000000);
  put_varint (w.chunk, 2);
  g_byte_array_append (w.chunk, (guint8 *) "\xab\xcd", 2);
  put_varint (w.chunk, 1);
  put_varint (w.chunk, 0x1000);
  put_varint (w.chunk, 0x2000);
  chunk_end (&w);

  chunk_begin (&w, 2, 1100);
  rec_thread_and_node (&w, 1101, 1105);
  rec_alloc (&w, 1110, 0x7f0000001000, 48, 1);
  rec_alloc (&w, 1160, 0x7f0000001000, 64, 1);
  rec_alloc (&w, 1170, 0x7f0000000010, G_GUINT64_CONSTANT (1) << 40, 1); /* pointer goes down */
  chunk_end (&w);

  chunk_begin (&w, 3, 1120);
  rec_stamp (&w, HT_REC_THREAD, 1121);
  put_varint (w.chunk, 778);
  rec_free (&w, 1150, 0x7f0000001000);
  chunk_end (&w);

  append_compressed_chunk (&w);

  chunk_begin (&w, 0, 1000);
  rec_stamp (&w, HT_REC_SAMPLE, 1200);
  put_varint (w.chunk, 200);
  put_varint (w.chunk, 4096 * 100);
  put_varint (w.chunk, 1 << 20);
  put_varint (w.chunk, 123456789); /* recorder time */
  rec_stamp (&w, HT_REC_SYNC, 1201);
  rec_stamp (&w, HT_REC_END, 2300);
  put_varint (w.chunk, HT_END_EXIT);
  chunk_end (&w);
  return w.file;
}

static GArray *
read_all (const char *path, GError **error, char **warning)
{
  g_autoptr (HtReader) r = ht_reader_open (path, error);
  if (!r)
    return NULL;
  GArray *events = g_array_new (FALSE, FALSE, sizeof (HtEvent));
  HtEvent e;
  while (ht_reader_next (r, &e, error))
    {
      if (e.tag == HT_REC_MODULE)
        {
          g_assert_cmpstr (e.module.info->path, ==, "/bin/prog");
          g_assert_cmpstr (e.module.info->build_id, ==, "abcd");
          g_assert_cmpuint (e.module.info->bias, ==, 0x555500000000);
          g_assert_cmpuint (e.module.info->nsegments, ==, 1);
          g_assert_cmpuint (e.module.info->segments[1], ==, 0x2000);
          ht_module_info_free (e.module.info);
          e.module.info = NULL;
        }
      g_array_append_val (events, e);
    }
  if (warning)
    *warning = g_strdup (ht_reader_warning (r));
  if (error && *error)
    {
      g_array_unref (events);
      return NULL;
    }
  return events;
}

static void
test_round_trip (void)
{
  g_autoptr (GByteArray) log = build_log ();
  g_autofree char *path = write_temp (log->data, log->len);
  g_autoptr (GError) error = NULL;
  g_autofree char *warning = NULL;

  g_autoptr (HtReader) r = ht_reader_open (path, &error);
  g_assert_no_error (error);
  const HtLogInfo *info = ht_reader_info (r);
  g_assert_cmpuint (info->pid, ==, 4242);
  g_assert_cmpstr (info->exe, ==, "/bin/prog");
  g_assert_cmpuint (g_strv_length (info->argv), ==, 3);
  g_assert_cmpstr (info->argv[2], ==, "arg");

  g_autoptr (GArray) ev = read_all (path, &error, &warning);
  g_assert_no_error (error);
  g_assert_null (warning);
  static const struct
  {
    HtRecordTag tag;
    guint64 stamp;
  } want[] = {
    { HT_REC_MODULE, 1001 }, { HT_REC_THREAD, 1101 }, { HT_REC_TRACE_NODE, 1105 },
    { HT_REC_ALLOC, 1110 },  { HT_REC_THREAD, 1121 }, { HT_REC_FREE, 1150 },
    { HT_REC_ALLOC, 1160 },  { HT_REC_ALLOC, 1170 },  { HT_REC_SAMPLE, 1200 },
    { HT_REC_ALLOC, 2001 },  { HT_REC_FREE, 2002 },   { HT_REC_ALLOC, 2003 },
    { HT_REC_FREE, 2004 },   { HT_REC_FREE, 2005 },   { HT_REC_ALLOC, 2006 },
    { HT_REC_FREE, 2007 },   { HT_REC_FREE, 2008 },   { HT_REC_COUNTED, 2009 },
    { HT_REC_END, 2300 },
  };
  g_assert_cmpuint (ev->len, ==, G_N_ELEMENTS (want));
  for (guint i = 0; i < ev->len; i++)
    {
      HtEvent *e = &g_array_index (ev, HtEvent, i);
      g_assert_cmpint (e->tag, ==, want[i].tag);
      g_assert_cmpuint (e->stamp, ==, want[i].stamp);
    }
  HtEvent *free_ev = &g_array_index (ev, HtEvent, 5);
  g_assert_cmpuint (free_ev->stream, ==, 3);
  g_assert_cmpuint (free_ev->free.ptr, ==, 0x7f0000001000);
  HtEvent *last = &g_array_index (ev, HtEvent, 7);
  g_assert_cmpuint (last->alloc.ptr, ==, 0x7f0000000010);
  g_assert_cmpuint (last->alloc.size, ==, G_GUINT64_CONSTANT (1) << 40);
  HtEvent *node = &g_array_index (ev, HtEvent, 2);
  g_assert_cmpuint (node->node.ip, ==, 0x555500001234);
  static const guint64 ptrs[] = { 0x7f0000009000, 0x7f0000009000, 0x7f0000009000,
                                  0x7f0000009000, 0x7f0000009400, 0x7f0000009400,
                                  0x7f0000009800, 0x7f0000009800 };
  for (guint i = 0; i < G_N_ELEMENTS (ptrs); i++) /* compact records decode to the pointer */
    g_assert_cmpuint (g_array_index (ev, HtEvent, 9 + i).alloc.ptr, ==, ptrs[i]);
  g_assert_cmpuint (g_array_index (ev, HtEvent, 11).alloc.size, ==, 20);
  g_assert_cmpuint (g_array_index (ev, HtEvent, 14).alloc.size, ==, 4000);
  HtEvent *counted = &g_array_index (ev, HtEvent, 17);
  g_assert_cmpuint (counted->counted.calls, ==, 123456);
  g_assert_cmpuint (counted->counted.bytes, ==, G_GUINT64_CONSTANT (1) << 36);
  HtEvent *sample = &g_array_index (ev, HtEvent, 8);
  g_assert_cmpuint (sample->sample.rss, ==, 4096 * 100);
  g_assert_cmpuint (sample->sample.recorder, ==, 1 << 20);
  g_assert_cmpuint (sample->sample.recorder_time, ==, 123456789);
  g_unlink (path);
}

/* Cut anywhere: inside the header it is an error, anywhere after it a warning and a clean
 * stop at the last complete chunk.  Never a crash (the suite runs under ASan too). */
static void
test_truncated_everywhere (void)
{
  g_autoptr (GByteArray) log = build_log ();
  gsize header = sizeof (HtFileHeader) + 9 + 12;
  g_autoptr (GHashTable) boundaries = g_hash_table_new (NULL, NULL);
  for (gsize off = header; off < log->len;)
    {
      g_hash_table_add (boundaries, GSIZE_TO_POINTER (off));
      HtChunkHeader h;
      memcpy (&h, log->data + off, sizeof h);
      off += sizeof h + h.payload_size;
    }
  for (gsize len = 0; len < log->len; len++)
    {
      g_autofree char *path = write_temp (log->data, len);
      g_autoptr (GError) error = NULL;
      g_autofree char *warning = NULL;
      g_autoptr (GArray) ev = read_all (path, &error, &warning);
      if (len < header)
        {
          g_assert_null (ev);
          g_assert_true (g_error_matches (error, HT_LOG_ERROR, HT_LOG_ERROR_NOT_A_LOG)
                         || g_error_matches (error, HT_LOG_ERROR, HT_LOG_ERROR_TRUNCATED));
        }
      else
        {
          g_assert_no_error (error);
          g_assert_nonnull (ev);
          /* a cut on a chunk boundary looks like a complete (if endless) log */
          if (!g_hash_table_contains (boundaries, GSIZE_TO_POINTER (len)))
            g_assert_nonnull (warning);
        }
      g_unlink (path);
    }
}

static void
test_corrupt (void)
{
  g_autoptr (GByteArray) log = build_log ();
  gsize first_payload = sizeof (HtFileHeader) + 9 + 12 + sizeof (HtChunkHeader);

  /* a varint that never ends, inside a complete chunk */
  g_autoptr (GByteArray) bad = g_byte_array_new ();
  g_byte_array_append (bad, log->data, log->len);
  memset (bad->data + first_payload + 1, 0xff, 12);
  g_autofree char *p1 = write_temp (bad->data, bad->len);
  g_autoptr (GError) e1 = NULL;
  g_autoptr (GArray) ev1 = read_all (p1, &e1, NULL);
  g_assert_error (e1, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT);
  g_unlink (p1);

  /* an unknown record type */
  bad->data[first_payload] = 0x7e;
  memcpy (bad->data, log->data, log->len);
  bad->data[first_payload] = 0x7e;
  g_autofree char *p2 = write_temp (bad->data, bad->len);
  g_autoptr (GError) e2 = NULL;
  g_autoptr (GArray) ev2 = read_all (p2, &e2, NULL);
  g_assert_error (e2, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT);
  g_unlink (p2);

  /* a damaged compressed chunk: its checksum catches it */
  memcpy (bad->data, log->data, log->len);
  gsize off = sizeof (HtFileHeader) + 9 + 12, zoff = 0;
  while (off < log->len)
    {
      HtChunkHeader h;
      memcpy (&h, log->data + off, sizeof h);
      if (h.flags & HT_CHUNK_ZSTD)
        zoff = off + sizeof h + h.payload_size / 2;
      off += sizeof h + h.payload_size;
    }
  g_assert_cmpuint (zoff, >, 0);
  bad->data[zoff] ^= 0x5a;
  g_autofree char *p4 = write_temp (bad->data, bad->len);
  g_autoptr (GError) e4 = NULL;
  g_autoptr (GArray) ev4 = read_all (p4, &e4, NULL);
  g_assert_error (e4, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT);
  g_unlink (p4);

  /* a newer format version */
  memcpy (bad->data, log->data, log->len);
  bad->data[8] = HT_FORMAT_VERSION + 1;
  g_autofree char *p3 = write_temp (bad->data, bad->len);
  g_autoptr (GError) e3 = NULL;
  g_autoptr (GArray) ev3 = read_all (p3, &e3, NULL);
  g_assert_error (e3, HT_LOG_ERROR, HT_LOG_ERROR_VERSION);
  g_unlink (p3);
}

/* A stream's pointer state goes on from chunk to chunk: a block allocated in one chunk
 * is freed by age in the next, and comes back from its reuse stack; after a reset (a new
 * log, records thrown away) the next chunk names pointers in full again. */
static void
test_state_continues (void)
{
  Writer w = { .file = g_byte_array_new (), .keep = TRUE };
  writer_header (&w);
  const guint64 p = 0x7f0000010000, q = 0x7f0000020000;
  chunk_begin (&w, 5, 100);
  g_assert_cmpuint (rec_alloc (&w, 101, p, 100, 0), ==, HT_REC_ALLOC);
  g_assert_cmpuint (rec_alloc (&w, 102, q, 5000, 0), ==, HT_REC_ALLOC);
  chunk_end (&w);
  g_assert_cmpuint (w.flags, ==, 0);
  chunk_begin (&w, 5, 200);
  g_assert_cmpuint (rec_free (&w, 201, p), ==, HT_REC_FREE_AGE);
  g_assert_cmpuint (rec_free (&w, 202, q), ==, HT_REC_FREE_AGE);
  /* malloc gives p back for a size of the same class (90 and 100 B are 112 B chunks) */
  g_assert_cmpuint (rec_alloc (&w, 203, p, 90, 0), ==, HT_REC_ALLOC_REUSE);
  chunk_end (&w);
  g_assert_cmpuint (w.flags, ==, HT_CHUNK_CONTINUES);
  ht_encoder_reset (w.enc);
  chunk_begin (&w, 5, 300);
  g_assert_cmpuint (rec_free (&w, 301, p), ==, HT_REC_FREE);
  chunk_end (&w);
  g_assert_cmpuint (w.flags, ==, 0);
  g_free (w.enc);

  g_autofree char *path = write_temp (w.file->data, w.file->len);
  g_byte_array_unref (w.file);
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) ev = read_all (path, &error, NULL);
  g_assert_no_error (error);
  static const guint64 ptrs[] = { 0x7f0000010000, 0x7f0000020000, 0x7f0000010000,
                                  0x7f0000020000, 0x7f0000010000, 0x7f0000010000 };
  g_assert_cmpuint (ev->len, ==, G_N_ELEMENTS (ptrs));
  for (guint i = 0; i < ev->len; i++)
    g_assert_cmpuint (g_array_index (ev, HtEvent, i).alloc.ptr, ==, ptrs[i]);
  g_assert_cmpuint (g_array_index (ev, HtEvent, 4).alloc.size, ==, 90);

  /* the same chunks without the flag: the reader has nothing to name p by */
  g_autoptr (GByteArray) bytes = NULL;
  gchar *contents;
  gsize len;
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  bytes = g_byte_array_new_take ((guint8 *) contents, len);
  gsize off = sizeof (HtFileHeader) + 9 + 12;
  for (int i = 0; i < 2; i++)
    {
      HtChunkHeader h;
      memcpy (&h, bytes->data + off, sizeof h);
      h.flags &= ~(guint32) HT_CHUNK_CONTINUES;
      memcpy (bytes->data + off, &h, sizeof h);
      off += sizeof h + h.payload_size;
    }
  g_autofree char *cut = write_temp (bytes->data, bytes->len);
  g_autoptr (GError) e2 = NULL;
  g_autoptr (GArray) ev2 = read_all (cut, &e2, NULL);
  g_assert_error (e2, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT);
  g_unlink (cut);
  g_unlink (path);
}

/* Reads a log of an older format `version` made of one chunk of stream 1 holding
 * `payload` (taken), its base stamp 100. */
static GArray *
read_old_log (guint16 version, GByteArray *payload, GError **error)
{
  Writer w = { .file = g_byte_array_new () };
  writer_header (&w);
  HtFileHeader h;
  memcpy (&h, w.file->data, sizeof h);
  h.version = version;
  memcpy (w.file->data, &h, sizeof h);
  HtChunkHeader c = { HT_CHUNK_MAGIC, payload->len, 1, 0, 100 };
  g_byte_array_append (w.file, (guint8 *) &c, sizeof c);
  g_byte_array_append (w.file, payload->data, payload->len);
  g_byte_array_unref (payload);
  g_autofree char *path = write_temp (w.file->data, w.file->len);
  g_byte_array_unref (w.file);
  GArray *ev = read_all (path, error, NULL);
  g_unlink (path);
  return ev;
}

/* What both old logs below hold: 24 bytes at 0x7000 allocated at 110, freed at 115. */
static void
assert_alloc_then_free (GArray *ev)
{
  g_assert_cmpuint (ev->len, ==, 2);
  HtEvent *a = &g_array_index (ev, HtEvent, 0), *f = &g_array_index (ev, HtEvent, 1);
  g_assert_cmpint (a->tag, ==, HT_REC_ALLOC);
  g_assert_cmpuint (a->stamp, ==, 110);
  g_assert_cmpuint (a->alloc.ptr, ==, 0x7000);
  g_assert_cmpuint (a->alloc.size, ==, 24);
  g_assert_cmpint (f->tag, ==, HT_REC_FREE);
  g_assert_cmpuint (f->stamp, ==, 115);
  g_assert_cmpuint (f->free.ptr, ==, 0x7000);
}

/* A log of format 5, before columns: every field follows its tag in the row.  Such logs
 * still import. */
static void
test_format_5 (void)
{
  GByteArray *row = g_byte_array_new ();
  guint8 alloc[] = { HT_REC_ALLOC, 10 }, free_slot = (guint8) (HT_REC_FREE_SLOT | ht_recent_slot (0x7000));
  g_byte_array_append (row, alloc, 2);            /* ALLOC, dstamp 10 */
  put_varint (row, ht_zigzag_encode (0x7000));   /* dptr */
  put_varint (row, 24);                          /* size */
  put_varint (row, 0);                           /* node */
  g_byte_array_append (row, &free_slot, 1);       /* FREE_SLOT */
  put_varint (row, 5);                           /* dstamp */
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) ev = read_old_log (5, row, &error);
  g_assert_no_error (error);
  assert_alloc_then_free (ev);
}

/* Another pointer with the same recent slot as `ptr`. */
static guint64
same_slot (guint64 ptr)
{
  guint64 other = ptr + 16;
  while (ht_recent_slot (other) != ht_recent_slot (ptr))
    other += 16;
  return other;
}

/* malloc carves a block out of one freed a few frees before, for a size of another class:
 * ALLOC_FREED names it by how many frees back, across chunks; a pointer freed before the
 * reset cannot be named so. */
static void
test_alloc_freed (void)
{
  Writer w = { .file = g_byte_array_new (), .keep = TRUE };
  writer_header (&w);
  const guint64 p = 0x7f0000010000, q = 0x7f0000030000;
  const guint64 pc = same_slot (p), qc = same_slot (q);
  chunk_begin (&w, 5, 100);
  g_assert_cmpuint (rec_alloc (&w, 101, p, 70000, 0), ==, HT_REC_ALLOC);
  g_assert_cmpuint (rec_alloc (&w, 102, q, 70000, 0), ==, HT_REC_ALLOC);
  g_assert_cmpuint (rec_free (&w, 103, p), ==, HT_REC_FREE_AGE);
  g_assert_cmpuint (rec_free (&w, 104, q), ==, HT_REC_FREE_AGE);
  /* blocks never seen allocated, which take p's and q's recent slots */
  g_assert_cmpuint (rec_free (&w, 105, pc), ==, HT_REC_FREE);
  g_assert_cmpuint (rec_free (&w, 106, qc), ==, HT_REC_FREE);
  chunk_end (&w);
  chunk_begin (&w, 5, 200);
  g_assert_cmpuint (rec_alloc (&w, 201, p, 3000, 0), ==, HT_REC_ALLOC_FREED); /* 4 back */
  g_assert_cmpuint (rec_alloc (&w, 202, qc, 40, 0), ==, HT_REC_ALLOC_SLOT);
  g_assert_cmpuint (rec_alloc (&w, 203, q, 90000, 0), ==, HT_REC_ALLOC_FREED); /* 3 back */
  g_assert_cmpuint (rec_free (&w, 204, p), ==, HT_REC_FREE_AGE);
  chunk_end (&w);
  ht_encoder_reset (w.enc);
  chunk_begin (&w, 5, 300);
  g_assert_cmpuint (rec_free (&w, 301, pc), ==, HT_REC_FREE);
  g_assert_cmpuint (rec_alloc (&w, 302, p, 40, 0), ==, HT_REC_ALLOC);
  chunk_end (&w);
  g_free (w.enc);

  g_autofree char *path = write_temp (w.file->data, w.file->len);
  g_byte_array_unref (w.file);
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) ev = read_all (path, &error, NULL);
  g_assert_no_error (error);
  const guint64 ptrs[] = { p, q, p, q, pc, qc, p, qc, q, p, pc, p };
  g_assert_cmpuint (ev->len, ==, G_N_ELEMENTS (ptrs));
  for (guint i = 0; i < ev->len; i++)
    g_assert_cmpuint (g_array_index (ev, HtEvent, i).alloc.ptr, ==, ptrs[i]);
  g_assert_cmpuint (g_array_index (ev, HtEvent, 8).alloc.size, ==, 90000);
  g_unlink (path);
}

/* A log of format 6: its ages are in the pointer column and its trailer has four lengths;
 * ALLOC_FREED, of format 7, is an error in it. */
static void
test_format_6 (void)
{
  for (int bad = 0; bad < 2; bad++)
    {
      GByteArray *col[4], *payload = g_byte_array_new ();
      for (int i = 0; i < 4; i++)
        col[i] = g_byte_array_new ();
      guint8 row[] = { HT_REC_ALLOC, bad ? HT_REC_ALLOC_FREED : HT_REC_FREE_AGE };
      g_byte_array_append (payload, row, 2);
      put_varint (col[HT_COL_STAMP], 10);
      put_varint (col[HT_COL_STAMP], 5);
      put_varint (col[HT_COL_PTR], ht_zigzag_encode (0x7000));
      put_varint (col[HT_COL_PTR], 1); /* the age of FREE_AGE, or the index of ALLOC_FREED */
      for (int k = 0; k <= bad; k++)
        {
          put_varint (col[HT_COL_SIZE], 24);
          put_varint (col[HT_COL_NODE], 0);
        }
      for (int i = 0; i < 4; i++)
        g_byte_array_append (payload, col[i]->data, col[i]->len);
      for (int i = 0; i < 4; i++)
        {
          guint32 le = GUINT32_TO_LE (col[i]->len);
          g_byte_array_append (payload, (guint8 *) &le, 4);
          g_byte_array_unref (col[i]);
        }
      g_autoptr (GError) error = NULL;
      g_autoptr (GArray) ev = read_old_log (6, payload, &error);
      if (bad)
        g_assert_error (error, HT_LOG_ERROR, HT_LOG_ERROR_CORRUPT);
      else
        {
          g_assert_no_error (error);
          assert_alloc_then_free (ev);
        }
    }
}

/* The live window (ht-format.h) against counting by hand: random ALLOCs and frees of
 * live ALLOCs in the window, some very old (across its wraps, in the latest's own word
 * and block), ages computed by the encoder's side and found again by the reader's. */
static void
test_live_window (void)
{
  static HtLiveWindow enc, dec;
  static guint8 live[HT_AGE_WINDOW];
  ht_live_clear (&enc);
  ht_live_clear (&dec);
  memset (live, 0, sizeof live);
  GRand *rand = g_rand_new_with_seed (5);
  /* the select within a word, against walking its bits */
  for (guint i = 0; i < 20000; i++)
    {
      guint64 x = (guint64) g_rand_int (rand) << 32 | g_rand_int (rand);
      x &= i % 3 ? ~(guint64) 0 : (guint64) g_rand_int (rand) << 32 | g_rand_int (rand);
      x |= (guint64) 1 << (i % 64);
      guint32 j = 0;
      for (int bit = 63; bit >= 0; bit--)
        if (x >> bit & 1)
          g_assert_cmpuint (ht_live_select_high (x, ++j), ==, (guint) bit);
      g_assert_cmpuint (ht_live_popcount (x), ==, j);
    }
  guint64 allocs = 0;
  for (guint i = 0; i < 200000; i++)
    {
      if (allocs == 0 || g_rand_int_range (rand, 0, 100) < 52)
        {
          allocs++;
          ht_live_alloc (&enc, allocs);
          ht_live_alloc (&dec, allocs);
          live[(allocs - 1) % HT_AGE_WINDOW] = 1;
          continue;
        }
      /* a live ALLOC: mostly a recent one, sometimes one from anywhere in the window */
      guint64 span = MIN (allocs, g_rand_boolean (rand) ? 64 : HT_AGE_WINDOW);
      guint64 k = allocs - (guint64) g_rand_int_range (rand, 0, (gint32) span);
      guint pos = (guint) ((k - 1) % HT_AGE_WINDOW);
      if (!live[pos])
        {
          g_assert_cmpuint (ht_live_free (&enc, allocs, k), ==, 0);
          continue;
        }
      guint64 age = 1;
      for (guint64 j = k + 1; j <= allocs; j++)
        age += live[(j - 1) % HT_AGE_WINDOW];
      g_assert_cmpuint (ht_live_free (&enc, allocs, k), ==, age);
      g_assert_cmpint (ht_live_take (&dec, allocs, age), ==, (int) pos);
      live[pos] = 0;
      g_assert_cmpuint (enc.total, ==, dec.total);
    }
  g_assert_cmpint (ht_live_take (&dec, allocs, dec.total + 1), ==, -1);
  g_assert_cmpint (ht_live_take (&dec, allocs, 0), ==, -1);
  g_rand_free (rand);
}

/* Ends the writer's chunk and log and reads it back: its events, with no error. */
static GArray *
end_and_read (Writer *w)
{
  chunk_end (w);
  g_clear_pointer (&w->enc, g_free);
  g_autofree char *path = write_temp (w->file->data, w->file->len);
  g_byte_array_unref (w->file);
  g_autoptr (GError) error = NULL;
  GArray *ev = read_all (path, &error, NULL);
  g_assert_no_error (error);
  g_unlink (path);
  return ev;
}

/* The age column's values of the chunk being built (format 9: first part, more part). */
static guint64
age_written (Writer *w, guint *first_pos, guint *more_pos)
{
  const guint8 *first = w->cols.bytes[HT_COL_AGE], *more = w->cols.bytes[HT_COLUMNS + HT_COL_AGE];
  guint8 b = first[(*first_pos)++];
  if (!(b & 0x80))
    return b;
  guint64 rest = 0;
  for (guint shift = 0;; shift += 7)
    {
      guint8 m = more[(*more_pos)++];
      rest |= (guint64) (m & 0x7f) << shift;
      if (!(m & 0x80))
        break;
    }
  return (b & 0x7f) | rest << 7;
}

/* Format 9 counts a FREE_AGE's age among the ALLOCs still live: of a, b, c, d, freeing b
 * (age 3), then c (age 2: b is gone), then a (age 2: only d is younger), then d (age 1).
 * A pointer never seen allocated changes nothing; a block the encoder lost from its table
 * stays counted when freed.  An age of 128 or more puts its high bits in the column's
 * more part. */
static void
test_live_ages (void)
{
  Writer w = { .file = g_byte_array_new (), .keep = TRUE };
  writer_header (&w);
  const guint64 a = 0x7f0000100000, b = 0x7f0000200000, c = 0x7f0000300000,
                d = 0x7f0000400000, base = 0x7f0000500000;
  chunk_begin (&w, 5, 100);
  guint64 stamp = 101;
  for (guint64 p = a; p <= d; p += 0x100000)
    g_assert_cmpuint (rec_alloc (&w, stamp++, p, 100, 0), ==, HT_REC_ALLOC);
  for (guint i = 0; i < 300; i++)
    rec_alloc (&w, stamp++, base + i * 0x1000, 5000, 0);
  g_assert_cmpuint (rec_free (&w, stamp++, 0x7f0000900000), ==, HT_REC_FREE);
  const guint64 order[] = { b, c, a, d }, want[] = { 303, 302, 302, 301 };
  for (guint i = 0; i < 4; i++)
    g_assert_cmpuint (rec_free (&w, stamp++, order[i]), ==, HT_REC_FREE_AGE);
  guint first_pos = 0, more_pos = 0;
  for (guint i = 0; i < 4; i++)
    g_assert_cmpuint (age_written (&w, &first_pos, &more_pos), ==, want[i]);
  g_assert_cmpuint (w.enc->col_len[HT_COLUMNS + HT_COL_AGE], ==, more_pos);
  /* the 300 others, oldest first: each the oldest live, so its age is all of them */
  for (guint i = 0; i < 300; i++)
    {
      g_assert_cmpuint (rec_free (&w, stamp++, base + i * 0x1000), ==, HT_REC_FREE_AGE);
      g_assert_cmpuint (age_written (&w, &first_pos, &more_pos), ==, 300 - i);
    }
  /* a ghost: y, then five blocks of one set of the encoder's table of four ways, so the
   * first of them falls out; its FREE names its pointer but it stays counted, and y's age
   * is 1 + the five after it */
  const guint64 y = 0x7f0000a00000;
  guint64 x[5] = { 0x7f0000b00000 };
  for (guint n = 1; n < 5; n++)
    for (x[n] = x[n - 1] + 16; ht_encoder_set (w.enc, x[n]) != ht_encoder_set (w.enc, x[0]);)
      x[n] += 16;
  g_assert_cmpuint (rec_alloc (&w, stamp++, y, 100, 0), ==, HT_REC_ALLOC);
  for (guint n = 0; n < 5; n++)
    rec_alloc (&w, stamp++, x[n], 24, 0);
  g_assert_cmpuint (rec_free (&w, stamp++, x[0]) & ~HT_REC_FREE_SLOT, !=, HT_REC_FREE_AGE);
  g_assert_cmpuint (rec_free (&w, stamp++, y), ==, HT_REC_FREE_AGE);
  g_assert_cmpuint (age_written (&w, &first_pos, &more_pos), ==, 6);
  g_assert_cmpuint (rec_free (&w, stamp++, x[1]), ==, HT_REC_FREE_AGE);
  g_assert_cmpuint (age_written (&w, &first_pos, &more_pos), ==, 4);
  g_autoptr (GArray) ev = end_and_read (&w);
  g_assert_cmpuint (ev->len, ==, 304 + 1 + 304 + 6 + 3);
  g_assert_cmpuint (g_array_index (ev, HtEvent, 616).free.ptr, ==, y);
  g_assert_cmpuint (g_array_index (ev, HtEvent, 617).free.ptr, ==, x[1]);
  for (guint i = 0; i < 4; i++)
    g_assert_cmpuint (g_array_index (ev, HtEvent, 305 + i).free.ptr, ==, order[i]);
  for (guint i = 0; i < 300; i++)
    g_assert_cmpuint (g_array_index (ev, HtEvent, 309 + i).free.ptr, ==, base + i * 0x1000);
}

/* Ends the chunk and starts the next (its state continuing) once the encoder says a
 * column may not hold another record: callers ask before each record. */
static void
next_chunk_if_full (Writer *w, guint64 stamp)
{
  if (ht_encoder_full (w->enc))
    {
      chunk_end (w);
      chunk_begin (w, w->stream, stamp);
    }
}

/* A heap the encoder's tables cannot hold: 6,000 blocks in flight (its set-associative
 * table of live blocks loses some, whose frees then name a pointer and leave a ghost in
 * the live window, on both sides alike), 100,000 pairs (the 16,384-ALLOC window wraps six
 * times), sizes of many classes, freed in random order, each address handed back LIFO
 * per class as malloc would, or fresh, or an older freed one; chunks of 64 KiB continue
 * each other.  Every event must come back as it went in, and every form be used. */
static void
test_random_heap (void)
{
  enum { IN_FLIGHT = 6000, PAIRS = 100000 };
  Writer w = { .file = g_byte_array_new (), .keep = TRUE };
  writer_header (&w);
  GRand *rand = g_rand_new_with_seed (9);
  g_autoptr (GArray) want = g_array_new (FALSE, FALSE, sizeof (HtEvent));
  g_autofree guint64 *live = g_new0 (guint64, IN_FLIGHT), *sizes = g_new0 (guint64, IN_FLIGHT);
  g_autoptr (GHashTable) free_lists = g_hash_table_new_full (NULL, NULL, NULL,
                                                             (GDestroyNotify) g_array_unref);
  guint64 fresh = 0x7f0000000000, stamp = 10;
  guint forms[256] = { 0 };
  chunk_begin (&w, 7, 1);
  for (guint i = 0; i < PAIRS + IN_FLIGHT; i++)
    {
      guint k = (guint) g_rand_int_range (rand, 0, IN_FLIGHT);
      if (live[k])
        {
          next_chunk_if_full (&w, stamp);
          guint8 tag = rec_free (&w, stamp, live[k]);
          forms[tag & HT_REC_FREE_SLOT ? HT_REC_FREE_SLOT : tag]++;
          HtEvent e = { .tag = HT_REC_FREE, .stamp = stamp++, .free.ptr = live[k] };
          g_array_append_val (want, e);
          guint64 cls = ht_chunk_size (sizes[k]);
          GArray *list = g_hash_table_lookup (free_lists, GSIZE_TO_POINTER (cls));
          if (!list)
            g_hash_table_insert (free_lists, GSIZE_TO_POINTER (cls),
                                 list = g_array_new (FALSE, FALSE, sizeof (guint64)));
          g_array_append_val (list, live[k]);
          live[k] = 0;
        }
      if (i >= PAIRS)
        continue;
      if (i % 1000 == 999)
        for (int twice = 0; twice < 2; twice++)
          {
            /* a block from before the recording, named by its pointer, then its slot */
            guint64 old = 0x5555000000 + i * 16;
            next_chunk_if_full (&w, stamp);
            guint8 tag = rec_free (&w, stamp, old);
            forms[tag & HT_REC_FREE_SLOT ? HT_REC_FREE_SLOT : tag]++;
            HtEvent e = { .tag = HT_REC_FREE, .stamp = stamp++, .free.ptr = old };
            g_array_append_val (want, e);
          }
      guint64 size = (guint64) 8 << g_rand_int_range (rand, 0, 14);
      size += (guint64) g_rand_int_range (rand, 0, 3) * 16;
      GArray *list = g_hash_table_lookup (free_lists, GSIZE_TO_POINTER (ht_chunk_size (size)));
      guint64 ptr;
      int how = g_rand_int_range (rand, 0, 10);
      if (list && list->len && how < 8)
        {
          /* mostly the last freed, sometimes a few below it */
          guint depth = how < 6 ? 0 : (guint) g_rand_int_range (rand, 0, (gint32) MIN (list->len, 40));
          guint at = list->len - 1 - depth;
          ptr = g_array_index (list, guint64, at);
          g_array_remove_index (list, at);
        }
      else
        {
          ptr = fresh;
          fresh += ht_chunk_size (size) + (how == 9 ? 4096 : 0);
        }
      next_chunk_if_full (&w, stamp);
      guint8 tag = rec_alloc (&w, stamp, ptr, size, (guint32) (size % 7));
      forms[tag]++;
      HtEvent e = { .tag = HT_REC_ALLOC, .stamp = stamp++, .alloc = { ptr, size, (guint32) (size % 7) } };
      g_array_append_val (want, e);
      live[k] = ptr;
      sizes[k] = size;
    }
  g_rand_free (rand);
  for (guint8 tag = HT_REC_ALLOC; tag <= HT_REC_ALLOC_FREED; tag++)
    if (tag != HT_REC_UNFREE && tag != HT_REC_TRACE_NODE && tag != HT_REC_THREAD
        && tag != HT_REC_THREAD_END && tag != HT_REC_TAG && tag != HT_REC_CODE)
      g_assert_cmpuint (forms[tag], >, 0);
  g_assert_cmpuint (forms[HT_REC_FREE_SLOT], >, 0);

  g_autoptr (GArray) ev = end_and_read (&w);
  g_assert_cmpuint (ev->len, ==, want->len);
  for (guint i = 0; i < ev->len; i++)
    {
      HtEvent *got = &g_array_index (ev, HtEvent, i), *exp = &g_array_index (want, HtEvent, i);
      g_assert_cmpint (got->tag, ==, exp->tag);
      g_assert_cmpuint (got->stamp, ==, exp->stamp);
      if (exp->tag == HT_REC_ALLOC)
        {
          g_assert_cmpuint (got->alloc.ptr, ==, exp->alloc.ptr);
          g_assert_cmpuint (got->alloc.size, ==, exp->alloc.size);
          g_assert_cmpuint (got->alloc.node, ==, exp->alloc.node);
        }
      else
        g_assert_cmpuint (got->free.ptr, ==, exp->free.ptr);
    }
}

/* The live-block table against GHashTable, through inserts, removals and growth. */
static void
test_block_map (void)
{
  HtBlockMap map;
  ht_block_map_init (&map);
  g_autoptr (GHashTable) ref = g_hash_table_new (g_int64_hash, g_int64_equal);
  static guint64 keys[200000];
  GRand *rand = g_rand_new_with_seed (42);
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      keys[i] = (g_rand_int_range (rand, 1, 50000) * 16);
      HtBlock b = { keys[i], i, i, 0, 0 };
      if (g_rand_boolean (rand) && g_hash_table_contains (ref, &keys[i]))
        {
          HtBlock out;
          g_assert_true (ht_block_map_remove (&map, keys[i], &out));
          g_assert_cmpuint (out.ptr, ==, keys[i]);
          g_hash_table_remove (ref, &keys[i]);
        }
      else
        {
          ht_block_map_insert (&map, &b, NULL);
          g_hash_table_replace (ref, &keys[i], &keys[i]);
        }
      g_assert_cmpuint (ht_block_map_size (&map), ==, g_hash_table_size (ref));
    }
  gsize found = 0;
  for (gsize i = 0; i <= map.mask; i++)
    if (map.slots[i].ptr)
      {
        g_assert_true (g_hash_table_contains (ref, &map.slots[i].ptr));
        found++;
      }
  g_assert_cmpuint (found, ==, g_hash_table_size (ref));
  g_rand_free (rand);
  ht_block_map_clear (&map);
}

/* A dense heap: millions of small blocks side by side, as a program building a big list
 * makes them.  The table must stay linear (a layout that piles such keys onto the same
 * slots made this take hours); the suite's timeout catches a regression. */
static void
test_block_map_dense (void)
{
  HtBlockMap map;
  ht_block_map_init (&map);
  const guint64 base = 0x55550000a000, n = 3000000;
  for (guint64 i = 0; i < n; i++)
    {
      HtBlock b = { base + i * 48, 40, 1, 0, 0 };
      ht_block_map_insert (&map, &b, NULL);
    }
  g_assert_cmpuint (ht_block_map_size (&map), ==, n);
  for (guint64 i = 0; i < n; i += 2)
    g_assert_true (ht_block_map_remove (&map, base + i * 48, NULL));
  for (guint64 i = 1; i < n; i += 2)
    {
      HtBlock out;
      g_assert_true (ht_block_map_remove (&map, base + i * 48, &out));
      g_assert_cmpuint (out.size, ==, 40);
    }
  g_assert_cmpuint (ht_block_map_size (&map), ==, 0);
  ht_block_map_clear (&map);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/reader/round-trip", test_round_trip);
  g_test_add_func ("/reader/format-5", test_format_5);
  g_test_add_func ("/reader/format-6", test_format_6);
  g_test_add_func ("/reader/state-continues", test_state_continues);
  g_test_add_func ("/reader/alloc-freed", test_alloc_freed);
  g_test_add_func ("/reader/live-window", test_live_window);
  g_test_add_func ("/reader/live-ages", test_live_ages);
  g_test_add_func ("/reader/random-heap", test_random_heap);
  g_test_add_func ("/reader/truncated-everywhere", test_truncated_everywhere);
  g_test_add_func ("/reader/corrupt", test_corrupt);
  g_test_add_func ("/blockmap/against-ghashtable", test_block_map);
  g_test_add_func ("/blockmap/dense-heap", test_block_map_dense);
  return g_test_run ();
}
