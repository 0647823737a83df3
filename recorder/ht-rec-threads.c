/* ht-rec-threads.c - the thread registry: one HtRecThread (stream, stack caches) for each
 * thread that records, created on its first event and recycled at its exit.
 *
 * Threads are found through a thread-local pointer on the hot path; the registry (a list
 * under a mutex) is only walked by the sampler, to flush every stream and sum the
 * recorder's time, and at fork.
 */
#define _GNU_SOURCE
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ht-rec-private.h"

__thread HtRecThread *ht_rec_tls_thread __attribute__ ((tls_model ("initial-exec")));
static __thread int tls_exited __attribute__ ((tls_model ("initial-exec")));

static HtRecLock registry_lock = HT_REC_LOCK_INIT; /* the keeper's too */
static HtRecThread *threads_active; /* linked through stream.next */
static HtRecThread *threads_free;   /* linked through next_free */
static uint32_t next_stream_id = 1;
static pthread_key_t thread_key;
static _Atomic uint64_t spent_elsewhere; /* recorder time of exited threads and the sampler */

pid_t
ht_rec_gettid (void)
{
  return (pid_t) syscall (SYS_gettid);
}

/* Runs at thread exit (pthread key destructor): the stream is flushed and recycled; any
 * later event of this thread (libc freeing its TLS) goes to the shared `late` stream. */
static void
thread_exit (void *arg)
{
  HtRecThread *t = arg;
  bool entered = ht_rec_guard_enter ();
  ht_rec_stream_lock (&t->stream);
  ht_rec_sampling_put_counted (&t->stream, ht_rec_stamp ());
  ht_rec_stream_unlock (&t->stream);
  ht_rec_stream_put (&t->stream, HT_REC_THREAD_END, ht_rec_stamp (), 0, 0, 0);
  ht_rec_lock (&registry_lock);
  ht_rec_stream_lock (&t->stream);
  ht_rec_stream_flush (&t->stream);
  ht_rec_stream_unlock (&t->stream);
  HtRecThread **pp = &threads_active;
  while (*pp && *pp != t)
    pp = (HtRecThread **) &(*pp)->stream.next;
  if (*pp)
    *pp = (HtRecThread *) t->stream.next;
  atomic_fetch_add (&spent_elsewhere, atomic_load (&t->stream.spent));
  t->next_free = threads_free;
  threads_free = t;
  ht_rec_unlock (&registry_lock);
  ht_rec_tls_thread = NULL;
  tls_exited = 1;
  if (entered)
    ht_rec_guard_leave ();
}

/* Stream ids continue from `base` (an exec'd image going on with a log), or from 1. */
bool
ht_rec_threads_init (uint32_t base)
{
  if (base)
    next_stream_id = base;
  return pthread_key_create (&thread_key, thread_exit) == 0;
}

uint32_t
ht_rec_threads_new_stream_id (void)
{
  return next_stream_id++;
}

uint32_t
ht_rec_threads_next_stream_id (void)
{
  return next_stream_id;
}

/* Writes THREAD: this stream now belongs to the calling thread. */
static void
put_thread (HtRecStream *s)
{
  ht_rec_stream_put (s, HT_REC_THREAD, ht_rec_stamp (), 1, (uint64_t) ht_rec_gettid (), 0);
}

/* How many times a stream was handed to a thread (the shared one counts each time), up to
 * 2.  A thread counts before its first event is stamped, so while the writer reads 1, the
 * events it replays are the only ones there are or were (ht_rec_threads_alone). */
_Atomic uint32_t ht_rec_threads_streams_given;

static void
count_stream_given (void)
{
  if (atomic_load_explicit (&ht_rec_threads_streams_given, memory_order_relaxed) < 2)
    atomic_fetch_add_explicit (&ht_rec_threads_streams_given, 1, memory_order_seq_cst);
}

