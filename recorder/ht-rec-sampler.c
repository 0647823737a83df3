/* ht-rec-sampler.c - the recorder's ticks: every 10 ms a SAMPLE (time, RSS, the recorder's
 * memory and time), a fresh module map, the snapshot requests from outside, then a flush
 * of every stream and a SYNC.
 *
 * The program's own threads take them, after a recorded event once 10 ms have passed
 * (ht_rec_sampler_poll), and the keeper (ht-rec-keeper.c), a thread glibc does not know
 * of, writes what they queue and ticks for them while they record nothing.  A thread made
 * with pthread_create would cost every program something however idle it is: glibc's
 * malloc locks its arena on every call once a process has had two threads.
 *
 * With --graph (whose heap scan must stop the world and call anything), or where the
 * keeper cannot run, the sampler is a pthread of its own that takes every tick.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ht-rec-private.h"

uint64_t ht_rec_start_mono_ns; /* SAMPLE times count from here */

#define TICK_NS (10u * 1000u * 1000u) /* a SAMPLE, a flush and a SYNC every 10 ms */

static pthread_t sampler;
static bool sampler_running;
static _Atomic pid_t sampler_tid; /* the scan of --graph never stops the sampler */
static _Atomic bool sampler_stop;

static long page_size = 4096;

/* Resident bytes, from /proc/self/statm, read with the system calls themselves and parsed
 * by hand: the keeper calls this, where errno and the locale are another thread's. */
