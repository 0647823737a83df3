/* ht-rec-world.c - stopping the program's threads for the heap scan, and finding its roots.
 *
 * Stopping: every thread of the process but the caller and the recorder's sampler gets a
 * real-time signal (the highest one nobody handles).  Its handler notes where the thread's
 * stack is live (the address of a local: the signal frame, and with it every register the
 * thread held, lies above it) and its thread pointer, says "stopped" and sleeps on a futex
 * until the scan is over.  /proc/self/task is read again until a round finds no new thread,
 * so threads created meanwhile are caught.  A thread that never answers (it blocks the
 * signal) is counted as missed after a second; its stack is then not scanned.
 *
 * The handler blocks every signal while it waits, so no program handler runs in a stopped
 * thread.  SA_RESTART restarts most interrupted system calls; sleeps (nanosleep) return
 * early with EINTR as with any signal.  So this is the fallback: ht-rec-tracer.c stops the
 * threads with ptrace where it may, and nothing in them notices.
 *
 * Roots (memcheck's root set, less the program's own anonymous mmaps): the writable
 * segments of every loaded object but this library (its .data and .bss, from the program
 * headers), each stopped thread's stack from its live end up, and the memory around each
 * thread pointer (static TLS).  Only what /proc/self/maps shows readable and writable is
 * read.  Everything here uses system calls only: no allocation, no lock a stopped thread
 * could hold.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ht-rec-private.h"

enum
{
  HT_REC_STOP_SIGNALLED = 0,
  HT_REC_STOP_STOPPED = 1,
  HT_REC_STOP_GONE = 2,
};

#define MAX_THREADS 65536

static HtRecWorld *_Atomic current;
static _Atomic uint32_t release_gen; /* futex word: bumped to let the stopped threads go */
static _Atomic size_t departed;
static int stop_signal; /* ours once installed; left installed (see ht_rec_world_stop) */

static long
futex (_Atomic uint32_t *word, int op, uint32_t value)
{
  return syscall (SYS_futex, word, op, value, NULL, NULL, 0);
}

static void
on_stop_signal (int sig, siginfo_t *info, void *context)
{
  (void) sig;
  (void) context;
  int saved_errno = errno;
  HtRecWorld *w = atomic_load (&current);
  if (!w || info->si_pid != getpid ())
    {
      errno = saved_errno;
      return; /* not ours, or late: nothing to do */
    }
  pid_t tid = ht_rec_gettid ();
  HtRecStopped *me = NULL;
  for (size_t i = 0; i < w->n && !me; i++)
    if (w->threads[i].tid == tid)
      me = &w->threads[i];
  if (me)
    {
      volatile uintptr_t here = 0;
      me->sp = (uintptr_t) &here;
      me->tp = (uintptr_t) pthread_self ();
      uint32_t gen = atomic_load (&release_gen);
      atomic_store (&me->state, HT_REC_STOP_STOPPED);
      while (atomic_load (&release_gen) == gen)
        futex (&release_gen, FUTEX_WAIT_PRIVATE, gen);
      atomic_fetch_add (&departed, 1);
    }
  errno = saved_errno;
}

/* Our signal: the one installed before if the program left it to us, else the highest
 * real-time signal without a handler.  The handler stays installed after the scan: a
 * thread that blocked the signal may take it much later, and must then find a handler
 * that does nothing rather than the default action, which would kill the process. */
static int
install_signal (void)
{
  struct sigaction old;
  if (stop_signal && sigaction (stop_signal, NULL, &old) == 0 && (old.sa_flags & SA_SIGINFO)
      && old.sa_sigaction == on_stop_signal)
    return stop_signal;
  for (int sig = SIGRTMAX; sig > SIGRTMIN + 2; sig--)
    if (sigaction (sig, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO)
        && old.sa_handler == SIG_DFL)
      {
        struct sigaction sa = { 0 };
        sa.sa_sigaction = on_stop_signal;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigfillset (&sa.sa_mask);
        if (sigaction (sig, &sa, NULL) == 0)
          return stop_signal = sig;
      }
  return 0;
}