/* ht_rec_thread_stream's way when the thread has no stream yet, or no longer. */
HtRecStream *
ht_rec_thread_stream_new (void)
{
  HtRecThread *t;
  count_stream_given ();
  if (tls_exited)
    return ht_rec_late_stream ();

  ht_rec_lock (&registry_lock);
  t = threads_free;
  if (t)
    {
      threads_free = t->next_free;
      uint32_t id = t->stream.id;
      uint8_t *buf = t->stream.buf; /* empty: flushed at the thread's exit */
      memset (&t->stream, 0, sizeof t->stream);
      t->stream.id = id;
      t->stream.buf = buf;
      t->depth = 0;
      t->nat_n = 0;
      t->stack_top = 0; /* a new thread, a new stack */
      memset (t->cache, 0, sizeof t->cache);
      memset (t->memo, 0, sizeof t->memo);
    }
  else
    {
      t = ht_rec_mmap (sizeof *t);
      if (t)
        {
          t->stream.id = next_stream_id++;
          /* written before it is probed (see ht_rec_mmap_table) */
          memset (t->cache, 0, sizeof t->cache);
        }
    }
  if (t)
    t->stream.owned = true;
  if (t && !ht_rec_stream_init (&t->stream))
    {
      t->next_free = threads_free; /* no memory for its buffer: use the shared stream */
      threads_free = t;
      t = NULL;
    }
  if (t)
    {
      t->stream.next = (HtRecStream *) threads_active;
      threads_active = t;
    }
  ht_rec_unlock (&registry_lock);
  if (!t)
    return ht_rec_late_stream ();

  /* a new stream, or one recycled empty: its encoder was cleared with it */
  t->stream.enc.last_stamp = ht_rec_stamp ();
  /* the first event sets the thread up (mmap, libunwind's cache): timing it and counting it
   * 256 times would swamp short runs, so the sampling starts with the next one */
  t->stream.tick = 1;
  t->self = (uintptr_t) pthread_self ();
  t->hot = &ht_rec_hot;
  ht_rec_tls_thread = t;
  pthread_setspecific (thread_key, t);
  put_thread (&t->stream);
  return &t->stream;
}

/* Recorder time so far, in stamp units, over every thread and the sampler. */
uint64_t
ht_rec_threads_time (void)
{
  uint64_t total = atomic_load (&spent_elsewhere) + atomic_load (&ht_rec_late_stream ()->spent);
  ht_rec_lock (&registry_lock);
  for (HtRecThread *t = threads_active; t; t = (HtRecThread *) t->stream.next)
    total += atomic_load_explicit (&t->stream.spent, memory_order_relaxed);
  ht_rec_unlock (&registry_lock);
  return total;
}

/* Adds the --sample counts of every thread with a stream to `sum` (at the end of the log:
 * what they count meanwhile is not recorded). */
void
ht_rec_threads_add_counted (HtRecCounted *sum)
{
  ht_rec_lock (&registry_lock);
  for (HtRecThread *t = threads_active; t; t = (HtRecThread *) t->stream.next)
    if (t->hot)
      {
        HtRecCounted c = ht_rec_hot_counted (t->hot);
        sum->calls += c.calls;
        sum->bytes += c.bytes;
      }
  ht_rec_unlock (&registry_lock);
}

/* Time spent by the recorder outside any thread's events (the sampler's ticks). */
void
ht_rec_threads_add_time (uint64_t spent)
{
  atomic_fetch_add (&spent_elsewhere, spent);
}

/* Flushes every stream; everything stamped before `before` is then in the file.  Each
 * thread's buffer only joins the queue under its lock (the thread waits for that, not for
 * the encoding of the queue); the control stream's flush, last, writes the whole queue in
 * order, the SYNC after every buffer queued before it. */
void
ht_rec_flush_all (uint64_t before)
{
  ht_rec_flush_all_from (before, false);
}

/* `queue_only`: a program thread's tick leaves the writing to the keeper (the queue is
 * written in order, the SYNC after what it promises). */
void
ht_rec_flush_all_from (uint64_t before, bool queue_only)
{
  HtRecStream *late = ht_rec_late_stream ();
  ht_rec_lock (&registry_lock);
  for (HtRecThread *t = threads_active; t; t = (HtRecThread *) t->stream.next)
    {
      ht_rec_stream_lock (&t->stream);
      ht_rec_stream_enqueue (&t->stream);
      ht_rec_stream_unlock (&t->stream);
    }
  ht_rec_stream_lock (late);
  ht_rec_stream_enqueue (late);
  ht_rec_stream_unlock (late);
  ht_rec_unlock (&registry_lock);

  HtRecStream *s = ht_rec_control_stream ();
  ht_rec_stream_put (s, HT_REC_SYNC, before, 0, 0, 0);
  ht_rec_stream_lock (s);
  if (queue_only)
    {
      ht_rec_stream_enqueue (s);
      ht_rec_streams_wake ();
    }
  else
    ht_rec_stream_flush (s);
  ht_rec_stream_unlock (s);
}

