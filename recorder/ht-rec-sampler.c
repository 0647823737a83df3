/* ht-rec-sampler.c - the recorder's ticks: every 10 ms a SAMPLE (time, RSS, the recorder's
 * memory and time), a fresh module map, the snapshot requests from outside, then a flush
 * of every stream and a SYNC.
 *
 * An exact recording has a thread of its own for them, which also encodes, compresses and
 * writes what the program's threads queue (ht-rec-stream.c): on two cores the program does
 * not wait for zstd.  A --sample recording has no thread.  Its events are rare, and a
 * second thread costs every program something however idle it is: glibc's malloc locks
 * its arena on every call once a process has had two threads, and each munmap must shoot
 * down the other CPU's TLB.  There the ticks are taken by the program's own threads,
 * after a recorded event once 10 ms have passed (ht_rec_sampler_poll), and each thread
 * writes its buffers itself.  So a sampled program that stops allocating also stops
 * ticking: what it recorded reaches the file at its next recorded event or at its end, and
 * a snapshot asked for from outside is taken then.  They flush every 100 ms, not 10.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ht-rec-private.h"

uint64_t ht_rec_start_mono_ns; /* SAMPLE times count from here */

#define TICK_NS (10u * 1000u * 1000u) /* a SAMPLE, a flush and a SYNC every 10 ms */

static pthread_t sampler;
static bool sampler_running;
static _Atomic pid_t sampler_tid; /* the scan of --graph never stops the sampler */
static _Atomic bool sampler_stop;

