/* ht-rec-signals.c - the recorder's signal handlers, which the program never sees.
 *
 *  fatal signals   a signal whose default action ends the process (SIGSEGV, SIGTERM,
 *                  SIGPIPE ...) and that the program leaves at SIG_DFL gets our handler:
 *                  it writes END naming the signal, then sends the signal again to its
 *                  own thread.  SA_RESETHAND has already put SIG_DFL back, so when the
 *                  handler returns the process dies exactly as it would have, core dump
 *                  included; for a fault, the pending signal is taken before the faulting
 *                  instruction runs again.
 *  SIGUSR2         a snapshot request (`kill -USR2 PID`), when the program does not use it.
 *
 * sigaction, signal, bsd_signal and sysv_signal are interposed so that the program keeps
 * its own view: where our handler is installed, it reads SIG_DFL; when it installs a
 * handler of its own, ours goes away; when it sets SIG_DFL again, ours comes back.
 * (Python, for one, installs its KeyboardInterrupt handler only where SIGINT is SIG_DFL.)
 * glibc's internal calls go around the hooks and see our handler, which they only save
 * and restore (system) or reset in a child before exec (posix_spawn).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ht-rec-private.h"

#define HT_EXPORT __attribute__ ((visibility ("default")))

enum
{
  NOT_OURS = 0,
  OURS_FATAL = 1,
  OURS_SNAPSHOT = 2,
};

static _Atomic unsigned char ours[_NSIG];
static void (*snapshot_handler) (int);
static int (*real_sigaction) (int, const struct sigaction *, struct sigaction *);

/* Default action "terminate" or "core"; not the real-time signals (glibc and the --graph
 * scan use some of them), not the ones the default ignores or that stop. */
static const int fatal_signals[] = {
  SIGHUP,  SIGINT,  SIGQUIT, SIGILL,    SIGTRAP, SIGABRT, SIGBUS, SIGFPE,
  SIGSEGV, SIGUSR1, SIGPIPE, SIGALRM,   SIGTERM, SIGSTKFLT, SIGXCPU, SIGXFSZ,
  SIGVTALRM, SIGPROF, SIGIO, SIGPWR,   SIGSYS,
};

static bool
resolve (void)
{
  if (!real_sigaction)
    real_sigaction = (int (*) (int, const struct sigaction *, struct sigaction *)) dlsym (
      RTLD_NEXT, "sigaction");
  return real_sigaction != NULL;
}

static bool
is_fatal (int sig)
{
  for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++)
    if (fatal_signals[i] == sig)
      return true;
  return false;
}

static bool
is_default (const struct sigaction *act)
{
  return act->sa_handler == SIG_DFL; /* sa_sigaction shares the slot: NULL either way */
}

static void
on_fatal (int sig, siginfo_t *info, void *context)
{
  (void) info;
  (void) context;
  int saved = errno;
  atomic_store (&ours[sig], NOT_OURS); /* SA_RESETHAND: the kernel put SIG_DFL back */
  ht_rec_before_dying (sig);
  syscall (SYS_tgkill, getpid (), ht_rec_gettid (), sig);
  errno = saved;
}

static void
on_snapshot (int sig)
{
  int saved = errno;
  if (snapshot_handler)
    snapshot_handler (sig);
  errno = saved;
}

/* Puts our handler on `sig` (which the program has at SIG_DFL). */
static void
take_over (int sig, unsigned char kind)
{
  struct sigaction sa;
  memset (&sa, 0, sizeof sa);
  sigemptyset (&sa.sa_mask);
  if (kind == OURS_FATAL)
    {
      sa.sa_sigaction = on_fatal;
      sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_ONSTACK | SA_RESTART;
    }
  else
    {
      sa.sa_handler = on_snapshot;
      sa.sa_flags = SA_RESTART;
    }
  if (real_sigaction (sig, &sa, NULL) == 0)
    atomic_store (&ours[sig], kind);
}

void
ht_rec_signals_init (void (*on_snapshot_request) (int))
{
  if (!resolve ())
    return;
  snapshot_handler = on_snapshot_request;
  struct sigaction old;
  for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++)
    if (real_sigaction (fatal_signals[i], NULL, &old) == 0 && is_default (&old))
      take_over (fatal_signals[i], OURS_FATAL);
  if (on_snapshot_request && real_sigaction (SIGUSR2, NULL, &old) == 0 && is_default (&old))
    take_over (SIGUSR2, OURS_SNAPSHOT);
}

/* ---------------------------------------------------------------------------------------
 * The program's view
 */
HT_EXPORT int
sigaction (int sig, const struct sigaction *act, struct sigaction *old)
{
  if (!resolve ())
    {
      errno = ENOSYS;
      return -1;
    }
  if (sig <= 0 || sig >= _NSIG || atomic_load (&ours[sig]) == NOT_OURS)
    {
      int r = real_sigaction (sig, act, old);
      /* the program went back to the default: ours again, while recording */
      if (r == 0 && act && is_default (act) && is_fatal (sig) && ht_rec_log_fd () >= 0)
        take_over (sig, OURS_FATAL);
      return r;
    }
  if (old)
    {
      memset (old, 0, sizeof *old);
      old->sa_handler = SIG_DFL;
    }
  if (act && !is_default (act))
    {
      atomic_store (&ours[sig], NOT_OURS);
      return real_sigaction (sig, act, NULL);
    }
  return 0;
}

/* signal() as glibc's BSD semantics have it: the signal blocked in its handler, calls
 * restarted; sysv_signal: one shot, not blocked. */
static sighandler_t
set_handler (int sig, sighandler_t handler, int flags)
{
  struct sigaction act, old;
  memset (&act, 0, sizeof act);
  act.sa_handler = handler;
  act.sa_flags = flags;
  sigemptyset (&act.sa_mask);
  if (!(flags & SA_NODEFER) && sig > 0 && sig < _NSIG)
    sigaddset (&act.sa_mask, sig);
  if (sigaction (sig, &act, &old) != 0)
    return SIG_ERR;
  return old.sa_handler;
}

HT_EXPORT sighandler_t
signal (int sig, sighandler_t handler)
{
  return set_handler (sig, handler, SA_RESTART);
}

HT_EXPORT sighandler_t
bsd_signal (int sig, sighandler_t handler)
{
  return set_handler (sig, handler, SA_RESTART);
}

HT_EXPORT sighandler_t
sysv_signal (int sig, sighandler_t handler)
{
  return set_handler (sig, handler, SA_RESETHAND | SA_NODEFER);
}
