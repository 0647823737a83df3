/* ht-rec-log.c - the recorder's engine: lifecycle, per-thread streams, the log file.
 * (The clock is in ht-rec-clock.c, the recorder's own memory in ht-rec-mem.c, the
 * program's identity in ht-rec-program.c.)
 *
 *   thread A ──▶ [stream A buf] ──┐ full, thread exit, fork,
 *   thread B ──▶ [stream B buf] ──┼─ sampler tick (10 ms) ──▶ write(2) one chunk, O_APPEND
 *   sampler  ──▶ [control  buf] ──┘
 *
 * Every thread appends to its own buffer under its own lock, which only the sampler ever
 * contends for, so threads never wait for each other.  Each record is stamped while the
 * buffer lock is held; so when the sampler takes a stamp T and then flushes every buffer,
 * everything stamped before T is in the file, and the SYNC(T) it writes lets the reader
 * merge streams with bounded buffering.
 *
 * Nothing here allocates through malloc: buffers come from mmap, output is write(2), the
 * environment is read with getenv.  A failure to write sets the state to OFF after one
 * line on stderr, and the hooks pass through from then on.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "ht-rec-private.h"

_Atomic int ht_rec_state = HT_REC_OFF;
_Atomic int ht_rec_paused;
int ht_rec_max_frames = 64;

static int log_fd = -1;
static char log_path[PATH_MAX];
static char log_dir[PATH_MAX]; /* where logs of followed children go */
static bool follow_fork, follow_exec;
static pid_t recorded_pid; /* the process this log is about */
static uint64_t start_mono_ns;
static _Atomic int init_done; /* 0 = not tried, 1 = in progress, 2 = done (on or failed) */
static _Atomic bool finished;
static _Atomic uint64_t spent_elsewhere; /* recorder time of exited threads and the sampler */

static HtRecStream *control;       /* stream 0 */
static HtRecStream *late;          /* events of threads after their exit destructor */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static HtRecThread *threads_active; /* linked through stream.next */
static HtRecThread *threads_free;   /* linked through next_free */
static uint32_t next_stream_id = 1;
static pthread_key_t thread_key;

static pthread_t sampler;
static bool sampler_running;
static _Atomic pid_t sampler_tid; /* the scan of --graph never stops the sampler */
static _Atomic bool sampler_stop;

static __thread HtRecThread *tls_thread __attribute__ ((tls_model ("initial-exec")));
static __thread int tls_exited __attribute__ ((tls_model ("initial-exec")));

/* ---------------------------------------------------------------------------------------
 * Small utilities
 */
static void
say (const char *msg)
{
  (void) !write (2, msg, strlen (msg));
}

void
ht_rec_fail (const char *what, int err)
{
  int expected = HT_REC_ON;
  if (!atomic_compare_exchange_strong (&ht_rec_state, &expected, HT_REC_OFF))
    return;
  say ("heaptrail: ");
  say (what);
  say (": ");
  say (strerror (err));
  say ("; recording stopped\n");
}

/* Our own descriptors are closed with the system call: the close() this library exports
 * refuses to close the log. */
void
ht_rec_close (int fd)
{
  syscall (SYS_close, fd);
}

static int move_fd_high (int fd);

/* The program closed our descriptor behind our back (a raw close_range syscall, say):
 * open the log again, appending.  The descriptor lives at a high number, so it is not
 * likely to have been reused by the program in the meantime. */
static bool
reopen_log (void)
{
  int fd = open (log_path, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0)
    return false;
  log_fd = move_fd_high (fd);
  return true;
}

static bool
write_all (const void *data, size_t len)
{
  const uint8_t *p = data;
  bool reopened = false;
  while (len > 0)
    {
      ssize_t n = write (log_fd, p, len);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno == EBADF && !reopened && reopen_log ())
            {
              reopened = true;
              continue;
            }
          ht_rec_fail ("cannot write the log", errno);
          return false;
        }
      p += n;
      len -= (size_t) n;
    }
  return true;
}

/* A header and a payload with one writev, so that O_APPEND keeps the chunk whole. */
static void
write_chunk (struct iovec iov[2])
{
  size_t total = iov[0].iov_len + iov[1].iov_len;
  ssize_t n;
  do
    n = writev (log_fd, iov, 2);
  while (n < 0 && errno == EINTR);
  if (n == (ssize_t) total)
    return;
  if (n < 0 && !(errno == EBADF && reopen_log ()))
    {
      ht_rec_fail ("cannot write the log", errno);
      return;
    }
  if (n < 0)
    n = 0;
  /* a short write (disk full?): finish byte-wise, or fail trying */
  size_t done = (size_t) n;
  if (done < iov[0].iov_len)
    {
      if (!write_all ((uint8_t *) iov[0].iov_base + done, iov[0].iov_len - done))
        return;
      done = iov[0].iov_len;
    }
  write_all ((uint8_t *) iov[1].iov_base + (done - iov[0].iov_len),
             iov[1].iov_len - (done - iov[0].iov_len));
}

