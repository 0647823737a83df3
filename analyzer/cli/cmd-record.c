/* cmd-record.c - heaptrail record -- PROGRAM: the program run under the recorder.  GLib
 * alone (ht-cli-base.h): the lean launcher runs it as well as the full CLI. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ht-cli-base.h"
#include "ht-size.h"

/* ---------------------------------------------------------------------------------------
 * record
 */

char *
default_log_name (const char *prog, pid_t pid)
{
  g_autofree char *base = g_path_get_basename (prog);
  return g_strdup_printf ("heaptrail.%s.%d.htr", base, (int) pid);
}

/* With --follow-*, children write heaptrail.PROG.PID.htr beside the main log: name them. */
static void
list_child_logs (const char *dir, const char *main_log, gint64 since_us)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  if (!d)
    return;
  g_autofree char *main_abs = g_canonicalize_filename (main_log, NULL);
  const char *name;
  while ((name = g_dir_read_name (d)))
    {
      if (!g_str_has_prefix (name, "heaptrail.") || !g_str_has_suffix (name, ".htr"))
        continue;
      g_autofree char *p = g_build_filename (dir, name, NULL);
      struct stat st;
      if (g_str_equal (p, main_abs) || stat (p, &st) != 0)
        continue;
      /* file times come from the kernel's coarse clock, a few ms behind the real time */
      gint64 mtime_us = (gint64) st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000;
      if (mtime_us < since_us - 100000)
        continue;
      fprintf (stderr, _("%s: and a child process into %s\n"), prog_name, p);
    }
}

/* The program was killed by `sig`: so are we, as timeout(1) does, so that our caller sees
 * the same death (WIFSIGNALED; a shell's "Segmentation fault"; a pipeline's SIGPIPE).  The
 * program already left its core dump, if any; we leave none.  Returns only if the signal
 * does not end a process. */
static void
die_like (int sig)
{
  fflush (NULL);
  struct rlimit no_core = { 0, 0 };
  setrlimit (RLIMIT_CORE, &no_core);
  signal (sig, SIG_DFL);
  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, sig);
  sigprocmask (SIG_UNBLOCK, &set, NULL);
  raise (sig);
}

static int
record_usage (void)
{
  fprintf (stderr, _("Usage: %s record [-o FILE] [--frames N] [--follow-fork] [--no-follow-exec]\n"
                     "                 [--graph | --sample SIZE] [--native-frames all]\n"
                     "                 -- PROGRAM [ARGS...]\n"
                     "\n"
                     "Run PROGRAM under the recorder and write its allocations to FILE\n"
                     "(default heaptrail.PROGRAM.PID.htr).  Exits with PROGRAM's status.\n"
                     "When PROGRAM executes another program (a wrapper script, env, a pyenv\n"
                     "shim), the recording goes on in it, in the same FILE.\n"
                     "\n"
                     "  -o, --output FILE   where to write the log\n"
                     "  --frames N          stack depth to record (1-255, default 64)\n"
                     "  --native-frames all in a Python program, every native frame (the\n"
                     "                      interpreter's own too), not only those below the\n"
                     "                      innermost evaluation loop (the default, cheaper)\n"
                     "  --follow-fork       record forked children too, each into\n"
                     "                      heaptrail.PROGRAM.PID.htr beside FILE\n"
                     "  --no-follow-exec    stop recording when PROGRAM executes another\n"
                     "  --print-recorder    print the path of libheaptrail.so, for LD_PRELOAD\n"
                     "  --graph             keep the live blocks, and at each snapshot and at\n"
                     "                      exit note each one's first word (C++ class names)\n"
                     "  --sample SIZE       record one allocation per SIZE bytes on average\n"
                     "                      (e.g. 512KiB), as tcmalloc does: reports show\n"
                     "                      unbiased estimates, at a cost you hardly notice\n"),
           prog_name);
  return EXIT_USAGE;
}

