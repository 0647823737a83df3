/* rb.c - programs that try to break the recorder, one per mode.
 *
 *   rb MODE
 *
 * Every mode allocates at lines whose counts it knows, and prints them as JSON on stdout
 * ({"line": N, "count": C, ...}) with snprintf + write, which allocate nothing.  The test
 * (tests/e2e/e2e.py, cases robust_*) records the mode and compares.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static void *volatile sink;
static void *keep[100000];

static void
say (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

static void
say (const char *fmt, ...)
{
  char buf[1024];
  va_list ap;
  va_start (ap, fmt);
  int n = vsnprintf (buf, sizeof buf, fmt, ap);
  va_end (ap);
  (void) !write (1, buf, (size_t) n);
}

/* fork: the parent and the child allocate at different lines. */
static int
mode_fork (void)
{
  // clang-format off
  for (int i = 0; i < 300; i++) keep[i] = malloc (40); const int lp = __LINE__;
  // clang-format on
  pid_t pid = fork ();
  if (pid == 0)
    {
      // clang-format off
      for (int i = 0; i < 700; i++) keep[i] = malloc (24); const int lc = __LINE__;
      // clang-format on
      say ("{\"child_line\": %d, \"child_count\": 700, \"child_pid\": %d}\n", lc,
           (int) getpid ());
      exit (0);
    }
  waitpid (pid, NULL, 0);
  say ("{\"parent_line\": %d, \"parent_count\": 300}\n", lp);
  return 0;
}

/* exec: the first image allocates, then executes itself in mode exec-child. */
static int
mode_exec (const char *self)
{
  // clang-format off
  for (int i = 0; i < 123; i++) keep[i] = malloc (50); const int la = __LINE__;
  // clang-format on
  say ("{\"first_line\": %d, \"first_count\": 123, \"pid\": %d}\n", la, (int) getpid ());
  execl (self, self, "exec-child", (char *) NULL);
  return 127;
}

static int
mode_exec_child (void)
{
  // clang-format off
  for (int i = 0; i < 456; i++) keep[i] = malloc (60); const int lb = __LINE__;
  // clang-format on
  say ("{\"second_line\": %d, \"second_count\": 456}\n", lb);
  return 0;
}

/* vfork: the child shares the parent's memory, recorder included, then execs (or fails to
 * and calls _exit).  Neither may end the parent's log. */
static int
mode_vfork (void)
{
  pid_t pid = vfork ();
  if (pid == 0)
    {
      execl ("/nonexistent/program", "x", (char *) NULL);
      _exit (127);
    }
  waitpid (pid, NULL, 0);
  pid = vfork ();
  if (pid == 0)
    {
      execl ("/bin/true", "true", (char *) NULL);
      _exit (127);
    }
  waitpid (pid, NULL, 0);
  // clang-format off
  for (int i = 0; i < 55; i++) keep[i] = malloc (70); const int la = __LINE__;
  // clang-format on
  say ("{\"line\": %d, \"count\": 55}\n", la);
  return 0;
}

/* dlopen/dlclose: two libraries that allocate, the second likely loaded where the first was. */
static int
mode_dl (const char *dir)
{
  char a[4096], b[4096];
  snprintf (a, sizeof a, "%s/librb-a.so", dir);
  snprintf (b, sizeof b, "%s/librb-b.so", dir);
  void *ha = dlopen (a, RTLD_NOW);
  if (!ha)
    return 2;
  void (*fa) (void **, int) = (void (*) (void **, int)) dlsym (ha, "rb_liba_make");
  fa (keep, 111);
  dlclose (ha);
  void *hb = dlopen (b, RTLD_NOW);
  if (!hb)
    return 2;
  void (*fb) (void **, int) = (void (*) (void **, int)) dlsym (hb, "rb_libb_make");
  fb (keep + 111, 222);
  say ("{\"liba\": 111, \"libb\": 222}\n");
  return 0;
}

/* Threads exit while others allocate. */
static _Atomic int stop;
static void *keep_short[200][50];
static int line_short;

static void *
busy (void *arg)
{
  (void) arg;
  while (!stop)
    {
      void *p = malloc (64);
      sink = p; /* keeps the pair from being optimised away */
      free (p);
    }
  return NULL;
}

static void *
short_lived (void *arg)
{
  void **k = arg;
  // clang-format off
  for (int i = 0; i < 50; i++) k[i] = malloc (16 + i); line_short = __LINE__;
  // clang-format on
  return NULL;
}

