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
 * A buffer holds raw entries (HtRawEntry: the record's fields as they are, stored with a few
 * plain stores), not encoded records.  A flushed buffer joins one queue to write, in the
 * order they were flushed (so a stream's chunks reach the file in order, and SYNC after
 * what it promises), and the thread goes on with a fresh buffer.  The writer of the queue
 * (the keeper, ht-rec-keeper.c; with --graph the sampler thread) encodes each buffer with
 * its stream's encoder into chunks, compresses and writes them: on a two-core machine the
 * program's thread pays neither for the encoding's tables nor for zstd.  Whoever needs the
 * file complete (a thread's exit, fork, exit) writes the queue itself; a queue of more than
 * WRITE_AHEAD buffers is written by the thread that fills it.  Chunks are only written
 * under write_lock; a stream's lock may be held while taking it, never the reverse.
 *
 * Nothing here allocates through malloc: buffers come from mmap.  The keeper runs the
 * writing half (ht_rec_streams_write_some and what it calls), which therefore makes its
 * system calls with ht_rec_sys and takes HtRecLock locks only.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ht-rec-private.h"

static HtRecStream *control; /* stream 0 */
static HtRecStream *late;    /* events of threads after their exit destructor */

#define BUFFER_BYTES (sizeof (HtChunkHeader) + HT_REC_BUFFER_SIZE)
/* Buffers queued at most before the filling thread writes them: 4 MiB, 16 MiB with --graph.
 * There the writer is behind in bursts (its live-block table growing): at 16, python3's
 * thread wrote buffers itself for 3.3% of its samples; at 64 for none (A/B, 10 rounds:
 * 1.79 s -> 1.61 s).  Exact recordings gained nothing from 64, and micro-4t's peak RSS
 * went from 16 to 29 MiB, its import's from 63 to 83 (later SYNCs). */
#define WRITE_AHEAD 16
#define WRITE_AHEAD_GRAPH 64
/* The sleeping writer is woken once this many buffers wait (or at its tick), not for each:
 * a wake-up is a futex call and an interrupt to the other CPU, and python3's thread paid
 * 1.3% of its time in pthread_cond_signal when each of its ~1,000 buffers a second woke it. */
#define WAKE_AT 4

/* A flushed buffer waiting in the queue, described in the chunk header's room. */
typedef struct HtRecQueued
{
  struct HtRecQueued *next;
  HtRecStream *owner; /* its encoder encodes it (streams are recycled only once written) */
  uint32_t len;       /* bytes of raw entries */
} HtRecQueued;
_Static_assert (sizeof (HtRecQueued) <= sizeof (HtChunkHeader), "fits the header's room");

/* Both locks are the keeper's too (ht-rec-keeper.c): HtRecLock, not pthread's. */
static HtRecLock queue_lock = HT_REC_LOCK_INIT;
static _Atomic uint32_t queue_bell; /* futex word: the writer sleeps on it */
static HtRecQueued *queue_head, *queue_tail;
static unsigned queued;
static uint8_t *spare; /* written buffers, linked through their first word */
static HtRecLock write_lock = HT_REC_LOCK_INIT;
static bool async; /* the keeper or the sampler writes the queue */

static uint8_t *
buffer_get (void)
{
  ht_rec_lock (&queue_lock);
  uint8_t *b = spare;
  if (b)
    memcpy (&spare, b, sizeof spare);
  ht_rec_unlock (&queue_lock);
  return b ? b : ht_rec_mmap (BUFFER_BYTES);
}

/* ---------------------------------------------------------------------------------------
 * Locking.  A thread's stream is written by the thread on every event, and by someone else
 * only to flush it (the sampler every 10 ms, fork, exit).  So the owner's lock is a plain
 * store to `busy` and a load of `flush_request`; another thread sets `flush_request`, then
 * has the kernel run a full memory barrier on every thread of the process (membarrier's
 * private expedited command), then waits until `busy` is clear.  Either the owner's store
 * is visible after that barrier, or its load comes after it and sees the request: the two
 * never both go ahead (the asymmetric form of Dekker's algorithm, as userspace RCU uses).
 * The owner pays no atomic exchange; where membarrier is missing, everyone takes `lock`
 * with one.  The control stream and the shared stream have several writers: `lock` only.
 */
bool ht_rec_streams_asymmetric;

void
ht_rec_streams_asymmetric_init (void)
{
  ht_rec_streams_asymmetric
    = syscall (SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
}

/* ---------------------------------------------------------------------------------------
 * Stamps when one thread is alone.  Stamps exist to order the events of different streams;
 * while a single thread writes, its stream's order is the order, and per-event stamps cost
 * a byte an event in the log.  `ht_rec_solo` names the one owned stream allowed to repeat
 * its previous stamp (ht_rec_event_stamp), 0 for none.
 *
 * Every other writer clears it before it stamps anything: a thread's event that finds
 * another stream named stores 0; so does anyone writing to the control or the shared
 * stream (ht_rec_stream_lock_remote).  A thread that stamped HT_SOLO_CLAIM_AFTER events
 * exactly in a row, and found 0 each time, claims the name with a compare-and-swap and
 * then takes a fresh, fenced stamp.  Why that orders everything: an inherited stamp is
 * never later than the event's true time, so an event E of the solo thread can only be
 * placed too early.  Take an event F of another thread that happened before E (the
 * allocator's lock or the program's own synchronisation orders them).  F's thread read
 * ht_rec_solo after taking F's stamp and before F took effect: either it saw the name and
 * cleared it before F took effect, so E (after F) reads 0 and is stamped exactly; or it
 * read 0 before the claim, so F's stamp is older than the fresh stamp taken after the claim,
 * which E inherits at the earliest.
 */
_Alignas (64) _Atomic uint32_t ht_rec_solo; /* read on every event: a line of its own */
#define HT_SOLO_CLAIM_AFTER 256

uint64_t
ht_rec_event_stamp_shared (HtRecStream *s, uint32_t solo, uint64_t now)
{
  if (solo != 0)
    {
      atomic_store_explicit (&ht_rec_solo, 0, memory_order_relaxed);
      s->solo_run = 0;
      return now;
    }
  if (!s->owned || ++s->solo_run < HT_SOLO_CLAIM_AFTER)
    return now;
  s->solo_run = 0;
  uint32_t none = 0;
  if (atomic_compare_exchange_strong (&ht_rec_solo, &none, s->id))
    return ht_rec_stamp_fenced ();
  return now;
}

/* Whoever wrote a stream not its own (the control stream, the shared one, a flush) ends
 * another thread's time alone, once its record is stamped: at unlock. */
static void
solo_revoke (HtRecStream *s)
{
  uint32_t solo = atomic_load_explicit (&ht_rec_solo, memory_order_relaxed);
  if (solo != 0 && !(s->owned && s->id == solo && s == (HtRecStream *) ht_rec_tls_thread))
    atomic_store_explicit (&ht_rec_solo, 0, memory_order_seq_cst);
}

void
ht_rec_stream_lock_remote (HtRecStream *s)
{
  while (atomic_exchange_explicit (&s->lock, 1, memory_order_acquire))
    ht_rec_sys (SYS_sched_yield, 0, 0, 0, 0, 0);
  if (s->owned && ht_rec_streams_asymmetric)
    {
      atomic_store (&s->flush_request, 1);
      ht_rec_sys (SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0, 0, 0);
      while (atomic_load (&s->busy))
        ht_rec_sys (SYS_sched_yield, 0, 0, 0, 0, 0);
    }
}

void
ht_rec_stream_unlock_remote (HtRecStream *s)
{
  solo_revoke (s);
  if (s->owned && ht_rec_streams_asymmetric)
    atomic_store_explicit (&s->flush_request, 0, memory_order_release);
  atomic_store_explicit (&s->lock, 0, memory_order_release);
}

/* The owner found a flush request: it steps back until the flush is done. */
void
ht_rec_stream_wait_owner_turn (HtRecStream *s)
{
  for (;;)
    {
      atomic_store_explicit (&s->busy, 0, memory_order_release);
      while (atomic_load_explicit (&s->flush_request, memory_order_acquire))
        sched_yield ();
      atomic_store_explicit (&s->busy, 1, memory_order_relaxed);
      atomic_thread_fence (memory_order_seq_cst);
      if (!atomic_load_explicit (&s->flush_request, memory_order_acquire))
        return;
    }
}

/* The writer's room for one encoded chunk (only the holder of write_lock uses it): its
 * header, the row (never longer than the raw entries it came from), then the columns. */
static _Alignas (64) uint8_t scratch[sizeof (HtChunkHeader) + HT_REC_BUFFER_SIZE
                                     + HT_ENCODE_FINISH_MAX];
static _Alignas (64) HtEncoderColumns scratch_columns; /* not on ht_rec_solo's line */

/* Writes one encoded chunk, `row` bytes of row and the columns `e` finished after it,
 * compressed when zstd is at hand, with one write(2) so chunks of different threads never
 * interleave. */
static void
write_chunk (HtChunkHeader h, size_t row, size_t len, const HtEncoder *e)
{
  size_t ends[HT_PARTS + 1] = { row };
  for (int i = 0; i < HT_PARTS; i++)
    ends[i + 1] = ends[i] + e->col_len[i];
  ends[HT_PARTS] = len; /* the trailer goes with the last part */
  const uint8_t *packed;
  int slot;
  size_t n = ht_rec_zstd_compress (scratch + sizeof h, ends, HT_PARTS + 1, &packed, &slot);
  if (n > 0)
    {
      h.flags |= HT_CHUNK_ZSTD;
      h.payload_size = (uint32_t) n;
      memcpy (scratch, &h, sizeof h);
      struct iovec iov[2] = { { scratch, sizeof h }, { (void *) packed, n } };
      ht_rec_file_write_chunk (iov);
      ht_rec_zstd_release (slot);
    }
  else
    {
      h.payload_size = (uint32_t) len;
      memcpy (scratch, &h, sizeof h);
      ht_rec_file_write (scratch, sizeof h + len);
    }
}

/* The raw entry after the one at p. */
static inline const uint8_t *
raw_next (const uint8_t *p)
{
  const HtRawEntry *x = (const HtRawEntry *) (const void *) p;
  if (x->kind == HT_RAW_ALLOC)
    return p + HT_RAW_ALLOC_BYTES;
  return p + (x->kind == HT_RAW_PTR ? HT_RAW_PTR_HEAD : HT_RAW_RECORD_HEAD) + HT_RAW_PAD (x->aux);
}

#define LIVE_AHEAD 8 /* records between the prefetch of a live-table slot and its replay */

/* Encodes a queued buffer into chunks (a new one whenever a column fills) and writes them.
 * Caller holds write_lock. */
static void
write_queued (HtRecQueued *q)
{
  HtRecStream *s = q->owner;
  if (atomic_load (&ht_rec_state) != HT_REC_ON && s != control)
    return;
  HtEncoder *e = &s->enc;
  /* The stream's first line is the owner's, written on every event: read once here.  Read
   * per record (the calls below would make the compiler load s->id again each time), it
   * went back and forth between the two cores and cost the program ~45 ns an event. */
  uint32_t id = s->id;
  uint64_t live_stamp = s->live_stamp;
  const uint8_t *p = (const uint8_t *) q + sizeof (HtChunkHeader), *end = p + q->len;
  uint8_t *row = scratch + sizeof (HtChunkHeader);
  bool live = ht_rec_live_enabled ();
  const uint8_t *ahead = p;
  for (int k = 0; live && k < LIVE_AHEAD && ahead < end; k++)
    ahead = raw_next (ahead);
  while (p < end)
    {
      HtChunkHeader h = { HT_CHUNK_MAGIC, 0, id, 0, e->last_stamp };
      ht_encoder_start (e, h.base_stamp, &scratch_columns);
      h.flags = ht_encoder_chunk_flags (e);
      uint8_t *r = row;
      for (; p < end; )
        {
          const HtRawEntry *x = (const HtRawEntry *) (const void *) p;
          if (r != row && ht_encoder_full (e))
            break;
          if (live && ahead < end)
            {
              const HtRawEntry *y = (const HtRawEntry *) (const void *) ahead;
              if (y->kind != HT_RAW_RECORD)
                ht_rec_live_prefetch (y->ptr);
              ahead = raw_next (ahead);
            }
          /* the live-block table orders streams as the analyzer will: by stamp, each
           * stream's never going back (a thread moved to a CPU whose TSC lags) */
          uint64_t when = live_stamp = x->stamp > live_stamp ? x->stamp : live_stamp;
          if (x->kind == HT_RAW_ALLOC)
            {
              r = ht_encode_alloc (e, r, x->stamp, x->ptr, x->size, x->aux);
              ht_rec_live_replay_alloc (id, when, x->ptr, x->size);
              p += HT_RAW_ALLOC_BYTES;
              continue;
            }
          if (x->kind == HT_RAW_PTR && x->tag == HT_REC_FREE)
            ht_rec_live_replay_free (id, when, x->ptr, &s->live_freed_size);
          else if (x->kind == HT_RAW_PTR && x->tag == HT_REC_UNFREE)
            ht_rec_live_replay_unfree (id, when, x->ptr, &s->live_freed_size);
          else if (x->kind == HT_RAW_RECORD && x->tag == HT_REC_SYNC)
            ht_rec_live_sync (x->stamp);
          const uint8_t *data;
          if (x->kind == HT_RAW_PTR)
            {
              r = ht_encode_ptr_record (e, r, x->tag, x->stamp, x->ptr);
              data = p + HT_RAW_PTR_HEAD;
            }
          else
            {
              r = ht_encode_head (e, r, x->tag, x->stamp);
              data = p + HT_RAW_RECORD_HEAD;
            }
          memcpy (r, data, x->aux);
          r += x->aux;
          p = data + HT_RAW_PAD (x->aux);
        }
      write_chunk (h, (size_t) (r - row), (size_t) (r - row) + ht_encoder_finish (e, r), e);
    }
  s->live_stamp = live_stamp;
}

/* Writes every queued chunk, in order. */
void
ht_rec_streams_write (void)
{
  ht_rec_streams_write_some (UINT_MAX);
}

/* Writes at most `max` queued buffers, in order: the sampler writes a few between its
 * ticks, so that threads that queue faster than it encodes do not hold back its SYNC
 * marks (the reader buffers what lies between two of them). */
void
ht_rec_streams_write_some (unsigned max)
{
  ht_rec_lock (&write_lock);
  for (unsigned done = 0; done < max; done++)
    {
      ht_rec_lock (&queue_lock);
      HtRecQueued *q = queue_head;
      if (q)
        {
          queue_head = q->next;
          if (!queue_head)
            queue_tail = NULL;
          queued--;
        }
      ht_rec_unlock (&queue_lock);
      if (!q)
        break;
      write_queued (q);
      ht_rec_lock (&queue_lock);
      memcpy (q, &spare, sizeof spare);
      spare = (uint8_t *) q;
      ht_rec_unlock (&queue_lock);
    }
  ht_rec_unlock (&write_lock);
}

/* The buffered records join the queue as one chunk; the stream goes on in a fresh buffer
 * (or, out of memory, in the same one once written).  Returns how many buffers the queue
 * holds up to the stream's last one.  Caller holds the stream's lock. */
unsigned
ht_rec_stream_enqueue (HtRecStream *s)
{
  if (s->len == 0)
    {
      ht_rec_lock (&queue_lock);
      unsigned n = queued;
      ht_rec_unlock (&queue_lock);
      return n;
    }
  HtRecQueued *q = (HtRecQueued *) s->buf;
  *q = (HtRecQueued){ NULL, s, (uint32_t) s->len };
  uint8_t *fresh = buffer_get ();
  ht_rec_lock (&queue_lock);
  if (queue_tail)
    queue_tail->next = q;
  else
    queue_head = q;
  queue_tail = q;
  unsigned n = ++queued;
  ht_rec_unlock (&queue_lock);
  if (async && n >= WAKE_AT)
    ht_rec_streams_wake ();
  if (fresh)
    s->buf = fresh;
  ht_rec_stream_drop (s);
  if (!fresh || !async || n > (ht_rec_live_enabled () ? WRITE_AHEAD_GRAPH : WRITE_AHEAD))
    ht_rec_streams_write_some (n); /* no writer, or it is behind: write now */
  return n;
}

/* Flushes the stream and writes the queue: its records are in the file on return.
 * Caller holds the stream's lock. */
void
ht_rec_stream_flush (HtRecStream *s)
{
  /* the queue up to the stream's buffer, not what others queue meanwhile: the sampler's
   * flush would otherwise go on writing while busy threads fill buffers, and its next
   * SYNC mark, which bounds what a reader holds, come late */
  ht_rec_streams_write_some (ht_rec_stream_enqueue (s));
}

/* The writer (the keeper, or the sampler thread): waits until WAKE_AT buffers are queued,
 * `*stop` is set (ht_rec_streams_wake) or `ns` passed. */
void
ht_rec_streams_wait (uint64_t ns, _Atomic bool *stop)
{
  uint32_t bell = atomic_load (&queue_bell);
  ht_rec_lock (&queue_lock);
  async = true;
  bool wait = queued < WAKE_AT && !atomic_load (stop);
  ht_rec_unlock (&queue_lock);
  if (wait) /* a wake-up since `bell` was read makes this return at once */
    ht_rec_futex_wait (&queue_bell, bell, ns);
}

/* Wakes the writer from ht_rec_streams_wait. */
void
ht_rec_streams_wake (void)
{
  atomic_fetch_add (&queue_bell, 1);
  ht_rec_futex_wake (&queue_bell);
}

/* No sampler to write the queue any more (it stopped, or this is a forked child). */
void
ht_rec_streams_sync_only (void)
{
  ht_rec_lock (&queue_lock);
  async = false;
  ht_rec_unlock (&queue_lock);
}

/* fork: no other thread may hold a lock of the queue when the child starts.  The child
 * drops what its parent had queued (its log is its own). */
void
ht_rec_streams_lock (void)
{
  ht_rec_lock (&write_lock);
  ht_rec_lock (&queue_lock);
}

void
ht_rec_streams_unlock (bool child)
{
  if (child)
    {
      queue_head = queue_tail = NULL;
      queued = 0;
      async = false;
    }
  ht_rec_unlock (&queue_lock);
  ht_rec_unlock (&write_lock);
}

/* Forgets the buffered records (they were queued, or belong to a log gone with a fork).
 * The encoder never saw them: its state stays right. */
void
ht_rec_stream_drop (HtRecStream *s)
{
  s->len = 0;
}

/* A new log starts: the stream's chunks so far are not in it, and its first chunk is
 * stamped from `base_stamp`.  Waits for the writer. */
void
ht_rec_streams_reset_encoder (HtRecStream *s, uint64_t base_stamp)
{
  ht_rec_lock (&write_lock);
  ht_encoder_reset (&s->enc);
  s->enc.last_stamp = base_stamp;
  ht_rec_unlock (&write_lock);
}

/* Runs fn with the queue's write lock held: no buffer is being written meanwhile. */
void
ht_rec_streams_with_queue (void (*fn) (void))
{
  ht_rec_lock (&write_lock);
  fn ();
  ht_rec_unlock (&write_lock);
}

/* ht_rec_stream_reserve's way when the buffer is full: it joins the queue first. */
uint8_t *
ht_rec_stream_reserve_full (HtRecStream *s, size_t need)
{
  (void) need;
  ht_rec_stream_enqueue (s);
  return s->buf + sizeof (HtChunkHeader) + s->len;
}

/* A record other than an event: returns where its row bytes (after the tag) go, room for
 * `need` of them; ht_rec_record_end says where they end.  Caller holds the lock. */
uint8_t *
ht_rec_record_begin (HtRecStream *s, uint8_t tag, uint64_t stamp, size_t need)
{
  HtRawEntry *r = (HtRawEntry *) ht_rec_stream_reserve (s, HT_RAW_RECORD_HEAD + need + 8);
  r->kind = HT_RAW_RECORD;
  r->tag = tag;
  r->stamp = stamp;
  s->last_stamp = stamp;
  return (uint8_t *) r + HT_RAW_RECORD_HEAD;
}

/* The same for a record that carries a pointer before its row bytes (TAG). */
uint8_t *
ht_rec_ptr_record_begin (HtRecStream *s, uint8_t tag, uint64_t stamp, uint64_t ptr,
                         size_t need)
{
  HtRawEntry *r = (HtRawEntry *) ht_rec_stream_reserve (s, HT_RAW_PTR_HEAD + need + 8);
  r->kind = HT_RAW_PTR;
  r->tag = tag;
  r->stamp = stamp;
  r->ptr = ptr;
  s->last_stamp = stamp;
  return (uint8_t *) r + HT_RAW_PTR_HEAD;
}

void
ht_rec_record_end (HtRecStream *s, uint8_t *end)
{
  HtRawEntry *r = (HtRawEntry *) (void *) (s->buf + sizeof (HtChunkHeader) + s->len);
  uint8_t *data = (uint8_t *) r + (r->kind == HT_RAW_PTR ? HT_RAW_PTR_HEAD : HT_RAW_RECORD_HEAD);
  r->aux = (uint32_t) (end - data);
  s->len = (size_t) (data - (s->buf + sizeof (HtChunkHeader))) + HT_RAW_PAD (r->aux);
}

/* A stream's first buffer (a recycled thread keeps the one it had). */
bool
ht_rec_stream_init (HtRecStream *s)
{
  if (!s->buf)
    s->buf = ht_rec_mmap (BUFFER_BYTES);
  return s->buf != NULL;
}

/* Stream 0 and the stream of threads past their exit destructor. */
bool
ht_rec_streams_init (uint32_t late_id)
{
  control = ht_rec_mmap (sizeof *control);
  late = ht_rec_mmap (sizeof *late);
  if (!control || !late || !ht_rec_stream_init (control) || !ht_rec_stream_init (late))
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
  uint8_t *p = ht_rec_record_begin (s, tag, ht_rec_stamp (), HT_VARINT_MAX + len);
  ht_rec_record_end (s, ht_bytes_put (p, text, len));
  ht_rec_stream_unlock (s);
}

/* Appends a record of a tag and a stamp, followed by `n` varints (0 to 2). */
void
ht_rec_stream_put (HtRecStream *s, uint8_t tag, uint64_t stamp, int n, uint64_t a, uint64_t b)
{
  ht_rec_stream_lock (s);
  uint8_t *p = ht_rec_record_begin (s, tag, stamp, 2 * HT_VARINT_MAX);
  if (n > 0)
    p += ht_varint_put (p, a);
  if (n > 1)
    p += ht_varint_put (p, b);
  ht_rec_record_end (s, p);
  ht_rec_stream_unlock (s);
}