int
cmd_record (int argc, char **argv)
{
  const char *output = NULL;
  long frames = 64;
  gboolean follow_fork = FALSE, follow_exec = TRUE, graph = FALSE, all_native = FALSE;
  guint64 sample = 0;
  int i = 1;
  for (; i < argc; i++)
    {
      const char *a = argv[i];
      if (strcmp (a, "--") == 0)
        {
          i++;
          break;
        }
      if (a[0] != '-')
        break;
      if ((strcmp (a, "-o") == 0 || strcmp (a, "--output") == 0) && i + 1 < argc)
        output = argv[++i];
      else if (g_str_has_prefix (a, "--output="))
        output = a + 9;
      else if ((strcmp (a, "--frames") == 0 && i + 1 < argc) || g_str_has_prefix (a, "--frames="))
        {
          const char *v = a[8] == '=' ? a + 9 : argv[++i];
          char *end = NULL;
          frames = strtol (v, &end, 10);
          if (!end || *end || frames < 1 || frames > 255)
            return fail (EXIT_USAGE, NULL, _("--frames takes a number from 1 to 255, not '%s'"),
                         v);
        }
      else if (strcmp (a, "--print-recorder") == 0)
        {
          g_autofree char *lib = find_recorder ();
          if (!lib)
            return fail (EXIT_FAILURE_, NULL, _("cannot find %s (set HEAPTRAIL_RECORDER to its path)"),
                         HT_RECORDER_NAME);
          printf ("%s\n", lib);
          return EXIT_OK;
        }
      else if (strcmp (a, "--follow-fork") == 0)
        follow_fork = TRUE;
      else if (strcmp (a, "--follow-exec") == 0)
        follow_exec = TRUE; /* the default; kept for scripts written before it was */
      else if (strcmp (a, "--no-follow-exec") == 0)
        follow_exec = FALSE;
      else if (strcmp (a, "--graph") == 0)
        graph = TRUE;
      else if ((strcmp (a, "--native-frames") == 0 && i + 1 < argc)
               || g_str_has_prefix (a, "--native-frames="))
        {
          const char *v = a[15] == '=' ? a + 16 : argv[++i];
          if (strcmp (v, "all") != 0 && strcmp (v, "inner") != 0)
            return fail (EXIT_USAGE, NULL, _("--native-frames takes 'all' or 'inner', not '%s'"),
                         v);
          all_native = strcmp (v, "all") == 0;
        }
      else if ((strcmp (a, "--sample") == 0 && i + 1 < argc) || g_str_has_prefix (a, "--sample="))
        {
          const char *v = a[8] == '=' ? a + 9 : argv[++i];
          if (!ht_parse_size (v, &sample) || sample == 0 || sample > (G_GUINT64_CONSTANT (1) << 40))
            return fail (EXIT_USAGE, NULL,
                         _("--sample takes a size from 1 byte to 1 TiB, such as 512KiB, not '%s'"), v);
        }
      else if (strcmp (a, "-h") == 0 || strcmp (a, "--help") == 0)
        {
          record_usage ();
          return EXIT_OK;
        }
      else
        {
          fail (EXIT_USAGE, NULL, _("record: unknown option '%s'"), a);
          return record_usage ();
        }
    }
  if (i >= argc)
    return record_usage ();
  if (graph && sample)
    return fail (EXIT_USAGE, NULL,
                 _("--graph and --sample do not go together: a sampled heap cannot be scanned for leaks"));
  char **child_argv = argv + i;
  g_autofree char *sample_s = g_strdup_printf ("%" G_GUINT64_FORMAT, sample);

  g_autofree char *recorder = find_recorder ();
  if (!recorder)
    return fail (EXIT_FAILURE_, NULL,
                 _("cannot find %s (set HEAPTRAIL_RECORDER to its path)"), HT_RECORDER_NAME);
  g_autofree char *preload = NULL;
  const char *old = g_getenv ("LD_PRELOAD");
  preload = old && *old ? g_strconcat (recorder, ":", old, NULL) : g_strdup (recorder);
  g_autofree char *frames_s = g_strdup_printf ("%ld", frames);
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *out_dir = NULL;
  if (output)
    {
      g_autofree char *d = g_path_get_dirname (output);
      out_dir = g_canonicalize_filename (d, cwd);
    }
  else
    out_dir = g_strdup (cwd);
  gint64 started = g_get_real_time ();

  fflush (NULL);
  pid_t pid = fork ();
  if (pid < 0)
    return fail (EXIT_FAILURE_, NULL, "fork: %s", g_strerror (errno));
  if (pid == 0)
    {
      g_autofree char *path = output ? g_strdup (output) : default_log_name (child_argv[0], getpid ());
      if (old) /* the recorder gives the program this back, set even when empty */
        setenv ("HEAPTRAIL_LD_PRELOAD", old, 1);
      setenv ("LD_PRELOAD", preload, 1);
      setenv ("HEAPTRAIL_OUTPUT", path, 1);
      setenv ("HEAPTRAIL_FRAMES", frames_s, 1);
      setenv ("HEAPTRAIL_DIR", out_dir, 1);
      if (follow_fork)
        setenv ("HEAPTRAIL_FOLLOW_FORK", "1", 1);
      if (follow_exec)
        setenv ("HEAPTRAIL_FOLLOW_EXEC", "1", 1);
      if (graph)
        setenv ("HEAPTRAIL_GRAPH", "1", 1);
      if (all_native)
        setenv ("HEAPTRAIL_NATIVE_FRAMES", "all", 1);
      if (sample)
        setenv ("HEAPTRAIL_SAMPLE", sample_s, 1);
      execvp (child_argv[0], child_argv);
      int err = errno;
      fprintf (stderr, "%s: %s: %s\n", prog_name, child_argv[0], g_strerror (err));
      _exit (err == ENOENT ? 127 : 126);
    }
  g_autofree char *path = output ? g_strdup (output) : default_log_name (child_argv[0], pid);
  /* like time(1): the terminal's signals are for the program; we wait for it */
  signal (SIGINT, SIG_IGN);
  signal (SIGQUIT, SIG_IGN);
  int status = 0;
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  signal (SIGINT, SIG_DFL);
  signal (SIGQUIT, SIG_DFL);
  int code = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
  if (WIFEXITED (status) && (code == 126 || code == 127) && !g_file_test (path, G_FILE_TEST_EXISTS))
    return code; /* the program did not start; the child said why */
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    fprintf (stderr, _("%s: recorded %s into %s\n"), prog_name, child_argv[0], path);
  else
    fprintf (stderr, _("%s: %s: no log was written\n"), prog_name, path);
  if (follow_fork)
    list_child_logs (out_dir, path, started);
  if (WIFSIGNALED (status))
    die_like (WTERMSIG (status));
  return code;
}
