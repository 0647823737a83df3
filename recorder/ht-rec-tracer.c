/* ht-rec-tracer.c - stopping the program's threads with ptrace, as LeakSanitizer does, so
 * that nothing runs in them: no handler, no interrupted call.
 *
 *   scanning thread                       tracer (clone: same memory, its own process)
 *   ─────────────────                     ─────────────────────────────────────────────
 *   clone ──────────────────────────────▶ waits for `go`
 *   prctl (PR_SET_PTRACER, tracer); go ─▶ for each thread in /proc/PID/task (again until
 *                                           no new one): PTRACE_SEIZE, PTRACE_INTERRUPT,
 *                                           wait for the stop, PTRACE_GETREGS
 *   waits for `stopped` ◀──────────────── stopped
 *   scans (stacks from rsp - 128, the red zone, and each thread's registers)
 *   resume ────────────────────────────▶ PTRACE_DETACH each; exits
 *   reaps the tracer (__WALL: it sends no SIGCHLD, and wait(-1) never sees it)
 *
 * A thread stopped by ptrace is not running a signal handler: a nanosleep or a read in
 * progress is restarted by the kernel where it was, with its time left, so the program
 * cannot tell.  The tracer shares the program's memory and thread pointer, so it makes
 * system calls with the instruction itself (no errno, no libc).
 *
 * Where ptrace is not allowed (yama's ptrace_scope 2 or 3, a seccomp filter, a process
 * already traced by gdb or strace, a non-dumpable one) ht-rec-world.c stops the threads
 * with a signal instead.  x86-64 only; other machines always use the signal.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ht-rec-private.h"

#if defined(__x86_64__)

#define TRACER_STACK (64u * 1024u)
#define RED_ZONE 128 /* below rsp, a leaf function's own: part of the live stack */

enum
{
  TRACER_WAITING = 0, /* for go */
  TRACER_GO = 1,
  TRACER_STOPPED = 2, /* every thread it could stop is stopped */
  TRACER_FAILED = 3,  /* it could not attach to any: use the signal */
  TRACER_RESUME = 4,
  TRACER_DONE = 5,
};

typedef struct
{
  _Atomic uint32_t state; /* futex word */
  pid_t pid, self, sampler;
  HtRecWorld *w;
  size_t attached;
} HtRecTracer;

static void
tracer_wait (_Atomic uint32_t *word, uint32_t while_value)
{
  while (atomic_load (word) == while_value)
    ht_rec_sys (SYS_futex, (long) word, FUTEX_WAIT, (long) while_value, 0, 0);
}

static void
tracer_set (_Atomic uint32_t *word, uint32_t value)
{
  atomic_store (word, value);
  ht_rec_sys (SYS_futex, (long) word, FUTEX_WAKE, INT32_MAX, 0, 0);
}

static void
tracer_sleep_us (long us)
{
  struct timespec ts = { 0, us * 1000 };
  ht_rec_sys (SYS_nanosleep, (long) &ts, 0, 0, 0, 0);
}

/* Seizes and stops one thread, and keeps its registers. */
static void
tracer_stop_one (HtRecTracer *tr, HtRecStopped *t)
{
  if (ht_rec_sys (SYS_ptrace, PTRACE_SEIZE, t->tid, 0, 0, 0) != 0)
    {
      atomic_store (&t->state, 2 /* gone, or not ours to stop */);
      return;
    }
  tr->attached++;
  ht_rec_sys (SYS_ptrace, PTRACE_INTERRUPT, t->tid, 0, 0, 0);
  /* a thread in an uninterruptible sleep may take long to stop: after a second it counts
   * as missed (the tracer's exit detaches it) */
  for (int waited = 0; waited < 20000; waited++)
    {
      int status = 0;
      long r = ht_rec_sys (SYS_wait4, t->tid, (long) &status, __WALL | WNOHANG, 0, 0);
      if (r == t->tid)
        {
          if (WIFEXITED (status) || WIFSIGNALED (status))
            {
              atomic_store (&t->state, 2);
              return;
            }
          if (WIFSTOPPED (status))
            {
              /* stopped on its way to a signal that came meanwhile: the detach delivers
               * it, as if nothing happened */
              if ((status >> 16) != PTRACE_EVENT_STOP)
                t->resig = WSTOPSIG (status);
              struct user_regs_struct regs;
              if (ht_rec_sys (SYS_ptrace, PTRACE_GETREGS, t->tid, 0, (long) &regs, 0) != 0)
                {
                  atomic_store (&t->state, 2);
                  return;
                }
              _Static_assert (sizeof regs / sizeof (uintptr_t) <= HT_REC_REGS, "room");
              memcpy (t->regs, &regs, sizeof regs);
              t->nregs = sizeof regs / sizeof (uintptr_t);
              t->sp = (uintptr_t) regs.rsp - RED_ZONE;
              t->tp = (uintptr_t) regs.fs_base;
              atomic_store (&t->state, 1 /* stopped */);
              return;
            }
        }
      else if (r < 0 && r != -EINTR)
        {
          atomic_store (&t->state, 2);
          return;
        }
      tracer_sleep_us (50);
    }
  t->tid = -t->tid;
  tr->w->missed++;
  atomic_store (&t->state, 2);
}

