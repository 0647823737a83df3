/* ht-rec-keeper.c - the keeper: a thread of the recorder's own that glibc does not know of.
 *
 * Once a process has had a second thread made by pthread_create, glibc's malloc locks its
 * arena on every call and frees to the fast bins with an atomic exchange, for good:
 * __libc_single_threaded never goes back.  A recorder thread made that way cost python3
 * 5.5% of its recorded run in malloc and _int_free alone (perf, PYTHONMALLOC=malloc: 710
 * samples of ~12,800 more than with no thread; without it they were the bare run's).
 * The keeper is made with clone(2) directly, so the program stays single-threaded to
 * glibc, and so it may call nothing of glibc's that keeps state.  Its thread pointer is
 * its own (keeper_tls, below): a thread-local variable reads as 0 there (ht_rec_tls_thread
 * names no stream) and a write to one (errno) lands in its own memory.  It makes system
 * calls with the instruction itself (ht_rec_sys), takes only HtRecLock locks, runs with
 * every signal blocked, and does two things:
 *
 *  - it writes the queue of flushed buffers (encoding, zstd, write(2)), as the sampler
 *    thread did, so the program's threads do not wait for zstd;
 *  - when the program's threads have taken no tick for IDLE_NS (ht-rec-sampler.c: they
 *    take them after their recorded events), it takes the part of one that needs no libc:
 *    the snapshots asked for from outside, a SAMPLE, a flush of every stream and a SYNC.
 *    A program asleep is still served.
 *
 * x86-64 only (ht_rec_sys is the instruction there); elsewhere, and with --graph (whose
 * heap scan needs a thread that can call anything), the sampler is a pthread as before.
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>

#include "ht-rec-private.h"

#define KEEPER_STACK (256u * 1024u)
#define KEEPER_WAKE_NS (10u * 1000u * 1000u)

static _Atomic pid_t keeper_tid; /* cleared by the kernel when it exits (CLONE_CHILD_CLEARTID) */
static _Atomic bool keeper_stop;
static void *keeper_stack;

/* ---------------------------------------------------------------------------------------
 * HtRecLock and futex(2)
 */
void
ht_rec_futex_wait (_Atomic uint32_t *word, uint32_t while_value, uint64_t ns)
{
  struct timespec t = { (time_t) (ns / 1000000000u), (long) (ns % 1000000000u) };
  ht_rec_sys (SYS_futex, (long) word, FUTEX_WAIT_PRIVATE, (long) while_value,
              ns ? (long) &t : 0, 0);
}

void
ht_rec_futex_wake (_Atomic uint32_t *word)
{
  ht_rec_sys (SYS_futex, (long) word, FUTEX_WAKE_PRIVATE, 1, 0, 0);
}

void
ht_rec_lock_wait (HtRecLock *l)
{
  while (atomic_exchange_explicit (&l->word, 2, memory_order_acquire) != 0)
    ht_rec_futex_wait (&l->word, 2, 0);
}

/* ---------------------------------------------------------------------------------------
 * The thread
 */
static int
keeper_main (void *arg)
{
  (void) arg;
  while (!atomic_load (&keeper_stop))
    {
      ht_rec_streams_wait (KEEPER_WAKE_NS, &keeper_stop);
      ht_rec_streams_write_some (UINT32_MAX);
      ht_rec_sampler_idle_tick ();
    }
  return 0;
}

#if defined(__x86_64__)
/* The keeper's thread pointer: a thread control block of its own, copied from the
 * caller's where the code reads it (its self pointers at 0 and 16, the stack protector's
 * canary at 40, the pointer guard at 48), above zeroed room for the static TLS blocks down
 * to errno's (the recorder's own lie closer to the thread pointer: a preloaded library is
 * loaded before libc).  The thread that made the keeper may exit before it. */
#define TCB_COPY 64
#define TCB_ROOM 4096

static uintptr_t
keeper_tls (void)
{
  uintptr_t tp;
  __asm__ ("mov %%fs:0, %0" : "=r"(tp));
  uintptr_t lowest = (uintptr_t) &errno;
  if ((uintptr_t) &ht_rec_hot < lowest)
    lowest = (uintptr_t) &ht_rec_hot;
  if ((uintptr_t) &ht_rec_tls_thread < lowest)
    lowest = (uintptr_t) &ht_rec_tls_thread;
  if (lowest >= tp || tp - lowest > (64u << 20))
    return 0;
  size_t below = ((tp - lowest) + TCB_ROOM + 63) & ~(size_t) 63;
  static uint8_t *area;
  static size_t area_size;
  if (!area || area_size < below + TCB_ROOM)
    {
      area_size = below + TCB_ROOM;
      area = ht_rec_mmap (area_size); /* zeroed; kept for a keeper started again */
      if (!area)
        return 0;
    }
  uint8_t *tcb = area + below;
  memset (area, 0, area_size);
  memcpy (tcb, (const void *) tp, TCB_COPY);
  uintptr_t self = (uintptr_t) tcb;
  memcpy (tcb, &self, sizeof self);      /* tcbhead_t.tcb: %fs:0 */
  memcpy (tcb + 16, &self, sizeof self); /* tcbhead_t.self */
  return self;
}
#endif

/* Starts the keeper; false if it cannot run here (the sampler thread does its work). */
bool
ht_rec_keeper_start (void)
{
#if defined(__x86_64__)
  if (!keeper_stack)
    keeper_stack = ht_rec_mmap (KEEPER_STACK);
  uintptr_t tls = keeper_tls ();
  if (!keeper_stack || !tls)
    return false;
  atomic_store (&keeper_stop, false);
  /* every signal blocked from its first instruction: a signal for the process is then
   * never handled on the keeper, which glibc does not know */
  sigset_t all, old;
  sigfillset (&all);
  ht_rec_sys (SYS_rt_sigprocmask, SIG_SETMASK, (long) &all, (long) &old, sizeof (uint64_t), 0);
  pid_t tid = clone (keeper_main, (uint8_t *) keeper_stack + KEEPER_STACK,
                     CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD
                       | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID
                       | CLONE_CHILD_CLEARTID,
                     NULL, (pid_t *) &keeper_tid, (void *) tls, (pid_t *) &keeper_tid);
  ht_rec_sys (SYS_rt_sigprocmask, SIG_SETMASK, (long) &old, 0, sizeof (uint64_t), 0);
  if (tid <= 0)
    {
      atomic_store (&keeper_tid, 0);
      return false;
    }
  return true;
#else
  return false;
#endif
}

bool
ht_rec_keeper_running (void)
{
  return atomic_load (&keeper_tid) != 0;
}

pid_t
ht_rec_keeper_tid (void)
{
  return atomic_load (&keeper_tid);
}

/* Stops the keeper and waits until it is gone: the kernel clears keeper_tid at its exit
 * and wakes its futex, a shared one (FUTEX_WAIT, not the private kind). */
void
ht_rec_keeper_stop (void)
{
  if (!ht_rec_keeper_running ())
    return;
  atomic_store (&keeper_stop, true);
  ht_rec_streams_wake ();
  struct timespec ms = { 0, 1000000 };
  for (pid_t tid; (tid = atomic_load (&keeper_tid)) != 0;)
    ht_rec_sys (SYS_futex, (long) &keeper_tid, FUTEX_WAIT, tid, (long) &ms, 0);
}

/* In a forked child: the keeper stayed with the parent. */
void
ht_rec_keeper_forget (void)
{
  atomic_store (&keeper_tid, 0);
}
