/* ht-rec-lifecycle.c - when the recording starts and ends: the constructor, the first
 * hook, fork, exec, _exit, abort, fatal signals, and the last exit handler.
 *
 * The recorder is made of (ht-rec-private.h has the whole list):
 *   ht-rec-file.c     the log file          ht-rec-stream.c  per-thread record buffers
 *   ht-rec-threads.c  the thread registry   ht-rec-events.c  allocation events (hot path)
 *   ht-rec-sampler.c  the 10 ms thread      ht-encoder.h     how records become bytes
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ht-rec-private.h"

_Atomic int ht_rec_state = HT_REC_OFF;
_Atomic uintptr_t ht_rec_mode;
int ht_rec_max_frames = 64;

static bool follow_fork, follow_exec;
static pid_t recorded_pid; /* the process this log is about */
static _Atomic int init_done; /* 0 = not tried, 1 = in progress, 2 = done (on or failed) */
#define INIT_WAITING_FOR_ATTACH 3 /* loaded by heaptrail attach: heaptrail_attach () inits */
static _Atomic bool finished;
static bool continuing; /* this image goes on with the log of the image before it */
bool ht_rec_attached;    /* started by heaptrail_attach in a running process */

/* Writes END, after flushing every stream: the log is complete up to here. */
static void
write_end (uint64_t reason)
{
  ht_rec_sampling_put_counted_all ();
  uint64_t now = ht_rec_stamp ();
  ht_rec_write_sample (now);
  ht_rec_flush_all (now);
  HtRecStream *s = ht_rec_control_stream ();
  ht_rec_stream_put (s, HT_REC_END, ht_rec_stamp (), 1, reason, 0);
  ht_rec_stream_lock (s);
  ht_rec_stream_flush (s);
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
  int a = snprintf (text, sizeof text, "HEAPTRAIL_CONTINUE=%s", ht_rec_file_path ());
  if (a < 0 || (size_t) a + 64 >= sizeof text)
    return NULL;
  char *nodes = text + a + 1;
  int b = snprintf (nodes, 40, "HEAPTRAIL_NODE_BASE=%u", (unsigned) ht_rec_trace_next_node ());
  char *streams = nodes + b + 1;
  int c = snprintf (streams, 40, "HEAPTRAIL_STREAM_BASE=%u",
                    (unsigned) ht_rec_threads_next_stream_id ());
  /* SAMPLE times count from the first image's start, in every image */
  char *start = streams + c + 1;
  snprintf (start, 48, "HEAPTRAIL_START_NS=%llu", (unsigned long long) ht_rec_start_mono_ns);
  vars[0] = text;
  vars[1] = nodes;
  vars[2] = streams;
  vars[3] = start;
  vars[4] = NULL;
  return vars;
}

/* Header (or IMAGE), module map and a first sample: the start of a log. */
static bool
start_recording (void)
{
  atomic_store (&ht_rec_state, HT_REC_ON);
  recorded_pid = getpid ();
  ht_rec_threads_reset_encoders ();
  if (!(continuing ? ht_rec_file_write_image () : ht_rec_file_write_header ()))
    return false;
  if (ht_rec_sample_mean)
    ht_rec_stream_put (ht_rec_control_stream (), HT_REC_SAMPLING, ht_rec_stamp (), 1,
                       ht_rec_sample_mean, 0);
  ht_rec_modules_write ();
  ht_rec_write_sample (ht_rec_stamp ());
  return true;
}

static void
at_fork_prepare (void)
{
  bool entered = ht_rec_guard_enter ();
  if (atomic_load (&ht_rec_state) == HT_REC_ON)
    ht_rec_flush_all (ht_rec_stamp ());
  ht_rec_trace_lock_all ();
  ht_rec_threads_lock ();
  ht_rec_sampling_lock ();
  ht_rec_streams_lock ();
  if (entered)
    ht_rec_guard_leave ();
}

static void
at_fork_parent (void)
{
  ht_rec_streams_unlock (false);
  ht_rec_sampling_unlock ();
  ht_rec_threads_unlock ();
  ht_rec_trace_unlock_all ();
}

/* Without --follow-fork the child is not recorded; with it, it starts a log of its own
 * with a fresh trace tree, in which the forking thread keeps its stream. */
static void
at_fork_child (void)
{
  ht_rec_streams_unlock (true);
  ht_rec_sampling_unlock ();
  ht_rec_sampling_forget_counted (); /* the parent's, in the parent's log */
  ht_rec_threads_unlock ();
  ht_rec_trace_unlock_all ();
  ht_rec_file_forget ();
  ht_rec_sampler_forget ();
  bool was_on = atomic_load (&ht_rec_state) == HT_REC_ON;
  atomic_store (&ht_rec_state, HT_REC_OFF);
  if (!was_on || !follow_fork || atomic_load (&finished))
    {
      atomic_store (&finished, true);
      return;
    }

  HtRecThread *self = ht_rec_threads_after_fork ();
  ht_rec_streams_asymmetric_init (); /* a new address space registers again */
  ht_rec_trace_reset ();
  ht_rec_python_after_fork (self ? &self->stream : NULL);
  ht_rec_start_mono_ns = ht_rec_mono_ns ();
  continuing = false;
  if (!ht_rec_file_open_default () || !start_recording ())
    return;
  if (self)
    ht_rec_threads_restart (self);
  ht_rec_sampler_start ();
}

static bool
env_flag (const char *name)
{
  const char *v = getenv (name);
  return v && *v && strcmp (v, "0") != 0;
}