/* fork: the registry is held across the fork, so that no thread is half registered. */
void
ht_rec_threads_lock (void)
{
  ht_rec_lock (&registry_lock);
}

void
ht_rec_threads_unlock (void)
{
  ht_rec_unlock (&registry_lock);
}

/* In a child that records: only the forking thread lives on.  Every other stream is
 * dropped, and every spin lock released (the sampler may have held one); the forking
 * thread keeps its stream, whose first record in the new log says whose it is.  Returns
 * the forking thread, if it had one. */
HtRecThread *
ht_rec_threads_after_fork (void)
{
  HtRecThread *self = ht_rec_tls_thread;
  while (threads_active)
    {
      HtRecThread *t = threads_active;
      threads_active = (HtRecThread *) t->stream.next;
      if (t != self)
        {
          t->next_free = threads_free;
          threads_free = t;
        }
    }
  HtRecStream *streams[] = { ht_rec_control_stream (), ht_rec_late_stream (),
                             self ? &self->stream : NULL };
  for (unsigned i = 0; i < sizeof streams / sizeof streams[0]; i++)
    if (streams[i])
      {
        atomic_store (&streams[i]->lock, 0);
        atomic_store (&streams[i]->busy, 0);
        atomic_store (&streams[i]->flush_request, 0);
        streams[i]->len = 0;
        ht_encoder_reset (&streams[i]->enc); /* the child's log has none of its chunks */
      }
  if (self)
    {
      self->stream.next = NULL;
      threads_active = self;
      atomic_store (&ht_rec_solo, 0); /* the other threads are gone with their names */
      self->depth = 0;
      self->nat_n = 0;
      atomic_store (&self->stream.spent, 0);
    }
  atomic_store (&spent_elsewhere, 0);
  return self;
}

/* The forking thread's stream in the child's new log. */
void
ht_rec_threads_restart (HtRecThread *self)
{
  HtRecStream *st = &self->stream;
  ht_rec_streams_reset_encoder (st, ht_rec_stamp ());
  put_thread (st);
}

/* Holds every stream (on) and writes what they hold, or lets them go again: while held, a
 * thread waits at its next event, and a thread not registered yet at its first.  For the
 * heap scan: every event written so far is then in the live-block table. */
void
ht_rec_threads_hold (bool on)
{
  HtRecStream *late = ht_rec_late_stream ();
  if (on)
    {
      ht_rec_lock (&registry_lock);
      for (HtRecThread *t = threads_active; t; t = (HtRecThread *) t->stream.next)
        {
          ht_rec_stream_lock (&t->stream);
          ht_rec_stream_flush (&t->stream);
        }
      ht_rec_stream_lock (late);
      ht_rec_stream_flush (late);
      return;
    }
  ht_rec_stream_unlock (late);
  for (HtRecThread *t = threads_active; t; t = (HtRecThread *) t->stream.next)
    ht_rec_stream_unlock (&t->stream);
  ht_rec_unlock (&registry_lock);
}

/* A new log starts (a header or an IMAGE): no stream's pointer state is in it. */
void
ht_rec_threads_reset_encoders (void)
{
  HtRecStream *shared[] = { ht_rec_control_stream (), ht_rec_late_stream () };
  ht_rec_lock (&registry_lock);
  uint64_t now = ht_rec_stamp ();
  for (HtRecThread *t = threads_active; t; t = (HtRecThread *) t->stream.next)
    ht_rec_streams_reset_encoder (&t->stream, now);
  ht_rec_unlock (&registry_lock);
  for (unsigned i = 0; i < sizeof shared / sizeof shared[0]; i++)
    ht_rec_streams_reset_encoder (shared[i], now);
}
