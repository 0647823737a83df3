/* cli-common.c - what every heaptrail command shares: exit codes for errors, opening a
 * recording (importing a log on first use), option parsing, JSON output.  Each command
 * lives in its own file (cmd-*.c) or, for the older ones, in heaptrail.c, and includes
 * ht-cli.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ht-cli.h"
#include "ht-error.h"
#include "ht-import.h"
#include "ht-reader.h"

int
exit_code_for (const GError *error)
{
  if (error->domain == HT_LOG_ERROR)
    return error->code == HT_LOG_ERROR_IO ? EXIT_IO : EXIT_BAD_INPUT;
  if (error->domain == HT_DB_ERROR)
    {
      if (error->code == HT_DB_ERROR_NOT_OURS || error->code == HT_DB_ERROR_VERSION)
        return EXIT_BAD_INPUT;
      if (error->code == HT_DB_ERROR_CANCELLED)
        return EXIT_INTERRUPTED;
      if (error->code == HT_DB_ERROR_NOT_FOUND)
        return EXIT_USAGE;
    }
  return EXIT_FAILURE_;
}

void
print_warnings (const char *file, const char *warnings)
{
  if (!warnings)
    return;
  g_auto (GStrv) lines = g_strsplit (warnings, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    if (*lines[i])
      fprintf (stderr, _("%s: %s: warning: %s\n"), prog_name, file, lines[i]);
}

/* ---------------------------------------------------------------------------------------
 * Opening a recording
 */
static void
on_sigint_during_import (int sig)
{
  const char *tmp = ht_import_current_tmp_path ();
  if (tmp)
    unlink (tmp);
  signal (sig, SIG_DFL);
  raise (sig);
}

static void
show_progress (double fraction, gpointer data)
{
  const char *file = data;
  int width = 30, done = (int) (fraction * width);
  fprintf (stderr, "\r%s %s [", _("importing"), file);
  for (int i = 0; i < width; i++)
    fputc (i < done ? '#' : '.', stderr);
  fprintf (stderr, "] %3d%%", (int) (fraction * 100));
  if (fraction >= 1.0)
    fputc ('\n', stderr);
  fflush (stderr);
}

int import_snapshots; /* heaptrail import --snapshots N; 0: the default */
double import_short_lived_ms; /* --short-lived MS; 0: the default */
char *time_arg;                /* --time FROM..TO as given */
double window_from_s, window_to_s; /* parsed; window_to_s 0: the whole run */
double time_span_from_s, time_span_to_s; /* what the buckets of --time cover */

int
do_import (const char *log, const char *db_path)
{
  HtImportOptions options = { .auto_snapshots = import_snapshots,
                              .short_lived_ms = import_short_lived_ms };
  if (isatty (2))
    {
      options.progress = show_progress;
      options.progress_data = (gpointer) log;
    }
  signal (SIGINT, on_sigint_during_import);
  signal (SIGTERM, on_sigint_during_import);
  g_autoptr (GError) error = NULL;
  gboolean ok = ht_import (log, db_path, &options, &error);
  signal (SIGINT, SIG_DFL);
  signal (SIGTERM, SIG_DFL);
  print_warnings (log, options.warnings);
  g_free (options.warnings);
  if (!ok)
    return fail (exit_code_for (error), log, "%s", error->message);
  return EXIT_OK;
}

gboolean
is_sqlite (const char *path)
{
  char magic[16] = { 0 };
  FILE *f = fopen (path, "rb");
  if (!f)
    return FALSE;
  gboolean ok = fread (magic, 1, sizeof magic, f) == sizeof magic
                && memcmp (magic, "SQLite format 3", 16) == 0;
  fclose (f);
  return ok;
}

/* Opens REC: a database, or a log whose database is (re)built when missing or older. */
gboolean native_frames; /* --native: see ht_db_set_native_frames */
gboolean json;          /* --json, for every command that has it */
gint64 sample_bytes;    /* the open recording's --sample, or 0 */

HtDb *
open_recording (const char *rec, int *code)
{
  g_autoptr (GError) error = NULL;
  struct stat st;
  if (stat (rec, &st) != 0)
    {
      *code = fail (EXIT_IO, rec, "%s", g_strerror (errno));
      return NULL;
    }
  if (S_ISDIR (st.st_mode))
    {
      *code = fail (EXIT_BAD_INPUT, rec, _("is a directory, not a recording"));
      return NULL;
    }
  if (access (rec, R_OK) != 0)
    {
      *code = fail (EXIT_IO, rec, "%s", g_strerror (errno));
      return NULL;
    }
  const char *db_path = rec;
  g_autofree char *derived = NULL;
  if (!is_sqlite (rec))
    {
      if (!ht_log_looks_like_log (rec))
        {
          *code = fail (EXIT_BAD_INPUT, rec,
                        st.st_size == 0 ? _("empty file, not a heaptrail log or database")
                                        : _("not a heaptrail log or database"));
          return NULL;
        }
      derived = ht_import_default_db_path (rec);
      if (!ht_import_is_current (rec, derived))
        {
          *code = do_import (rec, derived);
          if (*code != EXIT_OK)
            return NULL;
        }
      db_path = derived;
    }
  HtDb *db = ht_db_open (db_path, &error);
  if (!db)
    {
      *code = fail (exit_code_for (error), db_path, "%s", error->message);
      return NULL;
    }
  /* --short-lived is applied at import: import again when it differs */
  if (import_short_lived_ms > 0
      && ht_db_meta_double (db, "short_lived_ms") != import_short_lived_ms)
    {
      ht_db_close (db);
      if (!derived)
        {
          *code = fail (EXIT_USAGE, rec,
                        _("this database was imported with another --short-lived; "
                          "give the log, which is imported again"));
          return NULL;
        }
      *code = do_import (rec, derived);
      if (*code != EXIT_OK)
        return NULL;
      db = ht_db_open (db_path, &error);
      if (!db)
        *code = fail (exit_code_for (error), db_path, "%s", error->message);
    }
  if (db)
    {
      ht_db_set_native_frames (db, native_frames);
      /* a sampled recording's figures are estimates: every report says so first */
      sample_bytes = ht_db_meta_int (db, "sample_bytes");
      if (sample_bytes > 0 && !json)
        {
          g_autofree char *rate = ht_format_size ((double) sample_bytes, FALSE);
          printf (_("~ sampled: one allocation per %s on average was recorded; sizes and counts "
                    "are estimates\n"),
                  rate);
        }
    }
  return db;
}

