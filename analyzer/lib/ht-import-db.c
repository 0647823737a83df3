/* ht-import-db.c - the end of an import: what the pass gathered, written to SQLite.
 *
 * Stamps become seconds through the SAMPLE records' (stamp, ns) pairs; every trace that
 * allocated is symbolized once (libdw, or the Python code objects' line tables) into
 * locations and site frames, shared by all; then the meta table, each snapshot's per-site
 * and per-type counters, the timeline and the heap graphs (ht-import-graph.c).  The
 * database is a temporary file renamed into place by ht-import.c.
 */
#define _GNU_SOURCE /* sigabbrev_np */
#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ht-db.h"
#include "ht-error.h"
#include "ht-import-private.h"
#include "ht-pycode.h"
#include "ht-reader.h"
#include "ht-symbols.h"

/* ---------------------------------------------------------------------------------------
 * Time: stamps to seconds since start, through the SAMPLE records' (stamp, ns) pairs
 */
double
stamp_seconds (HtImport *im, guint64 stamp)
{
  const HtLogInfo *info = ht_reader_info (im->reader);
  if (info->clock == HT_CLOCK_MONOTONIC || im->samples->len < 2)
    {
      if (info->clock != HT_CLOCK_MONOTONIC)
        return 0; /* a TSC log too short to calibrate */
      /* monotonic stamps are nanoseconds >> stamp_shift */
      const HtSample *s0 = im->samples->len ? &g_array_index (im->samples, HtSample, 0) : NULL;
      guint64 ns = stamp << info->stamp_shift;
      guint64 origin = s0 ? (s0->stamp << info->stamp_shift) - s0->mono_ns
                          : info->start_stamp << info->stamp_shift;
      return ns > origin ? (double) (ns - origin) / 1e9 : 0;
    }
  GArray *a = im->samples;
  guint lo = 0, hi = a->len - 1;
  while (hi - lo > 1)
    {
      guint mid = (lo + hi) / 2;
      if (g_array_index (a, HtSample, mid).stamp <= stamp)
        lo = mid;
      else
        hi = mid;
    }
  const HtSample *x = &g_array_index (a, HtSample, lo), *y = &g_array_index (a, HtSample, hi);
  if (y->stamp == x->stamp)
    return (double) x->mono_ns / 1e9;
  double slope = ((double) y->mono_ns - (double) x->mono_ns) / (double) (y->stamp - x->stamp);
  double ns = (double) x->mono_ns + slope * ((double) stamp - (double) x->stamp);
  return ns > 0 ? ns / 1e9 : 0;
}

/* Stamp units to seconds, for durations: the clock's rate over the whole recording. */
static double
stamp_units_seconds (HtImport *im, guint64 units)
{
  const HtLogInfo *info = ht_reader_info (im->reader);
  if (info->clock == HT_CLOCK_MONOTONIC)
    return (double) (units << info->stamp_shift) / 1e9;
  if (im->samples->len < 2)
    return 0;
  const HtSample *a = &g_array_index (im->samples, HtSample, 0);
  const HtSample *b = &g_array_index (im->samples, HtSample, im->samples->len - 1);
  if (b->stamp <= a->stamp)
    return 0;
  return (double) units * (double) (b->mono_ns - a->mono_ns) / (double) (b->stamp - a->stamp)
         / 1e9;
}

/* ---------------------------------------------------------------------------------------
 * Writing the database
 */
typedef struct
{
  sqlite3 *db;
  sqlite3_stmt *location, *site, *frame, *snap_site, *snap_type;
  GHashTable *locations; /* key string -> id */
  gint64 next_location;
} HtWriter;

static const char *const allocator_functions[] = {
  "malloc", "free", "calloc", "realloc", "reallocarray", "posix_memalign", "aligned_alloc",
  "memalign", "valloc", "pvalloc", "__libc_malloc", "__libc_calloc", "__libc_realloc",
  "__libc_memalign", "__libc_valloc", "__libc_pvalloc", "__posix_memalign",
  "_mid_memalign", "_int_malloc", NULL,
};

/* Allocator frames are hidden from stacks: the recorder's, the malloc family's, and C++'s
 * operator new.  Only the innermost run of them is dropped. */