static uint64_t
read_rss (void)
{
  int fd = (int) ht_rec_sys (SYS_openat, AT_FDCWD, (long) "/proc/self/statm", O_RDONLY | O_CLOEXEC,
                             0, 0);
  if (fd < 0)
    return 0;
  char buf[128];
  long n = ht_rec_sys (SYS_read, fd, (long) buf, sizeof buf - 1, 0, 0);
  ht_rec_close (fd);
  if (n <= 0)
    return 0;
  buf[n] = 0;
  const char *p = strchr (buf, ' ');
  uint64_t pages = 0;
  for (p = p ? p + 1 : buf + n; *p >= '0' && *p <= '9'; p++)
    pages = pages * 10 + (uint64_t) (*p - '0');
  return pages * (uint64_t) page_size;
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
static _Atomic unsigned snapshot_served; /* the keeper reads it without inline_lock */

void
ht_rec_sampler_on_sigusr2 (int sig)
{
  (void) sig;
  atomic_fetch_add (&snapshot_requests, 1);
}

/* The request file's name, made once at start (getenv and snprintf are not the keeper's to
 * call). */
static char request_file[PATH_MAX];

static void
request_path_init (void)
{
  const char *dir = getenv ("XDG_RUNTIME_DIR");
  int n = snprintf (request_file, sizeof request_file, "%s/heaptrail-snapshot.%d",
                    dir && *dir ? dir : "/tmp", (int) getpid ());
  if (n <= 0 || (size_t) n >= sizeof request_file)
    request_file[0] = 0;
}

/* The label of the request file (which is then removed), or "signal N".  System calls
 * only: the keeper serves requests too. */
static size_t
request_label (char *label, size_t size)
{
  size_t len = 0;
  int fd = request_file[0] ? (int) ht_rec_sys (SYS_openat, AT_FDCWD, (long) request_file,
                                               O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0, 0)
                           : -1;
  if (fd >= 0)
    {
      struct stat st;
      if (ht_rec_sys (SYS_fstat, fd, (long) &st, 0, 0, 0) == 0
          && st.st_uid == (uid_t) ht_rec_sys (SYS_getuid, 0, 0, 0, 0, 0) && S_ISREG (st.st_mode))
        {
          long r = ht_rec_sys (SYS_read, fd, (long) label, (long) size - 1, 0, 0);
          while (r > 0 && len < (size_t) r && label[len] != '\n')
            len++;
          ht_rec_sys (SYS_unlinkat, AT_FDCWD, (long) request_file, 0, 0, 0);
        }
      ht_rec_close (fd);
    }
  if (len == 0)
    {
      char digits[16];
      int d = 0;
      for (unsigned v = snapshot_served + 1; d == 0 || v; v /= 10)
        digits[d++] = (char) ('0' + v % 10);
      memcpy (label, "signal ", 7);
      len = 7;
      while (d > 0)
        label[len++] = digits[--d];
    }
  label[len] = 0;
  return len;
}

/* Takes the snapshots asked for from outside since the last call.  On a program thread,
 * with its guard held; on the keeper (which never runs with --graph, so a snapshot is
 * its record alone), without one. */
static bool
request_file_exists (void)
{
  return request_file[0] && ht_rec_sys (SYS_access, (long) request_file, F_OK, 0, 0, 0) == 0;
}

/* Whether a snapshot was asked for (a hint: read without inline_lock). */
static bool
request_waiting (void)
{
  return snapshot_served != atomic_load (&snapshot_requests) || request_file_exists ();
}

static void
serve_snapshot_requests (bool keeper)
{
  if (request_file_exists () && snapshot_served == atomic_load (&snapshot_requests))
    atomic_fetch_add (&snapshot_requests, 1);
  while (snapshot_served != atomic_load (&snapshot_requests))
    {
      char label[256];
      size_t len = request_label (label, sizeof label);
      if (keeper)
        ht_rec_control_put_text (HT_REC_SNAPSHOT, label, len);
      else
        {
          uintptr_t held = ht_rec_hot.guard;
          ht_rec_guard_leave (); /* heaptrail_rec_snapshot takes the guard itself */
          heaptrail_rec_snapshot (label);
          ht_rec_hot.guard = held;
        }
      snapshot_served++;
    }
}

/* One tick's work, with a flush of every stream and a SYNC when `flush`.  Called with the
 * caller's guard held. */
static void
tick (bool flush)
{
  uint64_t now = ht_rec_stamp ();
  serve_snapshot_requests (false);
  ht_rec_modules_refresh ();
  ht_rec_attach_refresh (); /* attached: modules loaded since get our hooks too */
  ht_rec_write_sample (now);
  if (flush) /* the keeper writes what a program thread's tick queues */
    ht_rec_flush_all_from (now, ht_rec_keeper_running ());
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
    serve_snapshot_requests (false);
  return NULL;
}

/* ---------------------------------------------------------------------------------------
 * Ticks taken by the program's threads, after a recorded event once 10 ms have passed
 * (ht_rec_sampler_poll), with the keeper (ht-rec-keeper.c) writing what they queue and
 * ticking for them while they record nothing.
 *
 * The poll on every event compares the event's stamp with ht_rec_tick_due: the clock
 * read proper (clock_gettime, 6.8% of python3's recorded time when read on every event)
 * comes only once the stamps say 10 ms may have passed.  Stamps count TSC cycles / 64 or
 * ns / 32; until the ticks have measured how many make a millisecond, the poll assumes as
 * few as a 1 GHz TSC gives, and so looks too early rather than too late.
 *
 * --sample flushes every 10th tick: a 10 ms chunk of sampled events is so small that
 * building zstd's tables for its columns cost more than compressing them (2.3% of
 * bench/micro's time, 4,096 blocks in flight, went to both).
 */
#define INLINE_FLUSH_EVERY_SAMPLED 10
#define IDLE_NS (2u * TICK_NS) /* the keeper ticks once the threads took none for this long */
#define STAMPS_PER_MS_LOW 15625u /* 1 GHz / 64 */
_Atomic uint64_t ht_rec_tick_due = UINT64_MAX; /* the stamp after which a poll looks */
static _Atomic bool ticks_inline;
static _Atomic uint64_t inline_next_tick, inline_last_tick; /* ht_rec_mono_ns */
static _Atomic uint64_t stamps_per_ms = STAMPS_PER_MS_LOW; /* written under inline_lock */
static uint64_t calib_stamp, calib_mono;
static HtRecLock inline_lock = HT_REC_LOCK_INIT; /* the keeper's too */
static unsigned inline_ticks; /* under inline_lock */

/* The stamp `ns` from the one `stamp`, or a little before. */
static uint64_t
stamp_after (uint64_t stamp, uint64_t ns)
{
  return stamp + ns / 1000u * atomic_load_explicit (&stamps_per_ms, memory_order_relaxed) / 1000u
                   * 7 / 8;
}

/* Measures the stamps a millisecond makes, once enough time has passed (under inline_lock). */
static void
calibrate (uint64_t stamp, uint64_t mono)
{
  if (mono - calib_mono >= 50000000u && stamp > calib_stamp)
    {
      uint64_t rate = (stamp - calib_stamp) * 1000000u / (mono - calib_mono);
      uint64_t least = STAMPS_PER_MS_LOW / 16;
      atomic_store_explicit (&stamps_per_ms, rate > least ? rate : least, memory_order_relaxed);
    }
}

/* After a recorded event whose stamp passed ht_rec_tick_due, its thread's guard held: a
 * tick, if one is due and no other thread is taking it. */
void
ht_rec_sampler_poll_due (uint64_t stamp)
{
  if (!atomic_load_explicit (&ticks_inline, memory_order_relaxed))
    return;
  uint64_t mono = ht_rec_mono_ns ();
  uint64_t next = atomic_load_explicit (&inline_next_tick, memory_order_relaxed);
  if (mono < next)
    {
      atomic_store_explicit (&ht_rec_tick_due, stamp_after (stamp, next - mono),
                             memory_order_relaxed);
      return;
    }
  if (!ht_rec_trylock (&inline_lock))
    return;
  if (atomic_load (&ticks_inline) && mono >= atomic_load (&inline_next_tick)
      && atomic_load (&ht_rec_state) == HT_REC_ON)
    {
      int saved_errno = errno; /* the program's, after the call it made */
      calibrate (stamp, mono);
      atomic_store (&inline_next_tick, mono + TICK_NS);
      tick (!ht_rec_sample_mean || ++inline_ticks % INLINE_FLUSH_EVERY_SAMPLED == 0);
      atomic_store (&inline_last_tick, mono);
      atomic_store_explicit (&ht_rec_tick_due, stamp_after (ht_rec_stamp (), TICK_NS),
                             memory_order_relaxed);
      errno = saved_errno;
    }
  ht_rec_unlock (&inline_lock);
}

/* On the keeper, every 10 ms: the threads took no tick for IDLE_NS (or a snapshot was
 * asked for, which cannot wait for them), so it takes what of one needs no libc: the
 * snapshots asked for, a SAMPLE, a flush of every stream and a SYNC.  The module map waits
 * for the threads' next tick: only a thread that runs can load a module. */
void
ht_rec_sampler_idle_tick (void)
{
  if (!atomic_load (&ticks_inline) || atomic_load (&ht_rec_state) != HT_REC_ON)
    return;
  uint64_t mono = ht_rec_mono_ns ();
  bool idle = mono - atomic_load (&inline_last_tick) >= IDLE_NS;
  if (!(idle || request_waiting ()) || !ht_rec_trylock (&inline_lock))
    return;
  if (atomic_load (&ticks_inline) && atomic_load (&ht_rec_state) == HT_REC_ON)
    {
      uint64_t now = ht_rec_stamp ();
      serve_snapshot_requests (true);
      ht_rec_write_sample (now);
      ht_rec_flush_all_from (now, false);
      atomic_store (&inline_last_tick, mono);
      atomic_store (&inline_next_tick, mono + TICK_NS);
      ht_rec_threads_add_time (ht_rec_stamp () - now);
    }
  ht_rec_unlock (&inline_lock);
}

/* The sampler runs on a stack the recorder maps itself, so that the heap scan of --graph
 * knows it for the recorder's memory and never reads it as the program's. */
#define SAMPLER_STACK (256u * 1024u)

void
ht_rec_sampler_start (void)
{
  page_size = sysconf (_SC_PAGESIZE);
  request_path_init ();
  if (!ht_rec_live_enabled ())
    {
      uint64_t mono = ht_rec_mono_ns ();
      calib_mono = mono;
      calib_stamp = ht_rec_stamp ();
      atomic_store (&inline_next_tick, mono + TICK_NS);
      atomic_store (&inline_last_tick, mono);
      atomic_store (&ticks_inline, true);
      atomic_store (&ht_rec_tick_due, stamp_after (calib_stamp, TICK_NS));
      if (ht_rec_keeper_start ())
        return;
      atomic_store (&ticks_inline, false);
      atomic_store (&ht_rec_tick_due, UINT64_MAX);
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

/* Stops the thread or the keeper and waits for it: nothing is flushed behind the caller's
 * back. */
void
ht_rec_sampler_stop (void)
{
  if (atomic_load (&ticks_inline))
    {
      ht_rec_lock (&inline_lock);
      atomic_store (&ticks_inline, false);
      atomic_store (&ht_rec_tick_due, UINT64_MAX);
      ht_rec_unlock (&inline_lock);
      ht_rec_keeper_stop ();
      if (atomic_load (&ht_rec_state) == HT_REC_ON) /* as the thread's last act, below */
        serve_snapshot_requests (false);
      ht_rec_streams_sync_only ();
    }
  if (!sampler_running)
    return;
  atomic_store (&sampler_stop, true);
  ht_rec_streams_wake (); /* else the join waits out the tick: 5 ms at every exit, on average */
  pthread_join (sampler, NULL);
  sampler_running = false;
  ht_rec_streams_sync_only ();
}

/* In a forked child, the thread or the keeper is gone, and a tick another thread was
 * taking too. */
void
ht_rec_sampler_forget (void)
{
  sampler_running = false;
  atomic_store (&ticks_inline, false);
  atomic_store (&ht_rec_tick_due, UINT64_MAX);
  inline_lock = (HtRecLock) HT_REC_LOCK_INIT;
  ht_rec_keeper_forget ();
  ht_rec_streams_sync_only ();
}

/* The thread the heap scan must not stop: the sampler's, or the keeper. */
pid_t
ht_rec_sampler_tid (void)
{
  return sampler_running ? atomic_load (&sampler_tid) : ht_rec_keeper_tid ();
}