/* ---------------------------------------------------------------------------------------
 * Streams
 */
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
static void
stream_flush (HtRecStream *s)
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
          write_chunk (iov);
          ht_rec_zstd_release (slot);
        }
      else
        {
          memcpy (s->buf, &h, sizeof h);
          write_all (s->buf, sizeof h + s->len);
        }
    }
  s->len = 0;
  s->last_ptr = 0;
  memset (s->recent, 0, sizeof s->recent);
  s->base_stamp = s->last_stamp;
}

/* Room for `need` bytes; flushes a full buffer first.  Caller holds the lock. */
uint8_t *
ht_rec_stream_reserve (HtRecStream *s, size_t need)
{
  if (s->len + need > HT_REC_BUFFER_SIZE)
    stream_flush (s);
  return s->buf + sizeof (HtChunkHeader) + s->len;
}

static inline void
stream_commit (HtRecStream *s, const uint8_t *end)
{
  s->len = (size_t) (end - (s->buf + sizeof (HtChunkHeader)));
}

static HtRecStream *
stream_new (uint32_t id)
{
  HtRecStream *s = ht_rec_mmap (sizeof *s);
  if (s)
    s->id = id;
  return s;
}

HtRecStream *
ht_rec_control_stream (void)
{
  return control;
}

/* Appends to the control stream a record of a tag, a stamp and `len` bytes of text (a
 * snapshot's label, the program's suppressions). */
void
ht_rec_control_put_text (uint8_t tag, const char *text, size_t len)
{
  HtRecStream *s = control;
  ht_rec_stream_lock (s);
  uint8_t *p = ht_rec_stream_reserve (s, HT_REC_RECORD_MAX + len);
  *p++ = tag;
  p = ht_rec_put_stamp (s, p, ht_rec_stamp ());
  stream_commit (s, ht_bytes_put (p, text, len));
  ht_rec_stream_unlock (s);
}

/* Appends a record that is a tag and a stamp only. */
static void
stream_put_mark (HtRecStream *s, uint8_t tag)
{
  ht_rec_stream_lock (s);
  uint8_t *p = ht_rec_stream_reserve (s, HT_REC_RECORD_MAX);
  *p++ = tag;
  p = ht_rec_put_stamp (s, p, ht_rec_stamp ());
  stream_commit (s, p);
  ht_rec_stream_unlock (s);
}

/* ---------------------------------------------------------------------------------------
 * Threads
 */
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
  stream_put_mark (&t->stream, HT_REC_THREAD_END);
  pthread_mutex_lock (&registry_lock);
  ht_rec_stream_lock (&t->stream);
  stream_flush (&t->stream);
  ht_rec_stream_unlock (&t->stream);
  HtRecThread **pp = &threads_active;
  while (*pp && *pp != t)
    pp = (HtRecThread **) &(*pp)->stream.next;
  if (*pp)
    *pp = (HtRecThread *) t->stream.next;
  atomic_fetch_add (&spent_elsewhere, atomic_load (&t->stream.spent));
  t->next_free = threads_free;
  threads_free = t;
  pthread_mutex_unlock (&registry_lock);
  tls_thread = NULL;
  tls_exited = 1;
  if (entered)
    ht_rec_guard_leave ();
}

/* The calling thread's stream, created on its first event. */
static HtRecStream *
thread_stream (void)
{
  HtRecThread *t = tls_thread;
  if (HT_REC_LIKELY (t != NULL))
    return &t->stream;
  if (tls_exited)
    return late;

  pthread_mutex_lock (&registry_lock);
  t = threads_free;
  if (t)
    {
      threads_free = t->next_free;
      uint32_t id = t->stream.id;
      memset (&t->stream, 0, sizeof t->stream);
      t->stream.id = id;
      t->depth = 0;
      memset (t->cache, 0, sizeof t->cache);
    }
  else
    {
      t = ht_rec_mmap (sizeof *t);
      if (t)
        t->stream.id = next_stream_id++;
    }
  if (t)
    {
      t->stream.next = (HtRecStream *) threads_active;
      threads_active = t;
    }
  pthread_mutex_unlock (&registry_lock);
  if (!t)
    return late;

  t->stream.base_stamp = t->stream.last_stamp = ht_rec_stamp ();
  /* the first event sets the thread up (mmap, libunwind's cache): timing it and counting it
   * 64 times would swamp short runs, so the sampling starts with the next one */
  t->stream.tick = 1;
  tls_thread = t;
  pthread_setspecific (thread_key, t);

  HtRecStream *s = &t->stream;
  ht_rec_stream_lock (s);
  uint8_t *p = ht_rec_stream_reserve (s, HT_REC_RECORD_MAX);
  *p++ = HT_REC_THREAD;
  p = ht_rec_put_stamp (s, p, ht_rec_stamp ());
  p += ht_varint_put (p, (uint64_t) ht_rec_gettid ());
  stream_commit (s, p);
  ht_rec_stream_unlock (s);
  return s;
}