static bool
knows (const HtRecWorld *w, pid_t tid)
{
  for (size_t i = 0; i < w->n; i++)
    if (w->threads[i].tid == tid || w->threads[i].tid == -tid)
      return true;
  return false;
}

/* Gives each thread of process `pid` not in w yet (nor `self`, nor `sampler`) a slot, and
 * passes it to on_new; returns how many were new, or -1.  System calls only, made with
 * ht_rec_sys: the tracer (ht-rec-tracer.c), which shares our memory but not our thread,
 * uses it too. */
long
ht_rec_world_add_threads (HtRecWorld *w, pid_t pid, pid_t self, pid_t sampler,
                          void (*on_new) (HtRecWorld *w, HtRecStopped *t))
{
  char path[64] = "/proc/";
  char *p = path + 6, digits[16];
  int nd = 0;
  for (pid_t v = pid; v > 0; v /= 10)
    digits[nd++] = (char) ('0' + v % 10);
  while (nd > 0)
    *p++ = digits[--nd];
  memcpy (p, "/task", 6);
  long dir = ht_rec_sys (SYS_openat, AT_FDCWD, (long) path, O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                         0, 0);
  if (dir < 0)
    return -1;
  long fresh = 0;
  char buf[4096] __attribute__ ((aligned (8)));
  for (;;)
    {
      long n = ht_rec_sys (SYS_getdents64, dir, (long) buf, sizeof buf, 0, 0);
      if (n <= 0)
        break;
      for (long off = 0; off < n;)
        {
          struct dirent64 *d = (struct dirent64 *) (buf + off);
          off += d->d_reclen;
          pid_t tid = 0;
          for (const char *c = d->d_name; *c >= '0' && *c <= '9'; c++)
            tid = tid * 10 + (*c - '0');
          if (tid <= 0 || tid == self || tid == sampler || knows (w, tid))
            continue;
          if (w->n == w->cap)
            {
              w->missed++;
              continue;
            }
          HtRecStopped *t = &w->threads[w->n];
          memset (t, 0, sizeof *t); /* state: HT_REC_STOP_SIGNALLED */
          t->tid = tid;
          w->n++; /* visible to the signal handler before the signal is sent */
          fresh++;
          on_new (w, t);
        }
    }
  ht_rec_sys (SYS_close, dir, 0, 0, 0, 0);
  return fresh;
}

static void
send_stop_signal (HtRecWorld *w, HtRecStopped *t)
{
  if (syscall (SYS_tgkill, getpid (), t->tid, w->sig) != 0)
    atomic_store (&t->state, HT_REC_STOP_GONE);
}

static uint64_t
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* Waits until every signalled thread stopped or exited; after a second, the ones still
 * signalled count as missed (they block the signal). */
static void
wait_for_threads (HtRecWorld *w)
{
  uint64_t deadline = now_ms () + 1000;
  for (;;)
    {
      bool waiting = false;
      for (size_t i = 0; i < w->n; i++)
        {
          HtRecStopped *t = &w->threads[i];
          if (atomic_load (&t->state) != HT_REC_STOP_SIGNALLED)
            continue;
          if (syscall (SYS_tgkill, getpid (), t->tid, 0) != 0)
            atomic_store (&t->state, HT_REC_STOP_GONE);
          else
            waiting = true;
        }
      if (!waiting)
        return;
      if (now_ms () > deadline)
        {
          for (size_t i = 0; i < w->n; i++)
            {
              int expected = HT_REC_STOP_SIGNALLED;
              if (atomic_compare_exchange_strong (&w->threads[i].state, &expected,
                                                  HT_REC_STOP_GONE))
                {
                  w->threads[i].tid = -w->threads[i].tid; /* a late handler finds no slot */
                  w->missed++;
                }
            }
          return;
        }
      struct timespec ts = { 0, 50 * 1000 };
      nanosleep (&ts, NULL);
    }
}