static int
mode_churn (void)
{
  pthread_t b[3];
  for (int i = 0; i < 3; i++)
    pthread_create (&b[i], NULL, busy, NULL);
  for (int round = 0; round < 20; round++)
    {
      pthread_t t[10];
      for (int i = 0; i < 10; i++)
        pthread_create (&t[i], NULL, short_lived, keep_short[round * 10 + i]);
      for (int i = 0; i < 10; i++)
        pthread_join (t[i], NULL);
    }
  stop = 1;
  for (int i = 0; i < 3; i++)
    pthread_join (b[i], NULL);
  say ("{\"line\": %d, \"count\": %d}\n", line_short, 200 * 50);
  return 0;
}

/* Killed from outside: a shared page tells the test how far it got. */
static int
mode_kill (const char *progress_file)
{
  int fd = open (progress_file, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate (fd, 4096) != 0)
    return 2;
  volatile long *shared = mmap (NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  shared[1] = getpid ();
  for (long i = 0;; i++)
    {
      keep[i % 100000] = malloc (32); /* kept: the peak keeps growing until the array wraps */
      shared[0] = i + 1;
      if (i % 100 == 99)
        usleep (1000);
    }
}

/* _exit and abort: nothing runs after them, not even our destructor. */
static int
mode_leave (int do_abort)
{
  // clang-format off
  for (int i = 0; i < 777; i++) keep[i] = malloc (30); const int ll = __LINE__;
  // clang-format on
  say ("{\"line\": %d, \"count\": 777}\n", ll);
  if (do_abort)
    abort ();
  _exit (3);
}

/* A timer interrupts malloc and the recorder thousands of times. */
static _Atomic long ticks;

static void
on_tick (int sig)
{
  (void) sig;
  ticks++;
}

static int
mode_signals (void)
{
  struct sigaction sa = { .sa_handler = on_tick, .sa_flags = SA_RESTART };
  sigaction (SIGALRM, &sa, NULL);
  struct itimerval it = { { 0, 50 }, { 0, 50 } };
  setitimer (ITIMER_REAL, &it, NULL);
  int line = 0;
  for (int i = 0; i < 200000; i++)
    {
      // clang-format off
      sink = malloc (8 + i % 500); line = __LINE__;
      // clang-format on
      free (sink);
    }
  struct itimerval off = { { 0, 0 }, { 0, 0 } };
  setitimer (ITIMER_REAL, &off, NULL);
  say ("{\"line\": %d, \"count\": 200000, \"ticks\": %ld}\n", line, (long) ticks);
  return 0;
}

/* Closes every descriptor above 2 in every way there is, then reuses 3..1023. */
static int
mode_fds (void)
{
  // clang-format off
  for (int i = 0; i < 100; i++) keep[i] = malloc (100); const int l1 = __LINE__;
  // clang-format on
  for (int fd = 3; fd < 4096; fd++)
    close (fd);
  closefrom (3);
  close_range (3, ~0u, 0);
  for (int fd = 3; fd < 1024; fd++)
    dup2 (0, fd);
  // clang-format off
  for (int i = 0; i < 200; i++) keep[100 + i] = malloc (200); const int l2 = __LINE__;
  // clang-format on
  for (int fd = 3; fd < 1024; fd++)
    close (fd);
  say ("{\"before_line\": %d, \"before_count\": 100, \"after_line\": %d, \"after_count\": 200}\n",
       l1, l2);
  return 0;
}

int
main (int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "";
  if (!strcmp (mode, "fork"))
    return mode_fork ();
  if (!strcmp (mode, "exec"))
    return mode_exec (argv[0]);
  if (!strcmp (mode, "vfork"))
    return mode_vfork ();
  if (!strcmp (mode, "exec-child"))
    return mode_exec_child ();
  if (!strcmp (mode, "dl") && argc > 2)
    return mode_dl (argv[2]);
  if (!strcmp (mode, "churn"))
    return mode_churn ();
  if (!strcmp (mode, "kill") && argc > 2)
    return mode_kill (argv[2]);
  if (!strcmp (mode, "_exit"))
    return mode_leave (0);
  if (!strcmp (mode, "abort"))
    return mode_leave (1);
  if (!strcmp (mode, "signals"))
    return mode_signals ();
  if (!strcmp (mode, "fds"))
    return mode_fds ();
  fprintf (stderr, "usage: rb fork|exec|vfork|dl DIR|churn|kill FILE|_exit|abort|signals|fds\n");
  return 2;
}