/* ---------------------------------------------------------------------------------------
 * Events
 */
void
ht_rec_on_alloc (void *ptr, size_t size)
{
  HtRecStream *s = thread_stream ();
  /* The recorder's own cost is sampled: one event in 64 is timed from here to its stamp
   * and counted 64 times, which is unbiased and keeps fences off the other 63. */
  bool timed = (s->tick++ % HT_REC_TIMING_EVERY) == 0;
  uint64_t t0 = timed ? ht_rec_stamp_fenced () : 0;
  uint32_t node = tls_thread ? ht_rec_trace_capture (tls_thread) : 0;
  ht_rec_stream_lock (s);
  uint8_t *p = ht_rec_stream_reserve (s, HT_REC_RECORD_MAX);
  uint64_t stamp = ht_rec_stamp ();
  unsigned slot = ht_recent_slot ((uintptr_t) ptr);
  if (s->recent[slot] == (uintptr_t) ptr)
    {
      *p++ = HT_REC_ALLOC_SLOT;
      p = ht_rec_put_stamp (s, p, stamp);
      *p++ = (uint8_t) slot;
      s->last_ptr = (uintptr_t) ptr;
    }
  else
    {
      *p++ = HT_REC_ALLOC;
      p = ht_rec_put_stamp (s, p, stamp);
      p = ht_rec_put_ptr (s, p, (uintptr_t) ptr);
    }
  p += ht_varint_put (p, size);
  p += ht_varint_put (p, node);
  stream_commit (s, p);
  ht_rec_stream_unlock (s);
  if (timed)
    atomic_store_explicit (&s->spent, s->spent + (ht_rec_stamp_fenced () - t0) * HT_REC_TIMING_EVERY,
                           memory_order_relaxed);
}

static void
put_ptr_event (uint8_t tag, void *ptr)
{
  HtRecStream *s = thread_stream ();
  bool timed = (s->tick++ % HT_REC_TIMING_EVERY) == 0;
  uint64_t t0 = timed ? ht_rec_stamp_fenced () : 0;
  ht_rec_stream_lock (s);
  uint8_t *p = ht_rec_stream_reserve (s, HT_REC_RECORD_MAX);
  uint64_t stamp = ht_rec_stamp ();
  unsigned slot = ht_recent_slot ((uintptr_t) ptr);
  if (tag == HT_REC_FREE && s->recent[slot] == (uintptr_t) ptr)
    {
      *p++ = (uint8_t) (HT_REC_FREE_SLOT | slot);
      p = ht_rec_put_stamp (s, p, stamp);
      s->last_ptr = (uintptr_t) ptr;
    }
  else
    {
      *p++ = tag;
      p = ht_rec_put_stamp (s, p, stamp);
      p = ht_rec_put_ptr (s, p, (uintptr_t) ptr);
    }
  stream_commit (s, p);
  ht_rec_stream_unlock (s);
  if (timed)
    atomic_store_explicit (&s->spent, s->spent + (ht_rec_stamp_fenced () - t0) * HT_REC_TIMING_EVERY,
                           memory_order_relaxed);
}

void
ht_rec_on_free (void *ptr)
{
  put_ptr_event (HT_REC_FREE, ptr);
}

/* A type for a block, in the calling thread's stream: after the block's ALLOC there. */
void
ht_rec_on_tag (const void *ptr, const char *type)
{
  size_t len = strnlen (type, 255);
  HtRecStream *s = thread_stream ();
  ht_rec_stream_lock (s);
  uint8_t *p = ht_rec_stream_reserve (s, HT_REC_RECORD_MAX + len);
  *p++ = HT_REC_TAG;
  p = ht_rec_put_stamp (s, p, ht_rec_stamp ());
  p = ht_rec_put_ptr (s, p, (uintptr_t) ptr);
  stream_commit (s, ht_bytes_put (p, type, len));
  ht_rec_stream_unlock (s);
}

void
ht_rec_on_unfree (void *ptr)
{
  put_ptr_event (HT_REC_UNFREE, ptr);
}

/* ---------------------------------------------------------------------------------------
 * Sampler: time and RSS every 10 ms, then flush every stream and promise a SYNC.
 */
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