bool
ht_rec_world_stop (HtRecWorld *w)
{
  memset (w, 0, sizeof *w);
  w->cap = MAX_THREADS;
  w->threads = ht_rec_mmap (w->cap * sizeof *w->threads);
  if (!w->threads)
    return false;
  if (ht_rec_tracer_stop (w))
    return true;
  w->sig = install_signal ();
  if (!w->sig)
    return false;
  atomic_store (&departed, 0);
  atomic_store (&current, w);
  pid_t self = ht_rec_gettid (), sampler = ht_rec_sampler_tid ();
  for (int round = 0; round < 100; round++)
    {
      long fresh = ht_rec_world_add_threads (w, getpid (), self, sampler, send_stop_signal);
      if (fresh < 0)
        break;
      wait_for_threads (w);
      if (fresh == 0)
        break;
    }
  for (size_t i = 0; i < w->n; i++)
    if (atomic_load (&w->threads[i].state) == HT_REC_STOP_STOPPED)
      w->stopped++;
  return true;
}

void
ht_rec_world_resume (HtRecWorld *w)
{
  if (w->traced)
    ht_rec_tracer_resume (w);
  else if (w->threads && w->sig)
    {
      atomic_fetch_add (&release_gen, 1);
      futex (&release_gen, FUTEX_WAKE_PRIVATE, INT32_MAX);
      /* the slots must outlive every handler still reading them */
      while (atomic_load (&departed) < w->stopped)
        {
          struct timespec ts = { 0, 20 * 1000 };
          nanosleep (&ts, NULL);
        }
      atomic_store (&current, NULL);
    }
  if (w->threads)
    ht_rec_munmap (w->threads, w->cap * sizeof *w->threads);
  w->threads = NULL;
}

/* ---------------------------------------------------------------------------------------
 * Address ranges
 */
bool
ht_rec_ranges_add (HtRecRanges *r, uintptr_t start, uintptr_t end, unsigned flags)
{
  if (start >= end)
    return true;
  if (r->n == r->cap)
    {
      size_t cap = r->cap ? r->cap * 2 : 256;
      HtRecRange *t = ht_rec_mmap (cap * sizeof *t);
      if (!t)
        return false;
      if (r->r)
        {
          memcpy (t, r->r, r->n * sizeof *t);
          ht_rec_munmap (r->r, r->cap * sizeof *t);
        }
      r->r = t;
      r->cap = cap;
    }
  r->r[r->n++] = (HtRecRange){ start, end, flags };
  return true;
}

void
ht_rec_ranges_free (HtRecRanges *r)
{
  if (r->r)
    ht_rec_munmap (r->r, r->cap * sizeof *r->r);
  memset (r, 0, sizeof *r);
}

static uintptr_t
parse_hex (const char **s)
{
  uintptr_t v = 0;
  for (;; (*s)++)
    {
      char c = **s;
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0)
        return v;
      v = v * 16 + (uintptr_t) d;
    }
}

/* One line of /proc/self/maps: its range, whether it is readable, and writable, and
 * anonymous (no path, or a name given with prctl). */
typedef struct
{
  uintptr_t start, end;
  bool readable, writable, anon;
} HtRecMapping;

/* Calls `fn` on each mapping, in address order (as the kernel lists them), until it
 * returns false.  No allocation: a stack buffer, and the file read in pieces.  False if
 * the file cannot be read. */