static gboolean
frame_is_allocator (HtImport *im, gint32 module, const HtFrame *f)
{
  if (module >= 0)
    {
      const HtModuleInfo *m = im->modules->pdata[module];
      const char *base = strrchr (m->path, '/');
      if (g_str_has_prefix (base ? base + 1 : m->path, "libheaptrail"))
        return TRUE;
    }
  if (!f->function)
    return FALSE;
  if (g_str_has_prefix (f->function, "operator new"))
    return TRUE;
  for (guint i = 0; allocator_functions[i]; i++)
    if (strcmp (f->function, allocator_functions[i]) == 0)
      return TRUE;
  return FALSE;
}

static gint64
location_id (HtImport *im, HtWriter *w, gint32 module, const HtFrame *f, guint64 ip,
             gboolean python, GError **error)
{
  g_autofree char *fallback = NULL;
  const char *function = f->function;
  if (!function && module >= 0)
    {
      const HtModuleInfo *m = im->modules->pdata[module];
      const char *base = strrchr (m->path, '/');
      fallback = g_strdup_printf ("%s+0x%" G_GINT64_MODIFIER "x", base ? base + 1 : m->path,
                                  ip - m->bias);
    }
  else if (!function && ip == HT_FRAME_CUT)
    fallback = g_strdup_printf ("[stack cut at %u frames]", ht_reader_info (im->reader)->max_frames);
  else if (!function)
    fallback = g_strdup_printf ("0x%" G_GINT64_MODIFIER "x", ip);
  if (fallback)
    function = fallback;

  g_autofree char *key = g_strdup_printf ("%d\x1f%s\x1f%s\x1f%u\x1f%d", module, function,
                                          f->file ? f->file : "", f->line, python);
  gpointer id = g_hash_table_lookup (w->locations, key);
  if (id)
    return GPOINTER_TO_SIZE (id);
  gint64 new_id = ++w->next_location;
  sqlite3_reset (w->location);
  sqlite3_bind_int64 (w->location, 1, new_id);
  sqlite3_bind_text (w->location, 2, function, -1, SQLITE_TRANSIENT);
  if (f->file)
    sqlite3_bind_text (w->location, 3, f->file, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (w->location, 3);
  sqlite3_bind_int (w->location, 4, (int) f->line);
  if (module >= 0)
    sqlite3_bind_int (w->location, 5, module + 1);
  else
    sqlite3_bind_null (w->location, 5);
  sqlite3_bind_int (w->location, 6, python);
  if (sqlite3_step (w->location) != SQLITE_DONE)
    return ht_db_set_error (w->db, error, "writing locations") ? 0 : -1;
  g_hash_table_insert (w->locations, g_steal_pointer (&key), GSIZE_TO_POINTER (new_id));
  return new_id;
}

/* A Python frame's location (HT_FRAME_PYTHON): its code object's qualified name, file, and
 * the line of the instruction, from the code's line table. */
static gboolean
python_location (HtImport *im, guint64 ip, HtFrame *out)
{
  if (!(ip & HT_FRAME_PYTHON))
    return FALSE;
  const HtPyCodeInfo *c = g_hash_table_lookup (im->codes,
                                               GUINT_TO_POINTER ((guint) ((ip >> 32) & 0x7fffffff)));
  if (!c)
    {
      *out = (HtFrame){ "<unknown Python code>", NULL, 0 };
      return TRUE;
    }
  gsize len = 0;
  const guint8 *table = g_bytes_get_data (c->linetable, &len);
  int line = ht_py_code_line (table, len, c->first_line, (guint) (ip & 0xffffffffu));
  *out = (HtFrame){ c->qualname, c->filename, line > 0 ? (guint) line : (guint) c->first_line };
  return TRUE;
}

/* Writes a site's visible frames, innermost first, allocator frames dropped. */
static gboolean
write_site_frames (HtImport *im, HtWriter *w, guint32 trace, GError **error)
{
  gboolean leading = TRUE;
  guint depth = 0, hops = 0;
  for (guint32 id = trace; id != 0 && hops < 4096; hops++)
    {
      if (id >= im->nodes->len)
        break;
      HtNode *n = &g_array_index (im->nodes, HtNode, id);
      if (!n->defined)
        break;
      const HtFrame *frames = NULL;
      guint nf = 0;
      HtFrame unknown = { NULL, NULL, 0 };
      HtFrame python_frame;
      gboolean python = python_location (im, n->ip, &python_frame);
      const HtFrameSet *given = python ? NULL
                                       : g_hash_table_lookup (im->frame_sets,
                                                              GSIZE_TO_POINTER (n->ip));
      if (python)
        {
          frames = &python_frame;
          nf = 1;
        }
      else if (given)
        {
          frames = given->frames;
          nf = given->count;
        }
      else if (n->module >= 0)
        nf = ht_symbolizer_lookup (im->symbols, (guint) n->module, n->ip, &frames);
      if (nf == 0)
        {
          frames = &unknown;
          nf = 1;
        }
      for (guint i = 0; i < nf; i++)
        {
          if (leading && frame_is_allocator (im, n->module, &frames[i]))
            continue;
          leading = FALSE;
          gint64 loc = location_id (im, w, python ? -1 : n->module, &frames[i], n->ip, python,
                                    error);
          if (loc < 0)
            return FALSE;
          sqlite3_reset (w->frame);
          sqlite3_bind_int64 (w->frame, 1, trace);
          sqlite3_bind_int (w->frame, 2, (int) depth++);
          sqlite3_bind_int64 (w->frame, 3, loc);
          if (sqlite3_step (w->frame) != SQLITE_DONE)
            return ht_db_set_error (w->db, error, "writing frames");
        }
      id = n->parent;
    }
  return TRUE;
}

static gboolean
put_meta (sqlite3 *db, const char *key, GVariant *value, GError **error)
{
  sqlite3_stmt *st;
  if (!ht_db_prepare (db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", &st, error))
    return FALSE;
  sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
  g_variant_ref_sink (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    sqlite3_bind_text (st, 2, g_variant_get_string (value, NULL), -1, SQLITE_TRANSIENT);
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_DOUBLE))
    sqlite3_bind_double (st, 2, g_variant_get_double (value));
  else
    sqlite3_bind_int64 (st, 2, g_variant_get_int64 (value));
  g_variant_unref (value);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  sqlite3_finalize (st);
  return ok ? TRUE : ht_db_set_error (db, error, "writing meta");
}

#define META_INT(k, v) put_meta (db, k, g_variant_new_int64 ((gint64) (v)), error)
#define META_STR(k, v) put_meta (db, k, g_variant_new_string (v), error)
#define META_DBL(k, v) put_meta (db, k, g_variant_new_double (v), error)

static gint64
mtime_ns (const struct stat *st)
{
  return (gint64) st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

gboolean
ht_import_is_current (const char *log_path, const char *db_path)
{
  struct stat st;
  if (stat (log_path, &st) != 0 || !g_file_test (db_path, G_FILE_TEST_IS_REGULAR))
    return FALSE;
  g_autoptr (GError) error = NULL;
  g_autoptr (HtDb) db = ht_db_open (db_path, &error);
  if (!db)
    return FALSE;
  return ht_db_meta_int (db, "log_mtime_ns") == mtime_ns (&st)
         && ht_db_meta_int (db, "log_bytes") == (gint64) st.st_size;
}

static gboolean
write_meta (HtImport *im, sqlite3 *db, const char *log_path, GError **error)
{
  struct stat st;
  gint64 log_mtime = stat (log_path, &st) == 0 ? mtime_ns (&st) : 0;
  const HtLogInfo *info = ht_reader_info (im->reader);
  guint64 peak_rss = 0, recorder_peak = 0, recorder_time = 0;
  for (guint i = 0; i < im->samples->len; i++)
    {
      peak_rss = MAX (peak_rss, g_array_index (im->samples, HtSample, i).rss);
      recorder_peak = MAX (recorder_peak, g_array_index (im->samples, HtSample, i).recorder);
      recorder_time = MAX (recorder_time, g_array_index (im->samples, HtSample, i).recorder_time);
    }
  g_autoptr (GString) argv = g_string_new (NULL);
  GStrv args = im->image_argv ? im->image_argv : info->argv;
  const char *exe = im->image_exe ? im->image_exe : info->exe;
  for (guint i = 0; args[i]; i++)
    {
      g_autofree char *q = g_shell_quote (args[i]);
      g_string_append_printf (argv, "%s%s", i ? " " : "", q);
    }
  g_autofree char *abs = g_canonicalize_filename (log_path, NULL);
  double duration = stamp_seconds (im, im->last_stamp);
  static const char *const reasons[] = { "", "exit", "exec", "abort", "_exit", "detach" };
  g_autofree char *by_signal = NULL;
  if (im->ended && im->end_reason > HT_END_SIGNAL && im->end_reason < HT_END_SIGNAL + 65)
    {
      const char *abbrev = sigabbrev_np ((int) (im->end_reason - HT_END_SIGNAL));
      by_signal = abbrev ? g_strconcat ("SIG", abbrev, NULL)
                         : g_strdup_printf ("signal %d", (int) (im->end_reason - HT_END_SIGNAL));
    }
  const char *reason = !im->ended                                ? "incomplete"
                       : by_signal                               ? by_signal
                       : im->end_reason < G_N_ELEMENTS (reasons) ? reasons[im->end_reason]
                                                                 : "unknown";
  const char *w = ht_reader_warning (im->reader);
  return META_INT ("schema_version", HT_DB_SCHEMA_VERSION) && META_STR ("log_path", abs)
         && META_INT ("pid", info->pid) && META_INT ("ppid", info->ppid)
         && META_STR ("exe", exe) && META_STR ("command_line", argv->str)
         && META_STR ("exec_chain", im->exec_chain ? im->exec_chain->str : "")
         && META_STR ("lsan_default_suppressions",
                      im->program_suppressions ? im->program_suppressions : "")
         && META_INT ("exec_released_blocks", im->exec_released_blocks)
         && META_INT ("exec_released_bytes", im->exec_released_bytes)
         && META_INT ("start_unix_ns", info->start_unix_ns)
         && META_INT ("max_frames", info->max_frames)
         && META_STR ("clock", info->clock == HT_CLOCK_TSC ? "tsc" : "monotonic")
         && META_DBL ("duration_s", duration) && META_INT ("allocations", im->alloc_calls)
         && META_INT ("frees", im->free_calls) && META_INT ("allocated_bytes", im->total_bytes)
         && META_INT ("unmatched_frees", im->unmatched_frees)
         && META_INT ("attached", info->attached)
         && META_INT ("sample_bytes", im->sample_mean)
         && META_INT ("sampled_allocations", im->sampled_allocs)
         && META_INT ("counted_allocations", im->counted_calls)
         && META_INT ("counted_bytes", im->counted_bytes)
         && META_INT ("temporary", im->temporary) && META_INT ("short_lived", im->short_lived)
         && META_DBL ("short_lived_ms", im->short_lived_ms)
         && META_INT ("peak_heap_bytes", im->peak_bytes)
         && META_INT ("peak_heap_blocks", im->peak_blocks)
         && META_DBL ("peak_time_s", stamp_seconds (im, im->peak_stamp))
         && META_INT ("peak_rss_bytes", peak_rss) && META_INT ("leaked_bytes", im->heap_bytes)
         && META_INT ("leaked_blocks", im->heap_blocks)
         && META_INT ("recorder_peak_bytes", recorder_peak)
         && META_DBL ("recorder_time_s", stamp_units_seconds (im, recorder_time))
         && META_INT ("threads", im->threads)
         && META_INT ("lost_events", im->lost) && META_INT ("complete", im->ended)
         && META_STR ("warning", w ? w : "") && META_STR ("end_reason", reason)
         && META_INT ("end_marks", im->end_marks)
         && META_INT ("log_bytes", ht_reader_size (im->reader))
         && META_INT ("log_mtime_ns", log_mtime);
}

static gboolean
write_snapshot (HtImport *im, HtWriter *w, gint64 id, const HtSnap *snap, GError **error)
{
  sqlite3_stmt *st;
  if (!ht_db_prepare (w->db,
                      "INSERT INTO snapshots (id, label, kind, time_s, heap_bytes, heap_blocks)"
                      " VALUES (?, ?, ?, ?, ?, ?)",
                      &st, error))
    return FALSE;
  sqlite3_bind_int64 (st, 1, id);
  sqlite3_bind_text (st, 2, snap->label, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 3, snap->kind, -1, SQLITE_STATIC);
  sqlite3_bind_double (st, 4, stamp_seconds (im, snap->stamp));
  sqlite3_bind_int64 (st, 5, (gint64) snap->bytes);
  sqlite3_bind_int64 (st, 6, (gint64) snap->blocks);
  gboolean ok = sqlite3_step (st) == SQLITE_DONE;
  sqlite3_finalize (st);
  if (!ok)
    return ht_db_set_error (w->db, error, "writing snapshots");
  for (guint i = 0; i < snap->entries->len; i++)
    {
      const HtSnapEntry *e = &g_array_index (snap->entries, HtSnapEntry, i);
      sqlite3_reset (w->snap_site);
      sqlite3_bind_int64 (w->snap_site, 1, id);
      sqlite3_bind_int64 (w->snap_site, 2, e->node);
      sqlite3_bind_int64 (w->snap_site, 3, e->count);
      sqlite3_bind_int64 (w->snap_site, 4, e->bytes);
      sqlite3_bind_int64 (w->snap_site, 5, e->tagged_count);
      sqlite3_bind_int64 (w->snap_site, 6, e->tagged_bytes);
      if (sqlite3_step (w->snap_site) != SQLITE_DONE)
        return ht_db_set_error (w->db, error, "writing snapshot sites");
    }
  for (guint i = 0; i < snap->types->len; i++)
    {
      const HtTally *t = &g_array_index (snap->types, HtTally, i);
      if (t->count <= 0)
        continue;
      sqlite3_reset (w->snap_type);
      sqlite3_bind_int64 (w->snap_type, 1, id);
      sqlite3_bind_text (w->snap_type, 2, im->type_names->pdata[i], -1, SQLITE_STATIC);
      sqlite3_bind_int64 (w->snap_type, 3, t->count);
      sqlite3_bind_int64 (w->snap_type, 4, t->bytes);
      if (sqlite3_step (w->snap_type) != SQLITE_DONE)
        return ht_db_set_error (w->db, error, "writing snapshot types");
    }
  return !snap->scan || write_graph (im, w->db, id, snap->scan, error);
}

static gint
snap_by_time (gconstpointer a, gconstpointer b)
{
  const HtSnap *x = *(HtSnap **) a, *y = *(HtSnap **) b;
  return x->stamp < y->stamp ? -1 : x->stamp > y->stamp;
}

gboolean
write_database (HtImport *im, sqlite3 *db, const char *log_path, GError **error)
{
  HtWriter w = { .db = db };
  gboolean ok = FALSE;
  w.locations = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (!ht_db_exec (db, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; BEGIN", error)
      || !ht_db_create_schema (db, error) || !write_meta (im, db, log_path, error))
    goto out;
  if (!ht_db_prepare (db, "INSERT INTO locations VALUES (?, ?, ?, ?, ?, ?)", &w.location, error)
      || !ht_db_prepare (db, "INSERT INTO sites VALUES (?, ?, ?, ?, ?, ?, ?)", &w.site, error)
      || !ht_db_prepare (db, "INSERT INTO site_frames VALUES (?, ?, ?)", &w.frame, error)
      || !ht_db_prepare (db, "INSERT INTO snapshot_sites VALUES (?, ?, ?, ?, ?, ?)",
                         &w.snap_site, error)
      || !ht_db_prepare (db, "INSERT INTO snapshot_types VALUES (?, ?, ?, ?)", &w.snap_type,
                         error))
    goto out;

  sqlite3_stmt *st;
  if (!ht_db_prepare (db, "INSERT INTO modules VALUES (?, ?, ?, ?)", &st, error))
    goto out;
  for (guint i = 0; i < im->modules->len; i++)
    {
      const HtModuleInfo *m = im->modules->pdata[i];
      sqlite3_reset (st);
      sqlite3_bind_int (st, 1, (int) i + 1);
      sqlite3_bind_text (st, 2, m->path, -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 3, m->build_id, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (st, 4, (gint64) m->bias);
      if (sqlite3_step (st) != SQLITE_DONE)
        {
          sqlite3_finalize (st);
          ht_db_set_error (db, error, "writing modules");
          goto out;
        }
    }
  sqlite3_finalize (st);

  for (guint i = 0; i < im->nodes->len; i++)
    {
      HtNode *n = &g_array_index (im->nodes, HtNode, i);
      if (n->alloc_count == 0)
        continue;
      sqlite3_reset (w.site);
      sqlite3_bind_int64 (w.site, 1, i);
      sqlite3_bind_int64 (w.site, 2, (gint64) n->alloc_count);
      sqlite3_bind_int64 (w.site, 3, (gint64) n->alloc_bytes);
      sqlite3_bind_int64 (w.site, 4, (gint64) n->temporary);
      sqlite3_bind_int64 (w.site, 5, (gint64) n->temporary_bytes);
      sqlite3_bind_int64 (w.site, 6, (gint64) n->short_lived);
      sqlite3_bind_int64 (w.site, 7, (gint64) n->short_lived_bytes);
      if (sqlite3_step (w.site) != SQLITE_DONE)
        {
          ht_db_set_error (db, error, "writing sites");
          goto out;
        }
      if (!write_site_frames (im, &w, i, error))
        goto out;
    }
  if (!write_spans (im, db, error))
    goto out;

  /* every snapshot, the peak and the end included, numbered in time order */
  g_ptr_array_add (im->snapshots,
                   snap_capture (im, "peak", g_strdup ("peak"), im->peak_stamp, TRUE));
  HtSnap *end = snap_capture (im, "end", g_strdup ("end"), im->last_stamp, FALSE);
  end->scan = take_scan (im); /* the scan at exit */
  g_ptr_array_add (im->snapshots, end);
  g_ptr_array_sort (im->snapshots, snap_by_time);
  for (guint i = 0; i < im->snapshots->len; i++)
    {
      HtSnap *snap = im->snapshots->pdata[i];
      if (!snap->label) /* automatic ones are named by their time, now that it is known */
        {
          g_autofree char *name = g_strdup_printf ("@%.3fs", stamp_seconds (im, snap->stamp));
          snap->label = snap_label (im, name);
        }
    }
  for (guint i = 0; i < im->snapshots->len; i++)
    if (!write_snapshot (im, &w, i + 1, im->snapshots->pdata[i], error))
      goto out;

  if (!ht_db_prepare (db, "INSERT INTO timeline VALUES (?, ?, ?, ?)", &st, error))
    goto out;
  for (guint i = 0; i < im->samples->len; i++)
    {
      const HtSample *s = &g_array_index (im->samples, HtSample, i);
      sqlite3_reset (st);
      sqlite3_bind_double (st, 1, (double) s->mono_ns / 1e9);
      sqlite3_bind_int64 (st, 2, (gint64) s->heap);
      sqlite3_bind_int64 (st, 3, (gint64) s->rss);
      sqlite3_bind_int64 (st, 4, (gint64) s->recorder);
      if (sqlite3_step (st) != SQLITE_DONE)
        {
          sqlite3_finalize (st);
          ht_db_set_error (db, error, "writing the timeline");
          goto out;
        }
    }
  sqlite3_finalize (st);

  if (!ht_db_prepare (db, "INSERT INTO size_histogram VALUES (?, ?, ?, ?)", &st, error))
    goto out;
  for (guint i = 0; i < SIZE_BUCKETS; i++)
    {
      if (!im->size_count[i])
        continue;
      guint64 lo = i == 0 ? 0 : G_GUINT64_CONSTANT (1) << (i - 1);
      guint64 hi = i == 0 ? 0 : i == SIZE_BUCKETS - 1 ? G_MAXINT64 : (lo << 1) - 1;
      sqlite3_reset (st);
      sqlite3_bind_int64 (st, 1, (gint64) lo);
      sqlite3_bind_int64 (st, 2, (gint64) hi);
      sqlite3_bind_int64 (st, 3, (gint64) im->size_count[i]);
      sqlite3_bind_int64 (st, 4, (gint64) im->size_bytes[i]);
      sqlite3_step (st);
    }
  sqlite3_finalize (st);

  if (!ht_db_prepare (db, "INSERT INTO threads VALUES (?, ?, ?, ?, ?, ?)", &st, error))
    goto out;
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, im->streams);
  while (g_hash_table_iter_next (&it, &key, &value))
    g_ptr_array_add (im->finished_threads, g_memdup2 (value, sizeof (HtStreamState)));
  for (guint i = 0; i < im->finished_threads->len; i++)
    {
      HtStreamState *s = im->finished_threads->pdata[i];
      if (!s->tid && !s->alloc_count && !s->frees)
        continue;
      sqlite3_reset (st);
      sqlite3_bind_int64 (st, 1, i);
      sqlite3_bind_int64 (st, 2, (gint64) s->tid);
      sqlite3_bind_int64 (st, 3, (gint64) s->alloc_count);
      sqlite3_bind_int64 (st, 4, (gint64) s->alloc_bytes);
      sqlite3_bind_int64 (st, 5, (gint64) s->temporary);
      sqlite3_bind_int64 (st, 6, (gint64) s->frees);
      sqlite3_step (st);
    }
  sqlite3_finalize (st);

  ok = ht_db_exec (db,
                   "CREATE INDEX snapshot_sites_trace ON snapshot_sites (trace_id);"
                   "CREATE INDEX locations_file ON locations (file, line);"
                   "CREATE INDEX graph_roots_dst ON graph_roots (snapshot_id, dst);"
                   "CREATE INDEX graph_blocks_retained ON graph_blocks (snapshot_id, retained);"
                   "COMMIT",
                   error);
out:
  sqlite3_finalize (w.location);
  sqlite3_finalize (w.site);
  sqlite3_finalize (w.frame);
  sqlite3_finalize (w.snap_site);
  sqlite3_finalize (w.snap_type);
  g_hash_table_unref (w.locations);
  return ok;
}