/* Recorder time so far, in stamp units, over every thread and the sampler. */
static uint64_t
recorder_time (void)
{
  uint64_t total = atomic_load (&spent_elsewhere) + atomic_load (&late->spent);
  pthread_mutex_lock (&registry_lock);
  for (HtRecThread *t = threads_active; t; t = (HtRecThread *) t->stream.next)
    total += atomic_load_explicit (&t->stream.spent, memory_order_relaxed);
  pthread_mutex_unlock (&registry_lock);
  return total;
}

static void
write_sample (uint64_t stamp)
{
  uint64_t spent = recorder_time ();
  HtRecStream *s = control;
  ht_rec_stream_lock (s);
  uint8_t *p = ht_rec_stream_reserve (s, HT_REC_RECORD_MAX);
  *p++ = HT_REC_SAMPLE;
  p = ht_rec_put_stamp (s, p, stamp);
  p += ht_varint_put (p, ht_rec_mono_ns () - start_mono_ns);
  p += ht_varint_put (p, read_rss ());
  p += ht_varint_put (p, ht_rec_own_bytes ());
  p += ht_varint_put (p, spent);
  stream_commit (s, p);
  ht_rec_stream_unlock (s);
}

/* Flushes every stream; everything stamped before `before` is then in the file. */
static void
flush_all (uint64_t before)
{
  pthread_mutex_lock (&registry_lock);
  for (HtRecThread *t = threads_active; t; t = (HtRecThread *) t->stream.next)
    {
      ht_rec_stream_lock (&t->stream);
      stream_flush (&t->stream);
      ht_rec_stream_unlock (&t->stream);
    }
  ht_rec_stream_lock (late);
  stream_flush (late);
  ht_rec_stream_unlock (late);
  pthread_mutex_unlock (&registry_lock);

  HtRecStream *s = control;
  ht_rec_stream_lock (s);
  uint8_t *p = ht_rec_stream_reserve (s, HT_REC_RECORD_MAX);
  *p++ = HT_REC_SYNC;
  p = ht_rec_put_stamp (s, p, before);
  stream_commit (s, p);
  stream_flush (s);
  ht_rec_stream_unlock (s);
}

/* Snapshots from outside.  `heaptrail snapshot PID [LABEL]` leaves a request file,
 * heaptrail-snapshot.PID in $XDG_RUNTIME_DIR or /tmp, which the sampler looks for every
 * 10 ms: no signal, so no blocking call of the program is interrupted.  `kill -USR2 PID`
 * works too when the program does not use SIGUSR2 itself: the handler only counts.  The
 * file must be ours and a regular file; it is read once (the label) and removed. */
static _Atomic unsigned snapshot_requests;
static unsigned snapshot_served;

static void
on_sigusr2 (int sig)
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

static void *
sampler_main (void *arg)
{
  (void) arg;
  ht_rec_guard_forever ();
  atomic_store (&sampler_tid, ht_rec_gettid ());
  while (!atomic_load (&sampler_stop))
    {
      struct timespec ts = { 0, 10 * 1000 * 1000 };
      nanosleep (&ts, NULL);
      if (atomic_load (&ht_rec_state) != HT_REC_ON)
        break;
      uint64_t now = ht_rec_stamp ();
      char request[PATH_MAX];
      if (request_path (request, sizeof request) && access (request, F_OK) == 0
          && snapshot_served == atomic_load (&snapshot_requests))
        atomic_fetch_add (&snapshot_requests, 1);
      while (snapshot_served != atomic_load (&snapshot_requests))
        {
          ht_rec_guard_leave (); /* heaptrail_rec_snapshot takes the guard itself */
          serve_snapshot_request ();
          ht_rec_guard_forever ();
          snapshot_served++;
        }
      ht_rec_modules_refresh ();
      write_sample (now);
      flush_all (now);
      atomic_fetch_add (&spent_elsewhere, ht_rec_stamp () - now);
    }
  return NULL;
}

/* The sampler runs on a stack the recorder maps itself, so that the heap scan of --graph
 * knows it for the recorder's memory and never reads it as the program's. */
#define SAMPLER_STACK (256u * 1024u)

static bool
start_sampler (void)
{
  static void *stack;
  if (!stack)
    stack = ht_rec_mmap (SAMPLER_STACK);
  pthread_attr_t attr;
  if (!stack || pthread_attr_init (&attr) != 0)
    return false;
  bool ok = pthread_attr_setstack (&attr, stack, SAMPLER_STACK) == 0
            && pthread_create (&sampler, &attr, sampler_main, NULL) == 0;
  pthread_attr_destroy (&attr);
  return ok;
}

/* ---------------------------------------------------------------------------------------
 * Lifecycle
 */

