/* ht-rec-process.c - hooks on the calls that end a process image or could break the log.
 *
 *  exec family     the image is replaced: flush and write END(exec) first.  With
 *                  HEAPTRAIL_FOLLOW_EXEC the new image records into a log of its own.
 *  _exit, abort    no destructor will run: flush and write END first, so nothing of the
 *                  last 10 ms is lost.
 *  dlclose         an object went away: new module map, new trace tree generation.
 *  close, close_range, closefrom, dup2, dup3
 *                  programs that close every descriptor, or use fixed numbers, must not
 *                  take the log's descriptor: closing it is skipped (and reported as
 *                  done), and a dup onto it first moves the log elsewhere.
 *
 * glibc's exec functions call execve internally, not through the PLT, so each of them is
 * interposed.  Real functions are looked up lazily with dlsym (RTLD_NEXT).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "ht-rec-private.h"

#define HT_EXPORT __attribute__ ((visibility ("default")))

#define REAL(type, name)                                                                     \
  static type real_##name;                                                                  \
  if (!real_##name)                                                                         \
    real_##name = (type) dlsym (RTLD_NEXT, #name)

typedef int (*execve_fn) (const char *, char *const[], char *const[]);
typedef int (*fexecve_fn) (int, char *const[], char *const[]);

/* ---------------------------------------------------------------------------------------
 * exec
 */
extern char **environ;

/* Ends this image's log; returns the environment the new image gets: `envp` itself, or,
 * when the new image is recorded too, `envp` with our variables added (ht-rec-env.c), in
 * memory that after_failed_exec gives back. */
static char *const *
before_exec (char *const envp[], size_t *mapped)
{
  *mapped = 0;
  bool follow = ht_rec_follows_exec ();
  ht_rec_before_leaving (HT_END_EXEC);
  if (!follow)
    return envp;
  char **ours = ht_rec_env_for_exec (envp, mapped);
  return ours ? ours : envp;
}

static void
after_failed_exec (char *const envp[], size_t mapped)
{
  if (mapped)
    ht_rec_munmap ((void *) envp, mapped);
}

HT_EXPORT int
execve (const char *path, char *const argv[], char *const envp[])
{
  REAL (execve_fn, execve);
  size_t mapped;
  char *const *env = before_exec (envp, &mapped);
  int r = real_execve (path, argv, env);
  int err = errno;
  after_failed_exec (env, mapped);
  errno = err;
  return r;
}

HT_EXPORT int
execv (const char *path, char *const argv[])
{
  return execve (path, argv, environ);
}

HT_EXPORT int
execvpe (const char *file, char *const argv[], char *const envp[])
{
  REAL (execve_fn, execvpe);
  size_t mapped;
  char *const *env = before_exec (envp, &mapped);
  int r = real_execvpe (file, argv, env);
  int err = errno;
  after_failed_exec (env, mapped);
  errno = err;
  return r;
}

HT_EXPORT int
execvp (const char *file, char *const argv[])
{
  return execvpe (file, argv, environ);
}

HT_EXPORT int
fexecve (int fd, char *const argv[], char *const envp[])
{
  REAL (fexecve_fn, fexecve);
  size_t mapped;
  char *const *env = before_exec (envp, &mapped);
  int r = real_fexecve (fd, argv, env);
  int err = errno;
  after_failed_exec (env, mapped);
  errno = err;
  return r;
}

/* execl, execlp, execle: gather the variadic arguments into an argv on the stack. */
#define HT_COLLECT_ARGS(arg0, ap, argv)                                                      \
  size_t argc_ = 1;                                                                         \
  va_start (ap, arg0);                                                                      \
  while (va_arg (ap, const char *) != NULL)                                                 \
    argc_++;                                                                                \
  va_end (ap);                                                                              \
  char *argv[argc_ + 1];                                                                    \
  argv[0] = (char *) arg0;                                                                  \
  va_start (ap, arg0);                                                                      \
  for (size_t i_ = 1; i_ <= argc_; i_++)                                                    \
    argv[i_] = va_arg (ap, char *);

