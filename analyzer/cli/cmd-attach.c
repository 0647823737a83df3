/* cmd-attach.c - heaptrail attach PID [-o FILE] [--duration T]: record a process that is
 * already running, as heaptrack --pid does.
 *
 * gdb (which ptrace needs permission for) loads libheaptrail.so into the process and calls
 * its heaptrail_attach (LOG), which points every module's allocation entries (GOT) at the
 * recorder's hooks (recorder/ht-rec-attach.c).  At Ctrl-C, at the end of --duration, or
 * when the process exits, the recording ends: gdb calls heaptrail_detach (), which puts the
 * entries back.  The process runs on, its output and exit status its own.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ht-cli.h"

static volatile sig_atomic_t stop_requested;

static void
on_stop (int sig)
{
  (void) sig;
  stop_requested = 1;
}

/* Runs gdb on pid with the given commands; its output in *out.  FALSE when gdb could not
 * attach, with *why saying so in one line. */
static gboolean
run_gdb (pid_t pid, const char *const *commands, char **out, char **why)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *pid_s = g_strdup_printf ("%d", (int) pid);
  g_ptr_array_add (argv, (char *) "gdb");
  g_ptr_array_add (argv, (char *) "-q");
  g_ptr_array_add (argv, (char *) "-nx");
  g_ptr_array_add (argv, (char *) "-batch");
  g_ptr_array_add (argv, (char *) "-p");
  g_ptr_array_add (argv, pid_s);
  for (guint i = 0; commands[i]; i++)
    {
      g_ptr_array_add (argv, (char *) "-ex");
      g_ptr_array_add (argv, (char *) commands[i]);
    }
  g_ptr_array_add (argv, NULL);
  g_autofree char *err = NULL;
  int status = 0;
  g_autoptr (GError) error = NULL;
  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL,
                     G_SPAWN_SEARCH_PATH | G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL, out, &err,
                     &status, &error))
    {
      *why = g_strdup_printf (_("cannot run gdb: %s"), error->message);
      return FALSE;
    }
  if (err && (strstr (err, "ptrace: Operation not permitted")
              || strstr (*out ? *out : "", "ptrace: Operation not permitted")))
    {
      g_autofree char *scope = NULL;
      g_file_get_contents ("/proc/sys/kernel/yama/ptrace_scope", &scope, NULL, NULL);
      *why = scope && scope[0] != '0'
               ? g_strdup_printf (_("ptrace is not permitted (yama's ptrace_scope is %c): run as "
                                    "root, or allow it: echo 0 > "
                                    "/proc/sys/kernel/yama/ptrace_scope"),
                                  scope[0])
               : g_strdup (_("ptrace is not permitted: run as root"));
      return FALSE;
    }
  if (err && strstr (err, "No such process"))
    {
      *why = g_strdup (_("no such process"));
      return FALSE;
    }
  return TRUE;
}

/* Whether the process still runs: a zombie (exited, its parent not told yet) does not. */
static gboolean
alive (pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *stat = NULL;
  if (!g_file_get_contents (path, &stat, NULL, NULL))
    return FALSE;
  const char *close = strrchr (stat, ')'); /* the name may hold spaces and parentheses */
  return close && close[1] == ' ' && close[2] != 'Z' && close[2] != 'X';
}

/* The value gdb printed for the last "call": "$1 = 0" */
static gboolean
gdb_result (const char *out, long *value)
{
  const char *last = NULL;
  for (const char *p = out; p && (p = strstr (p, "$")); p++)
    if (g_ascii_isdigit (p[1]))
      last = p;
  const char *eq = last ? strstr (last, " = ") : NULL;
  if (!eq)
    return FALSE;
  *value = strtol (eq + 3, NULL, 0);
  return TRUE;
}