static HtRecTracer tracer;

static void
tracer_stop_new (HtRecWorld *w, HtRecStopped *t)
{
  (void) w;
  tracer_stop_one (&tracer, t);
}

static int
tracer_main (void *arg)
{
  HtRecTracer *tr = arg;
  tracer_wait (&tr->state, TRACER_WAITING);
  for (int round = 0; round < 100; round++)
    {
      long fresh = ht_rec_world_add_threads (tr->w, tr->pid, tr->self, tr->sampler,
                                             tracer_stop_new);
      if (fresh <= 0)
        break;
    }
  bool any = tr->attached > 0 || tr->w->n == 0;
  tracer_set (&tr->state, any ? TRACER_STOPPED : TRACER_FAILED);
  if (any)
    {
      tracer_wait (&tr->state, TRACER_STOPPED);
      for (size_t i = 0; i < tr->w->n; i++)
        if (atomic_load (&tr->w->threads[i].state) == 1)
          ht_rec_sys (SYS_ptrace, PTRACE_DETACH, tr->w->threads[i].tid, 0, tr->w->threads[i].resig, 0);
    }
  tracer_set (&tr->state, TRACER_DONE);
  return 0;
}

static bool use_signal; /* HEAPTRAIL_STOP=signal */
static void *tracer_stack;
static pid_t tracer_pid;

/* HEAPTRAIL_STOP=signal: always the signal (read before the environment is given back). */
void
ht_rec_tracer_configure (void)
{
  const char *how = getenv ("HEAPTRAIL_STOP");
  use_signal = how && strcmp (how, "signal") == 0;
}

/* Stops every thread but the caller and the sampler; false when ptrace cannot (the caller
 * then uses the signal).  Fills w as ht_rec_world_stop does. */
bool
ht_rec_tracer_stop (HtRecWorld *w)
{
  if (use_signal)
    return false;
  if (!tracer_stack)
    tracer_stack = ht_rec_mmap (TRACER_STACK);
  if (!tracer_stack)
    return false;
  memset (&tracer, 0, sizeof tracer);
  tracer.pid = getpid ();
  tracer.self = ht_rec_gettid ();
  tracer.sampler = ht_rec_sampler_tid ();
  tracer.w = w;
  int saved_errno = errno;
  /* no SIGCHLD at its exit, not traced by whoever traces us, never seen by wait(-1) */
  tracer_pid = clone (tracer_main, (uint8_t *) tracer_stack + TRACER_STACK,
                      CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_UNTRACED, &tracer);
  if (tracer_pid <= 0)
    {
      errno = saved_errno;
      return false;
    }
  prctl (PR_SET_PTRACER, tracer_pid, 0, 0, 0); /* yama's ptrace_scope 1 */
  tracer_set (&tracer.state, TRACER_GO);
  tracer_wait (&tracer.state, TRACER_GO);
  if (atomic_load (&tracer.state) == TRACER_FAILED)
    {
      tracer_wait (&tracer.state, TRACER_FAILED);
      waitpid (tracer_pid, NULL, __WALL);
      prctl (PR_SET_PTRACER, 0, 0, 0, 0);
      memset (w->threads, 0, w->n * sizeof *w->threads);
      w->n = w->missed = 0;
      errno = saved_errno;
      return false;
    }
  w->traced = true;
  for (size_t i = 0; i < w->n; i++)
    if (atomic_load (&w->threads[i].state) == 1)
      w->stopped++;
  errno = saved_errno;
  return true;
}

void
ht_rec_tracer_resume (HtRecWorld *w)
{
  (void) w;
  int saved_errno = errno;
  tracer_set (&tracer.state, TRACER_RESUME);
  tracer_wait (&tracer.state, TRACER_RESUME);
  while (waitpid (tracer_pid, NULL, __WALL) < 0 && errno == EINTR)
    ;
  prctl (PR_SET_PTRACER, 0, 0, 0, 0);
  errno = saved_errno;
}

#else

void
ht_rec_tracer_configure (void)
{
}

bool
ht_rec_tracer_stop (HtRecWorld *w)
{
  (void) w;
  return false;
}

void
ht_rec_tracer_resume (HtRecWorld *w)
{
  (void) w;
}

#endif
