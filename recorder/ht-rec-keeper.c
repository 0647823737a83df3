/* ht-rec-keeper.c - the keeper: a thread of the recorder's own that glibc does not know of.
 *
 * Once a process has had a second thread made by pthread_create, glibc's malloc locks its
 * arena on every call and frees to the fast bins with an atomic exchange, for good:
 * __libc_single_threaded never goes back.  A recorder thread made that way cost python3
 * 5.5% of its recorded run in malloc and _int_free alone (perf, PYTHONMALLOC=malloc: 710
 * samples of ~12,800 more than with no thread; without it they were the bare run's).
 * The keeper is made with clone(2) directly, so the program stays single-threaded to
 * glibc, and so it may call nothing of glibc's that keeps state: it shares the thread
 * pointer of the thread that made it, so a thread-local variable it wrote would be that
 * thread's, errno included.  It makes system calls with the instruction itself
 * (ht_rec_sys), takes only HtRecLock locks, runs with every signal blocked, and does two
 * things:
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

/* Starts the keeper; false if it cannot run here (the sampler thread does its work). */
bool
ht_rec_keeper_start (void)
{
#if defined(__x86_64__)
  if (!keeper_stack)
    keeper_stack = ht_rec_mmap (KEEPER_STACK);
  if (!keeper_stack)
    return false;
  atomic_store (&keeper_stop, false);
  /* every signal blocked from its first instruction: a signal for the process is then
   * never handled on the keeper, which has no thread pointer of its own */
  sigset_t all, old;
  sigfillset (&all);
  ht_rec_sys (SYS_rt_sigprocmask, SIG_SETMASK, (long) &all, (long) &old, sizeof (uint64_t), 0);
  pid_t tid = clone (keeper_main, (uint8_t *) keeper_stack + KEEPER_STACK,
                     CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD
                       | CLONE_SYSVSEM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID,
                     NULL, (pid_t *) &keeper_tid, NULL, (pid_t *) &keeper_tid);
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