static bool
each_mapping (bool (*fn) (const HtRecMapping *m, void *data), void *data)
{
  int fd = open ("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  char buf[8192];
  size_t have = 0;
  bool more = true;
  while (more)
    {
      ssize_t n = read (fd, buf + have, sizeof buf - have);
      if (n <= 0)
        break;
      have += (size_t) n;
      size_t used = 0;
      for (; more;)
        {
          char *nl = memchr (buf + used, '\n', have - used);
          if (!nl)
            break;
          const char *s = buf + used;
          HtRecMapping m;
          m.start = parse_hex (&s);
          s++; /* '-' */
          m.end = parse_hex (&s);
          s++; /* ' ' */
          m.readable = s[0] == 'r';
          m.writable = s[1] == 'w';
          /* after perms, offset, device and inode comes the path, or nothing */
          for (int field = 0; field < 4 && s < nl; field++)
            {
              while (s < nl && *s != ' ')
                s++;
              while (s < nl && *s == ' ')
                s++;
            }
          m.anon = s == nl || (nl - s >= 6 && memcmp (s, "[anon:", 6) == 0);
          more = fn (&m, data);
          used = (size_t) (nl + 1 - buf);
        }
      if (used == 0 && have == sizeof buf)
        have = 0; /* a line longer than the buffer (a huge path): drop it */
      memmove (buf, buf + used, have - used);
      have -= used;
    }
  syscall (SYS_close, fd);
  return true;
}

typedef struct
{
  HtRecRanges *out;
  bool writable; /* readable and writable ones only; else every readable one */
  bool ok;
} MappingsWanted;

static bool
add_mapping (const HtRecMapping *m, void *data)
{
  MappingsWanted *w = data;
  if (m->readable && (m->writable || !w->writable)
      && !ht_rec_ranges_add (w->out, m->start, m->end, m->anon ? HT_REC_RANGE_ANON : 0))
    w->ok = false;
  return true;
}

/* Every mapping that is readable and writable, in address order. */
bool
ht_rec_rw_mappings (HtRecRanges *out)
{
  MappingsWanted w = { out, true, true };
  return each_mapping (add_mapping, &w) && w.ok;
}

/* Every mapping the process can read, in address order: what a scan may touch. */
bool
ht_rec_readable_mappings (HtRecRanges *out)
{
  MappingsWanted w = { out, false, true };
  return each_mapping (add_mapping, &w) && w.ok;
}

static bool
find_end (const HtRecMapping *m, void *data)
{
  uintptr_t *addr_end = data;
  if (addr_end[0] < m->start || addr_end[0] >= m->end)
    return true;
  addr_end[1] = m->readable ? m->end : 0;
  return false;
}

/* The end of the mapping holding `addr`, or 0.  For a thread's stack top: glibc's
 * pthread_getattr_np allocates (its affinity mask), and an allocation the recorder makes
 * at a random point of a thread's life moves where glibc puts the program's blocks after
 * it; on bench/micro that made glibc trim and grow its heap 20-30% more often (page
 * faults, perf stat), where the same program run bare faults the same count every time. */
uintptr_t
ht_rec_mapping_end (uintptr_t addr)
{
  uintptr_t addr_end[2] = { addr, 0 };
  return each_mapping (find_end, addr_end) ? addr_end[1] : 0;
}

typedef struct
{
  HtRecRanges *out, *self_out;
  uintptr_t self;
  bool ok;
} ModuleScan;

static int
module_data_one (struct dl_phdr_info *info, size_t size, void *data)
{
  (void) size;
  ModuleScan *m = data;
  /* this library's memory is the recorder's: its segments go to `self` (its .bss past the
   * file's last page is an anonymous mapping, which the scan must know to skip) */
  HtRecRanges *to = m->out;
  for (int i = 0; i < info->dlpi_phnum; i++)
    {
      const ElfW (Phdr) *ph = &info->dlpi_phdr[i];
      uintptr_t start = info->dlpi_addr + ph->p_vaddr;
      if (ph->p_type == PT_LOAD && m->self >= start && m->self < start + ph->p_memsz)
        to = m->self_out;
    }
  const char *base = info->dlpi_name ? strrchr (info->dlpi_name, '/') : NULL;
  unsigned flags = base && strncmp (base, "/libc.so", 8) == 0 ? HT_REC_RANGE_LIBC : 0;
  for (int i = 0; i < info->dlpi_phnum; i++)
    {
      const ElfW (Phdr) *ph = &info->dlpi_phdr[i];
      if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
        continue;
      uintptr_t start = info->dlpi_addr + ph->p_vaddr;
      if (!ht_rec_ranges_add (to, start, start + ph->p_memsz, flags))
        m->ok = false;
    }
  return 0;
}

/* The writable segments of every loaded object but this library, and this library's in
 * `self`.  Takes the loader's lock: call it before stopping the world, never while it is
 * stopped. */
bool
ht_rec_module_data (HtRecRanges *out, HtRecRanges *self)
{
  ModuleScan m = { out, self, (uintptr_t) &module_data_one, true };
  dl_iterate_phdr (module_data_one, &m);
  return m.ok;
}
