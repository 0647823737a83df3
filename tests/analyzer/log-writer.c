/* log-writer.c - logs for the analyzer's tests, written record by record with the encoder
 * the recorder uses (ht-encoder.h), as the recorder's streams would write them. */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "log-writer.h"

void
put_varint (GByteArray *b, guint64 v)
{
  guint8 tmp[HT_VARINT_MAX];
  g_byte_array_append (b, tmp, (guint) ht_varint_put (tmp, v));
}

void
writer_header (Writer *w)
{
  HtFileHeader h = { 0 };
  memcpy (h.magic, HT_FILE_MAGIC, 8);
  h.version = HT_FORMAT_VERSION;
  h.header_size = sizeof h;
  h.pid = 4242;
  h.ppid = 1;
  h.clock = HT_CLOCK_MONOTONIC;
  h.max_frames = 64;
  h.start_stamp = 1000;
  h.exe_len = 9;
  h.cmdline_len = 12;
  g_byte_array_append (w->file, (guint8 *) &h, sizeof h);
  g_byte_array_append (w->file, (guint8 *) "/bin/prog", 9);
  g_byte_array_append (w->file, (guint8 *) "prog\0-x\0arg\0", 12);
}

void
chunk_begin (Writer *w, guint32 stream, guint64 base)
{
  w->chunk = g_byte_array_new ();
  w->stream = stream;
  w->base = base;
  if (!w->enc)
    w->enc = g_new0 (HtEncoder, 1);
  ht_encoder_start (w->enc, base, &w->cols);
}

void
chunk_finish (Writer *w)
{
  guint row = w->chunk->len;
  g_byte_array_set_size (w->chunk, row + HT_ENCODE_FINISH_MAX);
  w->flags = ht_encoder_chunk_flags (w->enc);
  g_byte_array_set_size (w->chunk, row + (guint) ht_encoder_finish (w->enc, w->chunk->data + row));
  if (!w->keep)
    g_clear_pointer (&w->enc, g_free);
}

void
chunk_end (Writer *w)
{
  chunk_finish (w);
  HtChunkHeader h = { HT_CHUNK_MAGIC, w->chunk->len, w->stream, w->flags, w->base };
  g_byte_array_append (w->file, (guint8 *) &h, sizeof h);
  g_byte_array_append (w->file, w->chunk->data, w->chunk->len);
  g_byte_array_unref (w->chunk);
}

guint8 *
rec_room (Writer *w)
{
  g_byte_array_set_size (w->chunk, w->chunk->len + HT_ENCODE_MAX);
  return w->chunk->data + w->chunk->len - HT_ENCODE_MAX;
}

guint8
rec_done (Writer *w, const guint8 *end)
{
  guint8 first = w->chunk->data[w->chunk->len - HT_ENCODE_MAX];
  g_byte_array_set_size (w->chunk, (guint) (end - w->chunk->data));
  return first;
}

void
rec_stamp (Writer *w, guint8 tag, guint64 stamp)
{
  rec_done (w, ht_encode_head (w->enc, rec_room (w), tag, stamp));
}

guint8
rec_alloc (Writer *w, guint64 stamp, guint64 ptr, guint64 size, guint32 node)
{
  return rec_done (w, ht_encode_alloc (w->enc, rec_room (w), stamp, ptr, size, node));
}

guint8
rec_free (Writer *w, guint64 stamp, guint64 ptr)
{
  return rec_done (w, ht_encode_ptr_record (w->enc, rec_room (w), HT_REC_FREE, stamp, ptr));
}

void
rec_thread_and_node (Writer *w, guint64 thread_stamp, guint64 node_stamp)
{
  rec_stamp (w, HT_REC_THREAD, thread_stamp);
  put_varint (w->chunk, 777);
  rec_stamp (w, HT_REC_TRACE_NODE, node_stamp);
  put_varint (w->chunk, 1);
  put_varint (w->chunk, 0);
  put_varint (w->chunk, 0x555500001234);
}

char *
write_temp (const guint8 *data, gsize len)
{
  char *path = NULL;
  int fd = g_file_open_tmp ("ht-test-XXXXXX.htr", &path, NULL);
  g_assert_cmpint (fd, >=, 0);
  g_assert_true (g_file_set_contents (path, (const char *) data, (gssize) len, NULL));
  close (fd);
  return path;
}