/* ---------------------------------------------------------------------------------------
 * JSON output
 */
void
print_json (JsonBuilder *b)
{
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  /* a sampled recording's figures are estimates: every document (or each object of a list)
   * says so */
  JsonArray *list = JSON_NODE_HOLDS_ARRAY (root) ? json_node_get_array (root) : NULL;
  guint n = list ? json_array_get_length (list) : 1;
  for (guint i = 0; i < n; i++)
    {
      JsonNode *item = list ? json_array_get_element (list, i) : root;
      if (!JSON_NODE_HOLDS_OBJECT (item))
        continue;
      JsonObject *o = json_node_get_object (item);
      json_object_set_boolean_member (o, "estimated", sample_bytes > 0);
      json_object_set_int_member (o, "sample_bytes", sample_bytes);
    }
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, root);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
}

/* "size_sd": the standard deviation of a sampled recording's estimate, in bytes */
void
json_size_deviation (JsonBuilder *b, const HtStat *s)
{
  if (sample_bytes > 0)
    JSON_DBL (b, "size_sd",
              ht_sample_deviation ((double) s->size, (double) s->count, (double) sample_bytes));
}

void
json_location (JsonBuilder *b, const HtLocation *l)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "function");
  json_builder_add_string_value (b, l->function);
  json_builder_set_member_name (b, "file");
  if (l->file)
    json_builder_add_string_value (b, l->file);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "line");
  json_builder_add_int_value (b, l->line);
  json_builder_end_object (b);
}


gboolean
parse_options (GOptionEntry *entries, const char *params, const char *summary, int *argc,
               char ***argv, int min_args, int max_args, int *code)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new (params);
  g_option_context_set_summary (ctx, summary);
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (ctx, GETTEXT_PACKAGE);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, argc, argv, &error))
    {
      *code = fail (EXIT_USAGE, NULL, "%s", error->message);
      return FALSE;
    }
  if (!parse_time_window ())
    {
      *code = fail (EXIT_USAGE, NULL, _("--time takes FROM..TO in seconds, such as 1.5..3"));
      return FALSE;
    }
  int n = *argc - 1;
  if (n < min_args || n > max_args)
    {
      g_autofree char *help = g_option_context_get_help (ctx, TRUE, NULL);
      fprintf (stderr, "%s", help);
      *code = EXIT_USAGE;
      return FALSE;
    }
  return TRUE;
}


/* --time as a query: the time buckets the database holds that the range overlaps, the
 * span they cover said first (tracemalloc's text starts with it; JSON has time_from_s and
 * time_to_s).  TRUE without --time. */
gboolean
apply_time_range (HtDb *db, HtTopOptions *opt, const char *rec, int *code)
{
  if (!time_arg)
    return TRUE;
  g_autoptr (GError) error = NULL;
  double bucket_s = 0;
  if (!ht_query_time_range (db, window_from_s, window_to_s, &time_span_from_s, &time_span_to_s,
                            &bucket_s, &error))
    {
      *code = fail (exit_code_for (error), rec, "%s", error->message);
      return FALSE;
    }
  opt->time_from_s = window_from_s;
  opt->time_to_s = window_to_s;
  if (!json)
    printf (_("# allocations made between %.3f s and %.3f s (the time buckets --time %s "
              "overlaps; %.1f ms each)\n"),
            time_span_from_s, time_span_to_s, time_arg, bucket_s * 1e3);
  return TRUE;
}

void
json_time_range (JsonBuilder *b)
{
  if (!time_arg)
    return;
  JSON_DBL (b, "time_from_s", time_span_from_s);
  JSON_DBL (b, "time_to_s", time_span_to_s);
}

/* "1.5..3", "..2s", "4.." -> window_from_s, window_to_s; FALSE when malformed */
gboolean
parse_time_window (void)
{
  if (!time_arg)
    return TRUE;
  const char *dots = strstr (time_arg, "..");
  if (!dots)
    return FALSE;
  g_autofree char *from = g_strndup (time_arg, (gsize) (dots - time_arg));
  const char *to = dots + 2;
  char *end;
  window_from_s = 0;
  window_to_s = 1e12; /* "until the end" */
  if (*from)
    {
      window_from_s = g_ascii_strtod (from, &end);
      if (end == from || (*end && !g_str_equal (end, "s")) || window_from_s < 0)
        return FALSE;
    }
  if (*to)
    {
      window_to_s = g_ascii_strtod (to, &end);
      if (end == to || (*end && !g_str_equal (end, "s")))
        return FALSE;
    }
  return window_to_s > window_from_s;
}



/* --include / --exclude, shared by the commands that group traces */
char **filter_include, **filter_exclude;


void
apply_filters (HtTopOptions *opt)
{
  opt->include = (const char *const *) filter_include;
  opt->exclude = (const char *const *) filter_exclude;
}

