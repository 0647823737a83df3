/* ht-rec-stream.c - streams: each thread's record buffer, the control stream, chunks.
 *
 *   thread A ──▶ [stream A buf] ──┐ full, thread exit, fork,
 *   thread B ──▶ [stream B buf] ──┼─ sampler tick (10 ms) ──▶ one chunk, one write(2)
 *   sampler  ──▶ [control  buf] ──┘
 *
 * Every thread appends to its own buffer under its own lock, which only the sampler ever
 * contends for, so threads never wait for each other.  Each record is stamped while the
 * buffer lock is held; so when the sampler takes a stamp T and then flushes every buffer,
 * everything stamped before T is in the file, and the SYNC(T) it writes lets the reader
 * merge streams with bounded buffering.  Records are encoded by ht-encoder.h.
 *
 * Nothing here allocates through malloc: buffers come from mmap.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <string.h>
#include <sys/uio.h>

#include "ht-rec-private.h"

static HtRecStream *control; /* stream 0 */
static HtRecStream *late;    /* events of threads after their exit destructor */

void
ht_rec_stream_lock (HtRecStream *s)
{
  while (atomic_exchange_explicit (&s->lock, 1, memory_order_acquire))
    sched_yield ();
}

void
ht_rec_stream_unlock (HtRecStream *s)
{
  atomic_store_explicit (&s->lock, 0, memory_order_release);
}

/* Writes the buffered records as one chunk, compressed when zstd is at hand, with one
 * write(2) so chunks of different threads never interleave.  Caller holds the lock. */
void
ht_rec_stream_flush (HtRecStream *s)
{
  if (s->len == 0)
    return;
  HtChunkHeader h = {
    .magic = HT_CHUNK_MAGIC,
    .payload_size = (uint32_t) s->len,
    .stream = s->id,
    .flags = 0,
    .base_stamp = s->base_stamp,
  };
  if (atomic_load (&ht_rec_state) == HT_REC_ON || s == control)
    {
      const uint8_t *packed;
      int slot;
      size_t n = ht_rec_zstd_compress (s->buf + sizeof h, s->len, &packed, &slot);
      if (n > 0)
        {
          h.flags = HT_CHUNK_ZSTD;
          h.payload_size = (uint32_t) n;
          memcpy (s->buf, &h, sizeof h);
          struct iovec iov[2] = { { s->buf, sizeof h }, { (void *) packed, n } };
          ht_rec_file_write_chunk (iov);
          ht_rec_zstd_release (slot);
        }
      else
        {
          memcpy (s->buf, &h, sizeof h);
          ht_rec_file_write (s->buf, sizeof h + s->len);
        }
    }
  ht_rec_stream_drop (s);
}

/* Forgets the buffered records; the next chunk starts where the last record left off. */
void
ht_rec_stream_drop (HtRecStream *s)
{
  s->len = 0;
  s->base_stamp = s->enc.last_stamp;
  ht_encoder_start (&s->enc, s->base_stamp);
}

/* Room for `need` bytes; flushes a full buffer first.  Caller holds the lock. */
uint8_t *
ht_rec_stream_reserve (HtRecStream *s, size_t need)
{
  if (s->len + need > HT_REC_BUFFER_SIZE)
    ht_rec_stream_flush (s);
  return s->buf + sizeof (HtChunkHeader) + s->len;
}

/* Stream 0 and the stream of threads past their exit destructor. */
bool
ht_rec_streams_init (uint32_t late_id)
{
  control = ht_rec_mmap (sizeof *control);
  late = ht_rec_mmap (sizeof *late);
  if (!control || !late)
    return false;
  control->id = HT_CONTROL_STREAM;
  late->id = late_id;
  return true;
}

HtRecStream *
ht_rec_control_stream (void)
{
  return control;
}

HtRecStream *
ht_rec_late_stream (void)
{
  return late;
}

/* Appends to the control stream a record of a tag, a stamp and `len` bytes of text (a
 * snapshot's label, the program's suppressions). */
void
ht_rec_control_put_text (uint8_t tag, const char *text, size_t len)
{
  HtRecStream *s = control;
  ht_rec_stream_lock (s);
  uint8_t *p = ht_rec_stream_reserve (s, HT_REC_RECORD_MAX + len);
  p = ht_encode_head (&s->enc, p, tag, ht_rec_stamp ());
  ht_rec_stream_commit (s, ht_bytes_put (p, text, len));
  ht_rec_stream_unlock (s);
}

/* Appends a record of a tag and a stamp, followed by `n` varints (0 to 2). */
void
ht_rec_stream_put (HtRecStream *s, uint8_t tag, uint64_t stamp, int n, uint64_t a, uint64_t b)
{
  ht_rec_stream_lock (s);
  uint8_t *p = ht_rec_stream_reserve (s, HT_REC_RECORD_MAX);
  p = ht_encode_head (&s->enc, p, tag, stamp);
  if (n > 0)
    p += ht_varint_put (p, a);
  if (n > 1)
    p += ht_varint_put (p, b);
  ht_rec_stream_commit (s, p);
  ht_rec_stream_unlock (s);
}