HT_EXPORT int
execl (const char *path, const char *arg, ...)
{
  va_list ap;
  HT_COLLECT_ARGS (arg, ap, argv);
  va_end (ap);
  return execv (path, argv);
}

HT_EXPORT int
execlp (const char *file, const char *arg, ...)
{
  va_list ap;
  HT_COLLECT_ARGS (arg, ap, argv);
  va_end (ap);
  return execvp (file, argv);
}

HT_EXPORT int
execle (const char *path, const char *arg, ...)
{
  va_list ap;
  HT_COLLECT_ARGS (arg, ap, argv);
  char *const *envp = va_arg (ap, char *const *);
  va_end (ap);
  return execve (path, argv, envp);
}

/* ---------------------------------------------------------------------------------------
 * _exit, abort
 */
typedef void (*exit_fn) (int);
typedef void (*abort_fn) (void);

HT_EXPORT void
_exit (int status)
{
  REAL (exit_fn, _exit);
  ht_rec_before_leaving (HT_END_EXIT_NOW);
  real__exit (status);
  __builtin_unreachable ();
}

HT_EXPORT void
_Exit (int status)
{
  _exit (status);
}

HT_EXPORT void
abort (void)
{
  REAL (abort_fn, abort);
  ht_rec_before_leaving (HT_END_ABORT);
  real_abort ();
  __builtin_unreachable ();
}

/* ---------------------------------------------------------------------------------------
 * dlclose
 */
typedef int (*dlclose_fn) (void *);

HT_EXPORT int
dlclose (void *handle)
{
  REAL (dlclose_fn, dlclose);
  int r = real_dlclose (handle);
  if (r == 0 && ht_rec_log_fd () >= 0 && ht_rec_guard_enter ())
    {
      ht_rec_modules_refresh ();
      ht_rec_guard_leave ();
    }
  return r;
}

/* ---------------------------------------------------------------------------------------
 * Descriptors
 */
typedef int (*close_fn) (int);
typedef int (*close_range_fn) (unsigned, unsigned, int);
typedef void (*closefrom_fn) (int);
typedef int (*dup2_fn) (int, int);
typedef int (*dup3_fn) (int, int, int);

HT_EXPORT int
close (int fd)
{
  REAL (close_fn, close);
  if (fd >= 0 && fd == ht_rec_log_fd ())
    return 0; /* the log's descriptor: keep it, and let the program believe it closed */
  return real_close (fd);
}

HT_EXPORT int
close_range (unsigned first, unsigned last, int flags)
{
  REAL (close_range_fn, close_range);
  int log = ht_rec_log_fd ();
  if (log < 0 || (unsigned) log < first || (unsigned) log > last)
    return real_close_range (first, last, flags);
  int r = 0;
  if ((unsigned) log > first)
    r = real_close_range (first, (unsigned) log - 1, flags);
  if (r == 0 && (unsigned) log < last)
    r = real_close_range ((unsigned) log + 1, last, flags);
  return r;
}

HT_EXPORT void
closefrom (int lowfd)
{
  REAL (closefrom_fn, closefrom);
  int log = ht_rec_log_fd ();
  if (log < 0 || log < lowfd)
    {
      real_closefrom (lowfd);
      return;
    }
  if (log > lowfd)
    close_range ((unsigned) lowfd, (unsigned) log - 1, 0);
  real_closefrom (log + 1);
}

HT_EXPORT int
dup2 (int oldfd, int newfd)
{
  REAL (dup2_fn, dup2);
  if (newfd >= 0 && newfd == ht_rec_log_fd () && oldfd != newfd)
    ht_rec_log_fd_move ();
  return real_dup2 (oldfd, newfd);
}

HT_EXPORT int
dup3 (int oldfd, int newfd, int flags)
{
  REAL (dup3_fn, dup3);
  if (newfd >= 0 && newfd == ht_rec_log_fd () && oldfd != newfd)
    ht_rec_log_fd_move ();
  return real_dup3 (oldfd, newfd, flags);
}