static uint64_t
read_rss (void)
{
  int fd = open ("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  char buf[128];
  ssize_t n = read (fd, buf, sizeof buf - 1);
  ht_rec_close (fd);
  if (n <= 0)
    return 0;
  buf[n] = 0;
  char *sp = strchr (buf, ' ');
  if (!sp)
    return 0;
  return strtoull (sp + 1, NULL, 10) * (uint64_t) sysconf (_SC_PAGESIZE);
}

void
ht_rec_write_sample (uint64_t stamp)
{
  uint64_t spent = ht_rec_threads_time ();
  HtRecStream *s = ht_rec_control_stream ();
  ht_rec_stream_lock (s);
  uint8_t *p = ht_rec_record_begin (s, HT_REC_SAMPLE, stamp, 4 * HT_VARINT_MAX);
  p += ht_varint_put (p, ht_rec_mono_ns () - ht_rec_start_mono_ns);
  p += ht_varint_put (p, read_rss ());
  p += ht_varint_put (p, ht_rec_own_bytes ());
  p += ht_varint_put (p, spent);
  ht_rec_record_end (s, p);
  ht_rec_stream_unlock (s);
}

/* Snapshots from outside.  `heaptrail snapshot PID [LABEL]` leaves a request file,
 * heaptrail-snapshot.PID in $XDG_RUNTIME_DIR or /tmp, which the sampler looks for every
 * 10 ms: no signal, so no blocking call of the program is interrupted.  `kill -USR2 PID`
 * works too when the program does not use SIGUSR2 itself: the handler only counts.  The
 * file must be ours and a regular file; it is read once (the label) and removed. */
static _Atomic unsigned snapshot_requests;
static unsigned snapshot_served;

void
ht_rec_sampler_on_sigusr2 (int sig)
{
  (void) sig;
  atomic_fetch_add (&snapshot_requests, 1);
}

static bool
request_path (char *path, size_t size)
{
  const char *dir = getenv ("XDG_RUNTIME_DIR");
  int n = snprintf (path, size, "%s/heaptrail-snapshot.%d", dir && *dir ? dir : "/tmp",
                    (int) getpid ());
  return n > 0 && (size_t) n < size;
}

static void
serve_snapshot_request (void)
{
  char label[256] = "";
  char path[PATH_MAX];
  int fd = request_path (path, sizeof path) ? open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
  if (fd >= 0)
    {
      struct stat st;
      if (fstat (fd, &st) == 0 && st.st_uid == getuid () && S_ISREG (st.st_mode))
        {
          ssize_t r = read (fd, label, sizeof label - 1);
          label[r > 0 ? r : 0] = 0;
          label[strcspn (label, "\n")] = 0;
          unlink (path);
        }
      ht_rec_close (fd);
    }
  if (!label[0])
    snprintf (label, sizeof label, "signal %u", snapshot_served + 1);
  heaptrail_rec_snapshot (label);
}

/* Takes the snapshots asked for from outside since the last call. */
static void
serve_snapshot_requests (void)
{
  char request[PATH_MAX];
  if (request_path (request, sizeof request) && access (request, F_OK) == 0
      && snapshot_served == atomic_load (&snapshot_requests))
    atomic_fetch_add (&snapshot_requests, 1);
  while (snapshot_served != atomic_load (&snapshot_requests))
    {
      uintptr_t held = ht_rec_hot.guard;
      ht_rec_guard_leave (); /* heaptrail_rec_snapshot takes the guard itself */
      serve_snapshot_request ();
      ht_rec_hot.guard = held;
      snapshot_served++;
    }
}

/* One tick's work, with a flush of every stream and a SYNC when `flush`.  Called with the
 * caller's guard held. */
static void
tick (bool flush)
{
  uint64_t now = ht_rec_stamp ();
  serve_snapshot_requests ();
  ht_rec_modules_refresh ();
  ht_rec_attach_refresh (); /* attached: modules loaded since get our hooks too */
  ht_rec_write_sample (now);
  if (flush)
    ht_rec_flush_all (now);
  ht_rec_threads_add_time (ht_rec_stamp () - now);
}

static void *
sampler_main (void *arg)
{
  (void) arg;
  ht_rec_guard_forever ();
  atomic_store (&sampler_tid, ht_rec_gettid ());
  uint64_t next_tick = ht_rec_mono_ns () + TICK_NS;
  while (!atomic_load (&sampler_stop))
    {
      /* between ticks, write what threads queued (ht-rec-stream.c) as it comes */
      uint64_t mono = ht_rec_mono_ns ();
      if (mono < next_tick)
        {
          ht_rec_streams_wait (next_tick - mono, &sampler_stop);
          ht_rec_streams_write_some (4);
          continue;
        }
      next_tick = mono + TICK_NS;
      if (atomic_load (&ht_rec_state) != HT_REC_ON)
        break;
      tick (true);
    }
  /* a request that came just before the end (kill -USR2 cut the program's sleep short,
   * say) is still a snapshot */
  if (atomic_load (&ht_rec_state) == HT_REC_ON)
    serve_snapshot_requests ();
  return NULL;
}

/* --sample: the program's threads take the ticks (see the top of this file), and flush
 * every 10th: the thread that flushes also encodes and compresses, and a chunk of 10 ms of
 * sampled events is so small that building zstd's tables for its columns cost more than
 * compressing them (2.3% of bench/micro's time, 4,096 blocks in flight, went to both). */
#define INLINE_FLUSH_EVERY 10
static _Atomic bool ticks_inline;
static _Atomic uint64_t inline_next_tick;
static pthread_mutex_t inline_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned inline_ticks; /* under inline_lock */

/* After a recorded event, the guard held: a tick, if one is due and no other thread is
 * taking it. */
void
ht_rec_sampler_poll (void)
{
  if (!atomic_load_explicit (&ticks_inline, memory_order_relaxed))
    return;
  uint64_t mono = ht_rec_mono_ns ();
  if (mono < atomic_load_explicit (&inline_next_tick, memory_order_relaxed)
      || pthread_mutex_trylock (&inline_lock) != 0)
    return;
  if (atomic_load (&ticks_inline) && mono >= atomic_load (&inline_next_tick)
      && atomic_load (&ht_rec_state) == HT_REC_ON)
    {
      atomic_store (&inline_next_tick, mono + TICK_NS);
      tick (++inline_ticks % INLINE_FLUSH_EVERY == 0);
    }
  pthread_mutex_unlock (&inline_lock);
}

/* The sampler runs on a stack the recorder maps itself, so that the heap scan of --graph
 * knows it for the recorder's memory and never reads it as the program's. */
#define SAMPLER_STACK (256u * 1024u)

void
ht_rec_sampler_start (void)
{
  if (ht_rec_sample_mean)
    {
      atomic_store (&inline_next_tick, ht_rec_mono_ns () + TICK_NS);
      atomic_store (&ticks_inline, true);
      return;
    }
  static void *stack;
  if (!stack)
    stack = ht_rec_mmap (SAMPLER_STACK);
  pthread_attr_t attr;
  if (!stack || pthread_attr_init (&attr) != 0)
    return;
  atomic_store (&sampler_stop, false);
  sampler_running = pthread_attr_setstack (&attr, stack, SAMPLER_STACK) == 0
                    && pthread_create (&sampler, &attr, sampler_main, NULL) == 0;
  pthread_attr_destroy (&attr);
}

bool
ht_rec_sampler_running (void)
{
  return sampler_running || atomic_load (&ticks_inline);
}

/* Stops the thread and waits for it, or the ticks: nothing is flushed behind the caller's
 * back. */
void
ht_rec_sampler_stop (void)
{
  if (atomic_load (&ticks_inline))
    {
      pthread_mutex_lock (&inline_lock);
      atomic_store (&ticks_inline, false);
      if (atomic_load (&ht_rec_state) == HT_REC_ON) /* as the thread's last act, below */
        serve_snapshot_requests ();
      pthread_mutex_unlock (&inline_lock);
    }
  if (!sampler_running)
    return;
  atomic_store (&sampler_stop, true);
  ht_rec_streams_wake (); /* else the join waits out the tick: 5 ms at every exit, on average */
  pthread_join (sampler, NULL);
  sampler_running = false;
  ht_rec_streams_sync_only ();
}

/* In a forked child, the thread is gone, and a tick another thread was taking too. */
void
ht_rec_sampler_forget (void)
{
  sampler_running = false;
  atomic_store (&ticks_inline, false);
  pthread_mutex_init (&inline_lock, NULL);
  ht_rec_streams_sync_only ();
}

pid_t
ht_rec_sampler_tid (void)
{
  return sampler_running ? atomic_load (&sampler_tid) : 0;
}