int
cmd_attach (int argc, char **argv)
{
  g_autofree char *output = NULL;
  double duration = 0;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      N_("Where to write the log (default heaptrail.PROGRAM.PID.htr)"), N_("FILE") },
    { "duration", 0, 0, G_OPTION_ARG_DOUBLE, &duration,
      N_("Record for SECONDS, then detach (default: until Ctrl-C or the process exits)"),
      N_("SECONDS") },
    { NULL }
  };
  int code = 0;
  if (!parse_options (entries, "PID",
                      _("Record a process that is already running; the process runs on."),
                      &argc, &argv, 1, 1, &code))
    return code;
  char *end = NULL;
  long pid = strtol (argv[1], &end, 10);
  if (!end || *end || pid <= 0)
    return fail (EXIT_USAGE, NULL, _("attach takes a process id, not '%s'"), argv[1]);
  g_autofree char *proc = g_strdup_printf ("/proc/%ld/exe", pid);
  g_autofree char *exe = g_file_read_link (proc, NULL);
  if (!exe)
    return fail (EXIT_FAILURE_, argv[1], kill ((pid_t) pid, 0) != 0 && errno == ESRCH
                                             ? _("no such process")
                                             : _("cannot attach: ptrace is not permitted on "
                                                 "another user's process or a non-dumpable one; "
                                                 "run heaptrail as root"));
  if (!g_find_program_in_path ("gdb"))
    return fail (EXIT_FAILURE_, NULL, _("attach needs gdb to load the recorder into the "
                                        "process: apt install gdb"));
  g_autofree char *recorder = find_recorder ();
  if (!recorder)
    return fail (EXIT_FAILURE_, NULL, _("cannot find %s (set HEAPTRAIL_RECORDER to its path)"),
                 HT_RECORDER_NAME);
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *rel = output ? g_strdup (output) : default_log_name (exe, (pid_t) pid);
  g_autofree char *log = g_canonicalize_filename (rel, cwd); /* the process has its own cwd */
  g_autofree char *abs_recorder = g_canonicalize_filename (recorder, cwd);

  /* gdb: the library loaded without starting (HEAPTRAIL_ATTACHING), then attached */
  g_autofree char *open_lib = g_strdup_printf ("call (void *) dlopen (\"%s\", 2)", abs_recorder);
  g_autofree char *start = g_strdup_printf ("call (int) heaptrail_attach (\"%s\")", log);
  const char *const attach[] = { "call (int) setenv (\"HEAPTRAIL_ATTACHING\", \"1\", 1)",
                                 open_lib, start, NULL };
  g_autofree char *out = NULL, *why = NULL;
  long result = -1;
  if (!run_gdb ((pid_t) pid, attach, &out, &why))
    return fail (EXIT_FAILURE_, argv[1], _("cannot attach: %s"), why);
  if (!gdb_result (out, &result) || result != 0)
    {
      if (result == -1)
        return fail (EXIT_FAILURE_, argv[1], _("cannot attach: it is being recorded already"));
      g_autofree char *said = g_strdup (out ? out : "");
      return fail (EXIT_FAILURE_, argv[1],
                   _("cannot attach: the recorder did not start in the process (gdb said: %s)"),
                   g_strstrip (said));
    }
  fprintf (stderr, _("%s: attached to %ld (%s), recording into %s; Ctrl-C to stop\n"),
           prog_name, pid, exe, log);

  signal (SIGINT, on_stop);
  signal (SIGTERM, on_stop);
  gint64 until = duration > 0 ? g_get_monotonic_time () + (gint64) (duration * 1e6) : 0;
  gboolean exited = FALSE;
  while (!stop_requested && !(until && g_get_monotonic_time () >= until))
    {
      if (!alive ((pid_t) pid))
        {
          exited = TRUE; /* its recorder ended the log at exit */
          break;
        }
      struct timespec ts = { 0, 50 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
  signal (SIGINT, SIG_DFL);
  signal (SIGTERM, SIG_DFL);
  if (!exited)
    {
      const char *const detach[] = { "call (int) heaptrail_detach ()", NULL };
      g_clear_pointer (&out, g_free);
      g_clear_pointer (&why, g_free);
      if (!run_gdb ((pid_t) pid, detach, &out, &why) || !gdb_result (out, &result) || result != 0)
        {
          if (!alive ((pid_t) pid))
            exited = TRUE; /* it exited meanwhile */
          else
            {
              g_autofree char *said = g_strdup (out ? out : "");
              return fail (EXIT_FAILURE_, argv[1], _("cannot detach: %s"),
                           why ? why : g_strstrip (said));
            }
        }
    }
  fprintf (stderr, exited ? _("%s: %ld exited; recorded into %s\n")
                          : _("%s: detached from %ld; recorded into %s\n"),
           prog_name, pid, log);
  return EXIT_OK;
}