static uint64_t
env_number (const char *name)
{
  const char *v = getenv (name);
  return v && *v ? strtoull (v, NULL, 10) : 0;
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
  ht_rec_start_mono_ns = ht_rec_mono_ns ();
  follow_fork = env_flag ("HEAPTRAIL_FOLLOW_FORK");
  follow_exec = env_flag ("HEAPTRAIL_FOLLOW_EXEC");
  ht_rec_live_init (env_flag ("HEAPTRAIL_GRAPH"));
  uint64_t sample = env_number ("HEAPTRAIL_SAMPLE");
  if (sample && env_flag ("HEAPTRAIL_GRAPH"))
    ht_rec_say ("heaptrail: HEAPTRAIL_SAMPLE is ignored with HEAPTRAIL_GRAPH: a sampled heap "
                "cannot be scanned\n");
  else if (!ht_rec_sampling_init (sample))
    {
      ht_rec_say ("heaptrail: cannot set up sampling; not recording\n");
      atomic_store (&init_done, 2);
      return;
    }
  ht_rec_file_set_dir ();

  /* an exec'd image going on with the log: its ids follow the image before it */
  uint32_t stream_base = (uint32_t) env_number ("HEAPTRAIL_STREAM_BASE");
  if (env_number ("HEAPTRAIL_NODE_BASE"))
    ht_rec_trace_set_next_node ((uint32_t) env_number ("HEAPTRAIL_NODE_BASE"));
  if (env_number ("HEAPTRAIL_START_NS"))
    ht_rec_start_mono_ns = env_number ("HEAPTRAIL_START_NS");
  ht_rec_streams_asymmetric_init ();
  if (!ht_rec_threads_init (stream_base)
      || !ht_rec_streams_init (ht_rec_threads_new_stream_id ()))
    {
      ht_rec_say ("heaptrail: cannot set up the recorder; not recording\n");
      atomic_store (&init_done, 2);
      return;
    }
  bool opened = ht_rec_file_open (follow_exec, &continuing);
  /* our variables read, the program gets its own environment back */
  ht_rec_python_configure ();
  ht_rec_unwind_configure ();
  ht_rec_tracer_configure ();
  ht_rec_env_restore (ht_rec_file_dir (), follow_fork && follow_exec);
  if (!opened)
    {
      atomic_store (&init_done, 2);
      return;
    }
  ht_rec_python_setup ();
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

/* What the constructor sets up once recording is on: compression, signals, the sampler,
 * the exit handler. */
static void
start_running (void)
{
  ht_rec_zstd_init ();
  ht_rec_signals_init (ht_rec_sampler_on_sigusr2);
  if (ht_rec_gettid () == getpid ())
    ht_rec_thread_stream (); /* the main thread counts even if it never allocates */
  ht_rec_sampler_start ();
  if (!exit_handler_registered)
    exit_handler_registered = __cxa_atexit (at_last_exit, NULL, NULL) == 0;
}

/* heaptrail_attach (ht-rec-attach.c): the process runs already; recording starts now, into
 * `log`.  The first time, as `heaptrail record` would have started it; after a detach, with
 * a new log, as a followed fork starts one. */
bool
ht_rec_start_attached (const char *log)
{
  ht_rec_attached = true;
  int waiting = INIT_WAITING_FOR_ATTACH;
  if (atomic_compare_exchange_strong (&init_done, &waiting, 0))
    {
      /* our variables, as heaptrail record sets them (setenv's allocations are nobody's:
       * nothing is hooked yet); ht_rec_init takes them out of the environment again */
      setenv ("HEAPTRAIL_OUTPUT", log, 1);
      unsetenv ("HEAPTRAIL_ATTACHING");
      ht_rec_init ();
      if (atomic_load (&ht_rec_state) != HT_REC_ON)
        return false;
      start_running ();
      return true;
    }
  if (!ht_rec_file_open_path (log))
    return false;
  atomic_store (&finished, false);
  continuing = false;
  ht_rec_trace_reset ();
  ht_rec_python_after_fork (NULL);
  if (!start_recording ())
    return false;
  start_running ();
  return true;
}

/* heaptrail_detach: the log ends here (END "detach"), the process runs on unrecorded. */
void
ht_rec_end_attached (void)
{
  bool expected = false;
  if (!atomic_compare_exchange_strong (&finished, &expected, true))
    return;
  bool entered = ht_rec_guard_enter ();
  ht_rec_sampler_stop ();
  if (atomic_load (&ht_rec_state) == HT_REC_ON)
    write_end (HT_END_DETACH);
  atomic_store (&ht_rec_state, HT_REC_OFF);
  ht_rec_file_forget ();
  if (entered)
    ht_rec_guard_leave ();
}

__attribute__ ((constructor)) static void
ht_rec_constructor (void)
{
  /* dlopen'ed by heaptrail attach: nothing starts before heaptrail_attach (), not even
   * when gdb calls our malloc for the strings it passes (the hooks find init "done") */
  int expected = 0;
  if (getenv ("HEAPTRAIL_ATTACHING")
      && atomic_compare_exchange_strong (&init_done, &expected, INIT_WAITING_FOR_ATTACH))
    return;
  bool entered = ht_rec_guard_enter ();
  ht_rec_init ();
  if (atomic_load (&ht_rec_state) == HT_REC_ON && !ht_rec_sampler_running ())
    start_running ();
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
  ht_rec_sampler_stop ();
  ht_rec_live_scan_at_exit (); /* the blocks left at exit, before END */
  ht_rec_write_program_suppressions ();
  write_end (HT_END_EXIT);
  atomic_store (&ht_rec_state, HT_REC_OFF);
  ht_rec_unwind_report ();
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