static int
move_fd_high (int fd)
{
  struct rlimit rl;
  if (getrlimit (RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < 64)
    return fd;
  int high = fcntl (fd, F_DUPFD_CLOEXEC, (int) (rl.rlim_cur > 4096 ? 4000 : rl.rlim_cur - 32));
  if (high < 0)
    return fd;
  ht_rec_close (fd);
  return high;
}

static char cmdline[16384];

static bool
write_header (void)
{
  char exe[PATH_MAX];
  ssize_t exe_len = (ssize_t) ht_rec_program_path (exe, sizeof exe);
  ssize_t cmd_len = (ssize_t) ht_rec_read_cmdline (cmdline, sizeof cmdline);

  struct timespec rt;
  clock_gettime (CLOCK_REALTIME, &rt);
  recorded_pid = getpid ();
  HtFileHeader h = {
    .version = HT_FORMAT_VERSION,
    .header_size = sizeof h,
    .pid = (uint32_t) getpid (),
    .ppid = (uint32_t) getppid (),
    .clock = ht_rec_use_tsc ? HT_CLOCK_TSC : HT_CLOCK_MONOTONIC,
    .stamp_shift = ht_rec_use_tsc ? HT_STAMP_SHIFT_TSC : HT_STAMP_SHIFT_NS,
    .max_frames = (uint8_t) ht_rec_max_frames,
    .start_unix_ns = (uint64_t) rt.tv_sec * 1000000000u + (uint64_t) rt.tv_nsec,
    .start_stamp = ht_rec_stamp (),
    .exe_len = (uint32_t) exe_len,
    .cmdline_len = (uint32_t) cmd_len,
  };
  memcpy (h.magic, HT_FILE_MAGIC, sizeof h.magic);
  control->base_stamp = control->last_stamp = h.start_stamp;
  return write_all (&h, sizeof h) && write_all (exe, (size_t) exe_len)
         && write_all (cmdline, (size_t) cmd_len);
}

/* An exec'd image that goes on with the log of the one before: IMAGE names the new
 * program, in place of a header (ht-format.h). */
static bool
write_image (void)
{
  char exe[PATH_MAX];
  size_t exe_len = ht_rec_program_path (exe, sizeof exe);
  size_t cmd_len = ht_rec_read_cmdline (cmdline, sizeof cmdline);
  recorded_pid = getpid ();
  HtRecStream *s = control;
  s->base_stamp = s->last_stamp = ht_rec_stamp ();
  ht_rec_stream_lock (s);
  /* one record, one chunk: 4 KiB of path and 16 KiB of arguments fit a 64 KiB buffer */
  uint8_t *p = ht_rec_stream_reserve (s, HT_REC_RECORD_MAX + exe_len + cmd_len);
  *p++ = HT_REC_IMAGE;
  p = ht_rec_put_stamp (s, p, ht_rec_stamp ());
  p += ht_varint_put (p, (uint64_t) getpid ());
  p = ht_bytes_put (p, exe, exe_len);
  stream_commit (s, ht_bytes_put (p, cmdline, cmd_len));
  stream_flush (s);
  ht_rec_stream_unlock (s);
  return atomic_load (&ht_rec_state) == HT_REC_ON;
}

/* heaptrail.PROG.PID.htr in log_dir, or .2, .3 ... when a previous image of this process
 * (before an exec) already wrote that name. */
static int
open_default_log (void)
{
  char exe[PATH_MAX];
  ht_rec_program_path (exe, sizeof exe);
  const char *base = strrchr (exe, '/');
  base = base ? base + 1 : "prog";
  for (int i = 1; i < 1000; i++)
    {
      int n = i == 1 ? snprintf (log_path, sizeof log_path, "%s/heaptrail.%s.%d.htr", log_dir,
                                 base, (int) getpid ())
                     : snprintf (log_path, sizeof log_path, "%s/heaptrail.%s.%d.%d.htr",
                                 log_dir, base, (int) getpid (), i);
      if (n < 0 || (size_t) n >= sizeof log_path)
        {
          errno = ENAMETOOLONG;
          return -1;
        }
      int fd = open (log_path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
      if (fd >= 0 || errno != EEXIST)
        return fd;
    }
  errno = EEXIST;
  return -1;
}

/* Opens HEAPTRAIL_OUTPUT, or heaptrail.PROG.PID.htr in HEAPTRAIL_DIR (default: the current
 * directory).  When exec'd programs are followed, HEAPTRAIL_OUTPUT names only the first
 * image's log: it is blanked in place (no allocation) so the next image picks its own name.
 * Returns false, with a message, when recording cannot start. */
static bool continuing; /* this image goes on with the log of the image before it */

static bool
open_log (void)
{
  char *out = getenv ("HEAPTRAIL_OUTPUT");
  const char *cont = getenv ("HEAPTRAIL_CONTINUE");
  int fd;
  if (cont && *cont && strlen (cont) < sizeof log_path)
    {
      memcpy (log_path, cont, strlen (cont) + 1);
      fd = open (log_path, O_WRONLY | O_APPEND | O_CLOEXEC);
      continuing = fd >= 0;
      if (out && follow_exec)
        *out = 0;
    }
  else if (out && *out)
    {
      int n = snprintf (log_path, sizeof log_path, "%s", out);
      if (n < 0 || (size_t) n >= sizeof log_path)
        {
          say ("heaptrail: HEAPTRAIL_OUTPUT is too long; not recording\n");
          return false;
        }
      fd = open (log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
      if (follow_exec)
        *out = 0;
    }
  else
    fd = open_default_log ();
  if (fd < 0)
    {
      say ("heaptrail: cannot open ");
      say (log_path);
      say (": ");
      say (strerror (errno));
      say ("; not recording\n");
      return false;
    }
  log_fd = move_fd_high (fd);
  return true;
}

/* Writes END, after flushing every stream: the log is complete up to here. */
static void
write_end (uint64_t reason)
{
  uint64_t now = ht_rec_stamp ();
  write_sample (now);
  flush_all (now);
  HtRecStream *s = control;
  ht_rec_stream_lock (s);
  uint8_t *p = ht_rec_stream_reserve (s, HT_REC_RECORD_MAX);
  *p++ = HT_REC_END;
  p = ht_rec_put_stamp (s, p, ht_rec_stamp ());
  p += ht_varint_put (p, reason);
  stream_commit (s, p);
  stream_flush (s);
  ht_rec_stream_unlock (s);
}

/* Called by the process hooks (ht-rec-process.c) just before the image goes away:
 * exec, _exit, abort.  For exec the recording goes on if the call fails. */
void
ht_rec_before_leaving (uint64_t reason)
{
  if (atomic_load (&ht_rec_state) != HT_REC_ON)
    return;
  /* A vfork child shares our memory but is not the recorded process: its exec or _exit
   * must not end the parent's log. */
  if (getpid () != recorded_pid)
    return;
  /* Called from a signal handler that interrupted this thread inside the recorder (its
   * stream lock may be held): writing now could deadlock, so leave the last 10 ms. */
  if (!ht_rec_guard_enter ())
    return;
  write_end (reason);
  if (reason != HT_END_EXEC) /* _exit, abort: nothing more comes (abort's SIGABRT included) */
    {
      atomic_store (&finished, true);
      atomic_store (&ht_rec_state, HT_REC_OFF);
    }
  ht_rec_guard_leave ();
}

/* Called by the handler of a signal that is about to end the process (ht-rec-signals.c):
 * END names the signal, unless the log already ended (abort wrote its own) or this
 * thread was inside the recorder when the signal came (see above). */
void
ht_rec_before_dying (int sig)
{
  if (atomic_load (&finished) || atomic_load (&ht_rec_state) != HT_REC_ON
      || getpid () != recorded_pid || !ht_rec_guard_enter ())
    return;
  atomic_store (&finished, true);
  write_end (HT_END_SIGNAL + (uint64_t) sig);
  atomic_store (&ht_rec_state, HT_REC_OFF);
  ht_rec_guard_leave ();
}

/* Whether an exec by this process starts a recorded image (it then needs our variables). */
bool
ht_rec_follows_exec (void)
{
  return follow_exec && atomic_load (&ht_rec_state) == HT_REC_ON
         && (getpid () == recorded_pid || follow_fork);
}

/* The variables that let the next image go on with this log, where the last ids left off
 * ("NAME=value" strings, NULL-terminated; valid until the next call). */
const char *const *
ht_rec_continue_vars (void)
{
  static char text[PATH_MAX + 192];
  static const char *vars[5];
  int a = snprintf (text, sizeof text, "HEAPTRAIL_CONTINUE=%s", log_path);
  if (a < 0 || (size_t) a + 64 >= sizeof text)
    return NULL;
  char *nodes = text + a + 1;
  int b = snprintf (nodes, 40, "HEAPTRAIL_NODE_BASE=%u", (unsigned) ht_rec_trace_next_node ());
  char *streams = nodes + b + 1;
  int c = snprintf (streams, 40, "HEAPTRAIL_STREAM_BASE=%u", (unsigned) next_stream_id);
  /* SAMPLE times count from the first image's start, in every image */
  char *start = streams + c + 1;
  snprintf (start, 48, "HEAPTRAIL_START_NS=%llu", (unsigned long long) start_mono_ns);
  vars[0] = text;
  vars[1] = nodes;
  vars[2] = streams;
  vars[3] = start;
  vars[4] = NULL;
  return vars;
}

pid_t
ht_rec_sampler_tid (void)
{
  return sampler_running ? atomic_load (&sampler_tid) : 0;
}

int
ht_rec_log_fd (void)
{
  return atomic_load (&ht_rec_state) == HT_REC_ON ? log_fd : -1;
}

/* The program wants our descriptor's number (dup2 onto it): move the log elsewhere. */
void
ht_rec_log_fd_move (void)
{
  int fd = fcntl (log_fd, F_DUPFD_CLOEXEC, log_fd + 1);
  if (fd < 0)
    fd = fcntl (log_fd, F_DUPFD_CLOEXEC, 3);
  if (fd >= 0)
    {
      int old = log_fd;
      log_fd = fd;
      ht_rec_close (old);
    }
}

static bool start_recording (void);

static void
at_fork_prepare (void)
{
  bool entered = ht_rec_guard_enter ();
  if (atomic_load (&ht_rec_state) == HT_REC_ON)
    flush_all (ht_rec_stamp ());
  ht_rec_trace_lock_all ();
  pthread_mutex_lock (&registry_lock);
  if (entered)
    ht_rec_guard_leave ();
}

static void
at_fork_parent (void)
{
  pthread_mutex_unlock (&registry_lock);
  ht_rec_trace_unlock_all ();
}

/* Only the forking thread lives on in the child: every other stream is dropped, and every
 * spin lock released (the sampler may have held one).  Without --follow-fork the child is
 * not recorded; with it, it starts a log of its own with a fresh trace tree. */
static void
at_fork_child (void)
{
  pthread_mutex_unlock (&registry_lock);
  ht_rec_trace_unlock_all ();
  ht_rec_live_after_fork ();
  if (log_fd >= 0)
    ht_rec_close (log_fd);
  log_fd = -1;
  sampler_running = false;
  bool was_on = atomic_load (&ht_rec_state) == HT_REC_ON;
  atomic_store (&ht_rec_state, HT_REC_OFF);
  if (!was_on || !follow_fork || atomic_load (&finished))
    {
      atomic_store (&finished, true);
      return;
    }

  HtRecThread *self = tls_thread;
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
  HtRecStream *streams[] = { control, late, self ? &self->stream : NULL };
  for (unsigned i = 0; i < sizeof streams / sizeof streams[0]; i++)
    if (streams[i])
      {
        atomic_store (&streams[i]->lock, 0);
        streams[i]->len = 0;
        streams[i]->last_ptr = 0;
        memset (streams[i]->recent, 0, sizeof streams[i]->recent);
      }
  if (self)
    {
      self->stream.next = NULL;
      threads_active = self;
      self->depth = 0;
      atomic_store (&self->stream.spent, 0);
    }
  atomic_store (&spent_elsewhere, 0);
  ht_rec_trace_reset ();
  ht_rec_python_after_fork (self ? &self->stream : NULL);
  start_mono_ns = ht_rec_mono_ns ();
  int fd = open_default_log ();
  if (fd < 0)
    return;
  log_fd = move_fd_high (fd);
  if (!start_recording ())
    return;
  if (self)
    {
      /* the thread keeps its stream; the new log must say whose it is */
      HtRecStream *st = &self->stream;
      st->base_stamp = st->last_stamp = ht_rec_stamp ();
      ht_rec_stream_lock (st);
      uint8_t *p = ht_rec_stream_reserve (st, HT_REC_RECORD_MAX);
      *p++ = HT_REC_THREAD;
      p = ht_rec_put_stamp (st, p, ht_rec_stamp ());
      p += ht_varint_put (p, (uint64_t) ht_rec_gettid ());
      stream_commit (st, p);
      ht_rec_stream_unlock (st);
    }
  sampler_stop = false;
  sampler_running = start_sampler ();
}

/* Header, module map and a first sample: the start of a log. */
static bool
start_recording (void)
{
  atomic_store (&ht_rec_state, HT_REC_ON);
  if (!(continuing ? write_image () : write_header ()))
    return false;
  ht_rec_modules_write ();
  write_sample (ht_rec_stamp ());
  return true;
}

static bool
env_flag (const char *name)
{
  const char *v = getenv (name);
  return v && *v && strcmp (v, "0") != 0;
}

/* Called by the first hook and by the constructor; only the first call does the work. */
void
ht_rec_init (void)
{
  int expected = 0;
  if (!atomic_compare_exchange_strong (&init_done, &expected, 1))
    return;

  const char *frames = getenv ("HEAPTRAIL_FRAMES");
  if (frames && *frames)
    {
      long n = strtol (frames, NULL, 10);
      ht_rec_max_frames = n < 1 ? 1 : n > HT_REC_MAX_FRAMES ? HT_REC_MAX_FRAMES : (int) n;
    }
  const char *clock = getenv ("HEAPTRAIL_CLOCK"); /* "monotonic" forces the fallback */
  ht_rec_clock_init (clock && strcmp (clock, "monotonic") == 0);
  start_mono_ns = ht_rec_mono_ns ();
  follow_fork = env_flag ("HEAPTRAIL_FOLLOW_FORK");
  follow_exec = env_flag ("HEAPTRAIL_FOLLOW_EXEC");
  ht_rec_live_init (env_flag ("HEAPTRAIL_GRAPH"));
  const char *dir = getenv ("HEAPTRAIL_DIR");
  if (dir && *dir && strlen (dir) < sizeof log_dir)
    memcpy (log_dir, dir, strlen (dir) + 1);
  else if (!getcwd (log_dir, sizeof log_dir))
    snprintf (log_dir, sizeof log_dir, ".");

  /* an exec'd image going on with the log: its ids follow the image before it */
  const char *base = getenv ("HEAPTRAIL_STREAM_BASE");
  if (base && *base)
    next_stream_id = (uint32_t) strtoul (base, NULL, 10);
  base = getenv ("HEAPTRAIL_NODE_BASE");
  if (base && *base)
    ht_rec_trace_set_next_node ((uint32_t) strtoul (base, NULL, 10));
  base = getenv ("HEAPTRAIL_START_NS");
  if (base && *base)
    start_mono_ns = strtoull (base, NULL, 10);
  control = stream_new (HT_CONTROL_STREAM);
  late = stream_new (UINT32_MAX);
  if (!control || !late || pthread_key_create (&thread_key, thread_exit) != 0)
    {
      say ("heaptrail: cannot set up the recorder; not recording\n");
      atomic_store (&init_done, 2);
      return;
    }
  late->id = next_stream_id++;
  bool opened = open_log ();
  /* our variables read, the program gets its own environment back */
  ht_rec_python_configure ();
  ht_rec_env_restore (log_dir, follow_fork && follow_exec);
  if (opened)
    ht_rec_python_setup ();
  if (!opened)
    {
      atomic_store (&init_done, 2);
      return;
    }
  ht_rec_trace_init ();
  if (start_recording ())
    pthread_atfork (at_fork_prepare, at_fork_parent, at_fork_child);
  atomic_store (&init_done, 2);
}

static void finish_recording (void);


/* Our end of the run, registered with no DSO handle so that it is not tied to our own
 * finalizer: exit() runs handlers in reverse order of registration, and ld.so's _dl_fini
 * (which runs every library's destructors) is registered by __libc_start_main after all
 * library constructors, ours included.  So this runs after the last destructor, and the
 * frees those destructors make are recorded. */
extern int __cxa_atexit (void (*fn) (void *), void *arg, void *dso_handle);
static bool exit_handler_registered;

static void
at_last_exit (void *unused)
{
  (void) unused;
  finish_recording ();
}

__attribute__ ((constructor)) static void
ht_rec_constructor (void)
{
  bool entered = ht_rec_guard_enter ();
  ht_rec_init ();
  if (atomic_load (&ht_rec_state) == HT_REC_ON && !sampler_running)
    {
      ht_rec_zstd_init ();
      ht_rec_signals_init (on_sigusr2);
      if (ht_rec_gettid () == getpid ())
        thread_stream (); /* the main thread counts even if it never allocates */
      sampler_running = start_sampler ();
      exit_handler_registered = __cxa_atexit (at_last_exit, NULL, NULL) == 0;
    }
  if (entered)
    ht_rec_guard_leave ();
}

/* Stop the sampler, scan the heap left at exit (--graph), flush everything, write END.
 * Nothing is recorded after this. */
static void
finish_recording (void)
{
  bool expected = false;
  if (!atomic_compare_exchange_strong (&finished, &expected, true))
    return;
  if (atomic_load (&ht_rec_state) != HT_REC_ON)
    return;
  bool entered = ht_rec_guard_enter ();
  if (sampler_running)
    {
      atomic_store (&sampler_stop, true);
      pthread_join (sampler, NULL);
      sampler_running = false;
    }
  ht_rec_live_scan_at_exit (); /* the blocks left at exit, before END */
  ht_rec_write_program_suppressions ();
  write_end (HT_END_EXIT);
  atomic_store (&ht_rec_state, HT_REC_OFF);
  if (entered)
    ht_rec_guard_leave ();
}

/* Our finalizer only ends the recording when the exit handler could not be registered:
 * otherwise the destructors of libraries finalized after us still have frees to record. */
__attribute__ ((destructor)) static void
ht_rec_destructor (void)
{
  if (!exit_handler_registered)
    finish_recording ();
}
