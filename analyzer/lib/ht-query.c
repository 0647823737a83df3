/* ht-query.c - top-N statistics and the summary, as tracemalloc computes them.
 *
 * A group's key comes from the stack's "key frame": the innermost visible frame in the
 * program's own code (not in a system library under /lib or /usr/lib, nor inlined from a
 * system header under /usr/include, such as std::vector's) that has a source file; else, when no such frame exists (a system program, or one built without -g), the
 * innermost visible frame.  That skips libc helpers such as strdup or fopen, so `--by line`
 * points at the user's line and not into libc, even when libc's debug info is installed.  `--cumulative` adds a trace to the key of every one of its frames,
 * once per key, like tracemalloc's cumulative mode.
 */
#include <math.h>
#include <string.h>

#include "ht-error.h"
#include "ht-graph.h"
#include "ht-heap.h"
#include "ht-query.h"
#include "ht-suppressions.h"

/* "peak", "end", a label, or a time ("1.5s"): the snapshot taken at or before it. */
char *
ht_query_resolve_at (HtDb *db, const char *at, GError **error)
{
  sqlite3 *h = ht_db_handle (db);
  sqlite3_stmt *st;
  if (!ht_db_prepare (h, "SELECT label FROM snapshots WHERE label = ?", &st, error))
    return NULL;
  sqlite3_bind_text (st, 1, at, -1, SQLITE_STATIC);
  char *label = NULL;
  if (sqlite3_step (st) == SQLITE_ROW)
    label = g_strdup ((const char *) sqlite3_column_text (st, 0));
  sqlite3_finalize (st);
  if (label)
    return label;

  char *end = NULL;
  double t = g_ascii_strtod (at, &end);
  if (end && end != at && g_str_equal (end, "s") && t >= 0)
    {
      if (!ht_db_prepare (h,
                          "SELECT label FROM snapshots WHERE time_s <= ? ORDER BY time_s DESC,"
                          " id DESC LIMIT 1",
                          &st, error))
        return NULL;
      sqlite3_bind_double (st, 1, t);
      if (sqlite3_step (st) == SQLITE_ROW)
        label = g_strdup ((const char *) sqlite3_column_text (st, 0));
      sqlite3_finalize (st);
      if (label)
        return label;
      g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_NOT_FOUND, "no snapshot at or before %s", at);
      return NULL;
    }
  g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_NOT_FOUND,
               "no snapshot named '%s' ('heaptrail snapshots' lists them; a time is written 1.5s)",
               at);
  return NULL;
}

static void
location_free (gpointer data)
{
  HtLocation *l = data;
  g_free (l->function);
  g_free (l->file);
  g_free (l->module);
  g_free (l);
}

static void
stat_free (gpointer data)
{
  HtStat *s = data;
  g_free (s->key);
  g_free (s->match);
  if (s->traceback)
    g_ptr_array_unref (s->traceback);
  g_free (s);
}

char *
ht_format_size (double size, gboolean sign)
{
  static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
  for (guint i = 0; i < G_N_ELEMENTS (units); i++)
    {
      if (fabs (size) < 100 && i > 0)
        return g_strdup_printf (sign ? "%+.1f %s" : "%.1f %s", size, units[i]);
      if (fabs (size) < 10 * 1024 || i == G_N_ELEMENTS (units) - 1)
        return g_strdup_printf (sign ? "%+.0f %s" : "%.0f %s", size, units[i]);
      size /= 1024;
    }
  g_assert_not_reached ();
}

/* "4096", "512KiB", "64k", "1.5 MiB", "2G": bytes, with binary multiples (k and KiB alike);
 * FALSE for anything else, or for more than 2^62 bytes. */
gboolean
ht_parse_size (const char *text, guint64 *out)
{
  static const char *const units[] = { "", "k", "m", "g", "t" };
  if (!text || !g_ascii_isdigit (*text))
    return FALSE;
  char *end = NULL;
  double value = g_ascii_strtod (text, &end);
  while (*end == ' ')
    end++;
  g_autofree char *unit = g_ascii_strdown (end, -1);
  if (g_str_has_suffix (unit, "ib"))
    unit[strlen (unit) - 2] = 0;
  else if (g_str_has_suffix (unit, "b"))
    unit[strlen (unit) - 1] = 0;
  for (guint i = 0; i < G_N_ELEMENTS (units); i++)
    if (strcmp (unit, units[i]) == 0)
      {
        double bytes = value * (double) (G_GUINT64_CONSTANT (1) << (10 * i));
        if (!(bytes >= 0) || bytes > 4.6e18 || (i == 0 && bytes != (double) (guint64) bytes))
          return FALSE;
        *out = (guint64) bytes;
        return TRUE;
      }
  return FALSE;
}

char *
ht_display_path (const char *file)
{
  if (!file)
    return NULL;
  g_autofree char *cwd = g_get_current_dir ();
  gsize n = strlen (cwd);
  if (strncmp (file, cwd, n) == 0 && file[n] == '/')
    return g_strdup (file + n + 1);
  return g_strdup (file);
}

char *
ht_location_format (const HtLocation *loc)
{
  if (loc->file)
    {
      g_autofree char *path = ht_display_path (loc->file);
      return g_strdup_printf ("%s:%u", path, loc->line);
    }
  return g_strdup (loc->function);
}

/* All locations, by id (loaded once per database, then shared: callers get a reference). */
static GHashTable *load_locations_uncached (HtDb *db, GError **error);
static GHashTable *load_frames_uncached (HtDb *db, gboolean python_only, GError **error);

static GHashTable *
load_cached (HtDb *db, const char *key, GHashTable *(*load) (HtDb *, GError **), GError **error)
{
  GHashTable *h = ht_db_cache_get (db, key);
  if (!h)
    {
      h = load (db, error);
      if (!h)
        return NULL;
      ht_db_cache_set (db, key, h, (GDestroyNotify) g_hash_table_unref);
    }
  return g_hash_table_ref (h);
}

static GHashTable *
load_locations (HtDb *db, GError **error)
{
  return load_cached (db, "ht-locations", load_locations_uncached, error);
}

static GHashTable *load_frames_native (HtDb *db, GError **error);
static GHashTable *load_frames_python (HtDb *db, GError **error);

static GHashTable *
load_frames (HtDb *db, GError **error)
{
  return ht_db_get_native_frames (db)
           ? load_cached (db, "ht-frames-native", load_frames_native, error)
           : load_cached (db, "ht-frames", load_frames_python, error);
}

static GHashTable *
load_locations_uncached (HtDb *db, GError **error)
{
  sqlite3_stmt *st;
  if (!ht_db_prepare (ht_db_handle (db), "SELECT l.id, l.function, l.file, l.line, m.path FROM locations l"
                      " LEFT JOIN modules m ON m.id = l.module_id", &st,
                      error))
    return NULL;
  GHashTable *h = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, location_free);
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      HtLocation *l = g_new0 (HtLocation, 1);
      gint64 id = sqlite3_column_int64 (st, 0);
      l->function = g_strdup ((const char *) sqlite3_column_text (st, 1));
      if (!l->function)
        l->function = g_strdup ("??");
      l->file = g_strdup ((const char *) sqlite3_column_text (st, 2));
      l->line = (guint) sqlite3_column_int (st, 3);
      l->module = g_strdup ((const char *) sqlite3_column_text (st, 4));
      g_hash_table_insert (h, g_memdup2 (&id, sizeof id), l);
    }
  sqlite3_finalize (st);
  return h;
}

/* trace id -> GArray of location ids, innermost first.  With `python_only`, a stack that
 * has Python frames keeps only those. */
static GHashTable *
load_frames_uncached (HtDb *db, gboolean python_only, GError **error)
{
  sqlite3_stmt *st;
  if (!ht_db_prepare (ht_db_handle (db),
                      "SELECT f.trace_id, f.location_id, l.python FROM site_frames f"
                      " JOIN locations l ON l.id = f.location_id ORDER BY f.trace_id, f.depth",
                      &st, error))
    return NULL;
  GHashTable *h = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                         (GDestroyNotify) g_array_unref);
  gint64 current = -1;
  GArray *a = NULL, *py = NULL;
  while (TRUE)
    {
      gboolean row = sqlite3_step (st) == SQLITE_ROW;
      gint64 trace = row ? sqlite3_column_int64 (st, 0) : -1;
      if ((!row || trace != current) && a)
        {
          /* the previous stack is complete */
          GArray *keep = py && py->len ? py : a;
          g_hash_table_insert (h, g_memdup2 (&current, sizeof current), g_array_ref (keep));
          g_clear_pointer (&a, g_array_unref);
          g_clear_pointer (&py, g_array_unref);
        }
      if (!row)
        break;
      if (!a)
        {
          a = g_array_new (FALSE, FALSE, sizeof (gint64));
          py = python_only ? g_array_new (FALSE, FALSE, sizeof (gint64)) : NULL;
          current = trace;
        }
      gint64 loc = sqlite3_column_int64 (st, 1);
      g_array_append_val (a, loc);
      if (py && sqlite3_column_int (st, 2))
        g_array_append_val (py, loc);
    }
  sqlite3_finalize (st);
  return h;
}

static GHashTable *
load_frames_native (HtDb *db, GError **error)
{
  return load_frames_uncached (db, FALSE, error);
}

static GHashTable *
load_frames_python (HtDb *db, GError **error)
{
  return load_frames_uncached (db, TRUE, error);
}

/* Every query's names: the shared locations and stacks (see load_cached). */
struct _HtTraceNames
{
  GHashTable *locations, *frames;
};

HtTraceNames *
ht_trace_names_new (HtDb *db, GError **error)
{
  GHashTable *locations = load_locations (db, error);
  if (!locations)
    return NULL;
  GHashTable *frames = load_frames (db, error);
  if (!frames)
    {
      g_hash_table_unref (locations);
      return NULL;
    }
  HtTraceNames *self = g_new (HtTraceNames, 1);
  self->locations = locations;
  self->frames = frames;
  return self;
}

void
ht_trace_names_free (HtTraceNames *self)
{
  if (!self)
    return;
  g_hash_table_unref (self->locations);
  g_hash_table_unref (self->frames);
  g_free (self);
}

static HtLocation *
location_copy (const HtLocation *l)
{
  HtLocation *c = g_new0 (HtLocation, 1);
  c->function = g_strdup (l->function);
  c->file = g_strdup (l->file);
  c->line = l->line;
  c->module = g_strdup (l->module);
  return c;
}

static gboolean
is_system_library (const char *path)
{
  static const char *const dirs[] = { "/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/",
                                      "/usr/local/lib/" };
  for (guint i = 0; path && i < G_N_ELEMENTS (dirs); i++)
    if (g_str_has_prefix (path, dirs[i]))
      return TRUE;
  return FALSE;
}

/* See the top of this file. */
static const HtLocation *
key_frame (GArray *frames, GHashTable *locations)
{
  for (guint i = 0; i < frames->len; i++)
    {
      const HtLocation *l = g_hash_table_lookup (locations, &g_array_index (frames, gint64, i));
      if (l && l->file && !is_system_library (l->module)
          && !g_str_has_prefix (l->file, "/usr/include/"))
        return l;
    }
  return g_hash_table_lookup (locations, &g_array_index (frames, gint64, 0));
}

static char *
group_key (HtGroupBy by, const HtLocation *l)
{
  switch (by)
    {
    case HT_GROUP_FUNCTION:
      return g_strdup (l->function);
    case HT_GROUP_FILE:
      return l->file ? ht_display_path (l->file) : g_strdup (l->function);
    case HT_GROUP_LINE:
    case HT_GROUP_TRACEBACK:
    default:
      return ht_location_format (l);
    }
}

static HtStat *
add_to_group (GHashTable *groups, char *key, gint64 count, gint64 bytes, GArray *frames,
              GHashTable *locations)
{
  HtStat *s = g_hash_table_lookup (groups, key);
  if (!s)
    {
      s = g_new0 (HtStat, 1);
      s->key = key;
      s->reach = -1;
      s->traceback = g_ptr_array_new_with_free_func (location_free);
      for (guint i = 0; frames && i < frames->len; i++)
        {
          const HtLocation *l = g_hash_table_lookup (locations, &g_array_index (frames, gint64, i));
          if (l)
            g_ptr_array_add (s->traceback, location_copy (l));
        }
      g_hash_table_insert (groups, key, s);
    }
  else
    g_free (key);
  s->count += (guint64) count;
  s->size += (guint64) bytes;
  return s;
}

static gint
stat_compare (gconstpointer a, gconstpointer b)
{
  const HtStat *x = *(HtStat **) a, *y = *(HtStat **) b;
  if (x->size != y->size)
    return x->size > y->size ? -1 : 1;
  if (x->count != y->count)
    return x->count > y->count ? -1 : 1;
  return strcmp (x->key, y->key);
}

static gboolean
glob_matches (const char *glob, const char *path)
{
  if (!path)
    return FALSE;
  if (!strchr (glob, '/'))
    {
      const char *base = strrchr (path, '/');
      path = base ? base + 1 : path;
    }
  return g_pattern_match_simple (glob, path);
}

/* Like tracemalloc's Filter (all_frames=False), only the innermost frame is considered:
 * where the allocation call is, after the allocator's own frames are hidden. */
static gboolean
trace_matches (GArray *frames, GHashTable *locations, const char *const *globs)
{
  if (!frames || frames->len == 0)
    return FALSE;
  const HtLocation *l = g_hash_table_lookup (locations, &g_array_index (frames, gint64, 0));
  for (guint g = 0; l && globs[g]; g++)
    if (glob_matches (globs[g], l->file) || glob_matches (globs[g], l->module))
      return TRUE;
  return FALSE;
}

/* See HtTopOptions: tracemalloc's filter_traces(). */
static gboolean
trace_passes (const HtTopOptions *options, GArray *frames, GHashTable *locations)
{
  if (options->include && options->include[0]
      && !trace_matches (frames, locations, options->include))
    return FALSE;
  return !(options->exclude && options->exclude[0]
           && trace_matches (frames, locations, options->exclude));
}

/* A trace's group for options->by (cumulative aside): its key frame's line, function or
 * file; its frames' contents for a traceback (not ids, so that two recordings match; the
 * display key is replaced by the innermost frame later); for a type, the block's tag or
 * class when it has one, else the key frame's function. */
static char *
trace_key (const HtTopOptions *options, GArray *fr, GHashTable *locations, const char *type)
{
  static const HtLocation unknown = { (char *) "<unknown>", NULL, 0, NULL };
  if (options->by == HT_GROUP_TYPE && type)
    return g_strdup (type);
  if (options->by == HT_GROUP_TRACEBACK)
    {
      GString *k = g_string_new (NULL);
      for (guint i = 0; fr && i < fr->len; i++)
        {
          const HtLocation *l = g_hash_table_lookup (locations, &g_array_index (fr, gint64, i));
          if (l)
            g_string_append_printf (k, "%s\x1f%s\x1f%u\x1e", l->function, l->file ? l->file : "",
                                    l->line);
        }
      return g_string_free (k, FALSE);
    }
  HtGroupBy by = options->by == HT_GROUP_TYPE ? HT_GROUP_FUNCTION : options->by;
  const HtLocation *key_loc = fr && fr->len ? key_frame (fr, locations) : NULL;
  return group_key (by, key_loc ? key_loc : &unknown);
}

/* Groups rows of (trace_id, count, bytes) from `st` as options say. */
/* A stack (location ids, innermost first) with its recursion folded: walked from the
 * outermost frame in, a function met again takes the stack back to where it was first
 * met.  A new array; NULL for a stack without recursion. */
static GArray *
fold_recursion (GArray *fr, GHashTable *locations)
{
  if (!fr || fr->len < 2)
    return NULL;
  g_autoptr (GArray) path = g_array_sized_new (FALSE, FALSE, sizeof (gint64), fr->len);
  gboolean folded = FALSE;
  for (guint k = fr->len; k-- > 0;)
    {
      gint64 id = g_array_index (fr, gint64, k);
      const HtLocation *l = g_hash_table_lookup (locations, &id);
      guint j = 0;
      for (; l && j < path->len; j++)
        {
          const HtLocation *m
            = g_hash_table_lookup (locations, &g_array_index (path, gint64, j));
          if (m && g_str_equal (m->function, l->function))
            break;
        }
      if (l && j < path->len)
        {
          /* back to the first call, which now stands for the innermost of the cycle */
          g_array_set_size (path, j);
          folded = TRUE;
        }
      g_array_append_val (path, id);
    }
  if (!folded)
    return NULL;
  GArray *out = g_array_sized_new (FALSE, FALSE, sizeof (gint64), path->len);
  for (guint k = path->len; k-- > 0;)
    g_array_append_val (out, g_array_index (path, gint64, k));
  return out;
}

static GHashTable *
group_rows (const HtTopOptions *options, sqlite3_stmt *st, GHashTable *locations,
            GHashTable *frames)
{
  GHashTable *groups = g_hash_table_new (g_str_hash, g_str_equal);
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      gint64 trace = sqlite3_column_int64 (st, 0);
      gint64 count = sqlite3_column_int64 (st, 1);
      gint64 bytes = sqlite3_column_int64 (st, 2);
      GArray *fr = g_hash_table_lookup (frames, &trace);
      if (!trace_passes (options, fr, locations))
        continue;
      g_autoptr (GArray) folded = options->fold_recursion ? fold_recursion (fr, locations) : NULL;
      if (folded)
        fr = folded;
      if (options->cumulative && options->by != HT_GROUP_TRACEBACK && fr && fr->len)
        {
          g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                               NULL);
          HtGroupBy by = options->by == HT_GROUP_TYPE ? HT_GROUP_FUNCTION : options->by;
          for (guint i = 0; i < fr->len; i++)
            {
              const HtLocation *l = g_hash_table_lookup (locations, &g_array_index (fr, gint64, i));
              if (!l)
                continue;
              char *key = group_key (by, l);
              if (g_hash_table_contains (seen, key))
                {
                  g_free (key);
                  continue;
                }
              g_hash_table_add (seen, g_strdup (key));
              add_to_group (groups, key, count, bytes, NULL, locations);
            }
          continue;
        }
      add_to_group (groups, trace_key (options, fr, locations, NULL), count, bytes, fr, locations);
    }
  return groups;
}

/* The groups as a sorted array; a traceback's display key becomes its innermost frame. */
static GPtrArray *
finish_groups (GHashTable *groups, const HtTopOptions *options)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (stat_free);
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, groups);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      HtStat *s = value;
      s->match = g_strdup (s->key);
      if (options->by == HT_GROUP_TRACEBACK)
        {
          g_free (s->key);
          s->key = s->traceback->len ? ht_location_format (s->traceback->pdata[0])
                                     : g_strdup ("<unknown>");
        }
      g_ptr_array_add (out, s);
    }
  g_hash_table_unref (groups);
  g_ptr_array_sort (out, stat_compare);
  return out;
}

/* The rows (trace_id, count, bytes) `options` selects, as a prepared statement: the sites'
 * figures over the run (allocations, temporary, short-lived), or the live blocks per trace
 * at the snapshot options->at (default: the peak), tagged ones left out if asked. */
static sqlite3_stmt *
metric_rows (HtDb *db, const HtTopOptions *options, GError **error)
{
  gboolean live = !options->allocations && !options->temporary && !options->short_lived;
  g_autofree char *label = NULL;
  if (live && !(label = ht_query_resolve_at (db, options->at ? options->at : "peak", error)))
    return NULL;
  const char *sql = options->short_lived
                      ? "SELECT trace_id, short_lived_count, short_lived_bytes FROM sites"
                        " WHERE short_lived_count > 0"
                    : options->temporary
                      ? "SELECT trace_id, temporary_count, temporary_bytes FROM sites"
                        " WHERE temporary_count > 0"
                    : options->allocations
                      ? "SELECT trace_id, alloc_count, alloc_bytes FROM sites"
                    : options->untagged
                      ? "SELECT s.trace_id, s.count - s.tagged_count, s.bytes - s.tagged_bytes"
                        " FROM snapshot_sites s JOIN snapshots n ON n.id = s.snapshot_id"
                        " WHERE n.label = ? AND s.count > s.tagged_count"
                      : "SELECT s.trace_id, s.count, s.bytes FROM snapshot_sites s"
                        " JOIN snapshots n ON n.id = s.snapshot_id WHERE n.label = ?";
  sqlite3_stmt *st;
  if (!ht_db_prepare (ht_db_handle (db), sql, &st, error))
    return NULL;
  if (live)
    sqlite3_bind_text (st, 1, label, -1, SQLITE_TRANSIENT);
  return st;
}

static GPtrArray *top_retained (HtDb *db, const HtTopOptions *options, GError **error);

/* Live blocks by type at a snapshot: tagged and C++-classed blocks by their type (without
 * their stacks, so --include/--exclude do not apply to them, as in growth), the others by
 * the function that allocated them. */
static GPtrArray *
top_by_type (HtDb *db, const HtTopOptions *options, GError **error)
{
  if (options->allocations || options->temporary || options->short_lived)
    {
      g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_NOT_FOUND,
                   "blocks have types only while they live: --by type goes with live memory "
                   "(--at) or --metric retained");
      return NULL;
    }
  HtTopOptions opt = *options;
  opt.by = HT_GROUP_FUNCTION;
  opt.untagged = TRUE;
  opt.cumulative = FALSE;
  GPtrArray *out = ht_query_top (db, &opt, error);
  if (!out)
    return NULL;
  g_autofree char *label = ht_query_resolve_at (db, options->at ? options->at : "peak", error);
  sqlite3_stmt *st;
  if (!label || !ht_db_prepare (ht_db_handle (db),
                                "SELECT t.type, t.count, t.bytes FROM snapshot_types t"
                                " JOIN snapshots n ON n.id = t.snapshot_id WHERE n.label = ?",
                                &st, error))
    {
      g_ptr_array_unref (out);
      return NULL;
    }
  sqlite3_bind_text (st, 1, label, -1, SQLITE_STATIC);
  GHashTable *by_key = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < out->len; i++)
    g_hash_table_insert (by_key, ((HtStat *) out->pdata[i])->key, out->pdata[i]);
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      const char *type = (const char *) sqlite3_column_text (st, 0);
      HtStat *s = g_hash_table_lookup (by_key, type);
      if (!s)
        {
          s = g_new0 (HtStat, 1);
          s->key = g_strdup (type);
          s->match = g_strdup (type);
          s->reach = -1;
          s->traceback = g_ptr_array_new_with_free_func (location_free);
          g_ptr_array_add (out, s);
          g_hash_table_insert (by_key, s->key, s);
        }
      s->count += (guint64) sqlite3_column_int64 (st, 1);
      s->size += (guint64) sqlite3_column_int64 (st, 2);
    }
  sqlite3_finalize (st);
  g_hash_table_unref (by_key);
  g_ptr_array_sort (out, stat_compare);
  return out;
}

GPtrArray *
ht_query_top (HtDb *db, const HtTopOptions *options, GError **error)
{
  g_return_val_if_fail (db != NULL && options != NULL, NULL);
  if (options->retained)
    return top_retained (db, options, error);
  if (options->by == HT_GROUP_TYPE)
    return top_by_type (db, options, error);
  g_autoptr (HtTraceNames) names = ht_trace_names_new (db, error);
  if (!names)
    return NULL;
  GHashTable *locations = names->locations, *frames = names->frames;
  sqlite3_stmt *st = metric_rows (db, options, error);
  if (!st)
    return NULL;
  GHashTable *groups = group_rows (options, st, locations, frames);
  sqlite3_finalize (st);
  return finish_groups (groups, options);
}

/* ---------------------------------------------------------------------------------------
 * Timeline and call trees
 */
GArray *
ht_query_timeline (HtDb *db, GError **error)
{
  sqlite3_stmt *st;
  if (!ht_db_prepare (ht_db_handle (db),
                      "SELECT time_s, heap_bytes, rss_bytes FROM timeline ORDER BY time_s", &st,
                      error))
    return NULL;
  GArray *out = g_array_new (FALSE, FALSE, sizeof (HtTimePoint));
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      HtTimePoint p = { sqlite3_column_double (st, 0), sqlite3_column_int64 (st, 1),
                        sqlite3_column_int64 (st, 2) };
      g_array_append_val (out, p);
    }
  sqlite3_finalize (st);
  return out;
}

void
ht_call_node_free (HtCallNode *node)
{
  if (!node)
    return;
  if (node->locations)
    g_hash_table_unref (node->locations);
  if (node->children)
    g_ptr_array_unref (node->children);
  g_free (node);
}

static gint
call_node_compare (gconstpointer a, gconstpointer b)
{
  const HtCallNode *x = *(HtCallNode **) a, *y = *(HtCallNode **) b;
  if (x->total_bytes != y->total_bytes)
    return x->total_bytes > y->total_bytes ? -1 : 1;
  return x->total_count > y->total_count ? -1 : x->total_count < y->total_count;
}

static void
call_node_sort (HtCallNode *node)
{
  if (!node->children)
    return;
  g_ptr_array_sort (node->children, call_node_compare);
  for (guint i = 0; i < node->children->len; i++)
    call_node_sort (node->children->pdata[i]);
}

/* The child of `parent` at `loc` (the same location, or with `lines` FALSE the same
 * function), made on first use.  Children are found by a key borrowed from the locations
 * table (a location, or one interned function name): a scan while there are few, a
 * per-node hash table beyond that. */
static HtCallNode *
call_node_child (HtCallNode *parent, const HtLocation *loc, gboolean lines, GHashTable *functions)
{
  gconstpointer key = loc;
  if (!lines)
    {
      key = g_hash_table_lookup (functions, loc->function);
      if (!key)
        {
          key = loc->function;
          g_hash_table_insert (functions, (gpointer) loc->function, (gpointer) key);
        }
    }
  guint n_children = parent->children ? parent->children->len : 0;
  if (parent->index)
    {
      HtCallNode *n = g_hash_table_lookup (parent->index, key);
      if (n)
        return n;
    }
  else
    for (guint i = 0; i < n_children; i++)
      {
        HtCallNode *c = parent->children->pdata[i];
        if ((lines ? (gconstpointer) c->location : g_hash_table_lookup (functions, c->location->function)) == key)
          return c;
      }
  HtCallNode *n = g_new0 (HtCallNode, 1);
  n->location = loc; /* borrowed from the locations table the root holds */
  n->parent = parent;
  if (!parent->children)
    parent->children = g_ptr_array_new_with_free_func ((GDestroyNotify) ht_call_node_free);
  g_ptr_array_add (parent->children, n);
  if (!parent->index && parent->children->len > 8)
    {
      parent->index = g_hash_table_new (NULL, NULL);
      for (guint i = 0; i < parent->children->len; i++)
        {
          HtCallNode *c = parent->children->pdata[i];
          g_hash_table_insert (parent->index,
                               lines ? (gpointer) c->location
                                     : g_hash_table_lookup (functions, c->location->function),
                               c);
        }
    }
  else if (parent->index)
    g_hash_table_insert (parent->index, (gpointer) key, n);
  return n;
}

/* Frees the build-time indexes. */
static void
call_node_done (HtCallNode *node)
{
  g_clear_pointer (&node->index, g_hash_table_unref);
  for (guint i = 0; node->children && i < node->children->len; i++)
    call_node_done (node->children->pdata[i]);
}

HtCallNode *
ht_query_call_tree (HtDb *db, const HtTopOptions *options, gboolean bottom_up, GError **error)
{
  g_autoptr (HtTraceNames) names = ht_trace_names_new (db, error);
  if (!names)
    return NULL;
  GHashTable *locations = names->locations, *frames = names->frames;
  sqlite3_stmt *st = metric_rows (db, options, error);
  if (!st)
    return NULL;
  gboolean lines = options->by != HT_GROUP_FUNCTION; /* one node per line, or per function */
  HtCallNode *root = g_new0 (HtCallNode, 1);
  root->locations = g_hash_table_ref (locations);
  g_autoptr (GHashTable) functions = g_hash_table_new (g_str_hash, g_str_equal);
  static const HtLocation unknown = { (char *) "<unknown>", NULL, 0, NULL };
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      gint64 trace = sqlite3_column_int64 (st, 0);
      guint64 count = (guint64) sqlite3_column_int64 (st, 1);
      guint64 bytes = (guint64) sqlite3_column_int64 (st, 2);
      GArray *fr = g_hash_table_lookup (frames, &trace);
      if (!trace_passes (options, fr, locations))
        continue;
      g_autoptr (GArray) folded = options->fold_recursion ? fold_recursion (fr, locations) : NULL;
      if (folded)
        fr = folded;
      root->total_bytes += bytes;
      root->total_count += count;
      HtCallNode *node = root;
      guint n = fr ? fr->len : 0;
      if (n == 0)
        node = call_node_child (root, &unknown, lines, functions);
      for (guint k = 0; k < n; k++)
        {
          /* frames are innermost first: top-down walks them backwards */
          guint i = bottom_up ? k : n - 1 - k;
          const HtLocation *l = g_hash_table_lookup (locations, &g_array_index (fr, gint64, i));
          node = call_node_child (node, l ? l : &unknown, lines, functions);
          node->total_bytes += bytes;
          node->total_count += count;
        }
      if (n == 0)
        {
          node->total_bytes += bytes;
          node->total_count += count;
        }
      node->self_bytes += bytes;
      node->self_count += count;
    }
  sqlite3_finalize (st);
  call_node_done (root);
  call_node_sort (root);
  return root;
}

/* ---------------------------------------------------------------------------------------
 * Trace names
 */
const HtLocation *
ht_trace_names_site (HtTraceNames *self, gint64 trace)
{
  GArray *fr = g_hash_table_lookup (self->frames, &trace);
  return fr && fr->len ? key_frame (fr, self->locations) : NULL;
}

GPtrArray *
ht_trace_names_traceback (HtTraceNames *self, gint64 trace)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (location_free);
  GArray *fr = g_hash_table_lookup (self->frames, &trace);
  for (guint i = 0; fr && i < fr->len; i++)
    {
      const HtLocation *l = g_hash_table_lookup (self->locations, &g_array_index (fr, gint64, i));
      if (l)
        g_ptr_array_add (out, location_copy (l));
    }
  return out;
}

/* ---------------------------------------------------------------------------------------
 * Heap graphs
 */
void
ht_graph_info_clear (HtGraphInfo *info)
{
  g_clear_pointer (&info->label, g_free);
}

gboolean
ht_query_graph_info (HtDb *db, const char *at, HtGraphInfo *out, GError **error)
{
  memset (out, 0, sizeof *out);
  sqlite3 *h = ht_db_handle (db);
  g_autofree char *label = NULL;
  if (at)
    {
      label = ht_query_resolve_at (db, at, error);
      if (!label)
        return FALSE;
    }
  sqlite3_stmt *st;
  const char *sql = label ? "SELECT n.id, n.label, n.time_s, g.blocks, g.bytes, g.edges,"
                            " g.root_words, g.heap_scanned, g.root_scanned, g.threads_stopped,"
                            " g.threads_missed, g.scan_s, g.flags FROM snapshots n"
                            " LEFT JOIN graphs g ON g.snapshot_id = n.id WHERE n.label = ?"
                          : "SELECT n.id, n.label, n.time_s, g.blocks, g.bytes, g.edges,"
                            " g.root_words, g.heap_scanned, g.root_scanned, g.threads_stopped,"
                            " g.threads_missed, g.scan_s, g.flags FROM snapshots n"
                            " JOIN graphs g ON g.snapshot_id = n.id"
                            " ORDER BY n.kind = 'end' DESC, n.id DESC LIMIT 1";
  if (!ht_db_prepare (h, sql, &st, error))
    return FALSE;
  if (label)
    sqlite3_bind_text (st, 1, label, -1, SQLITE_STATIC);
  gboolean found = sqlite3_step (st) == SQLITE_ROW && sqlite3_column_type (st, 3) != SQLITE_NULL;
  if (found)
    {
      out->snapshot_id = sqlite3_column_int64 (st, 0);
      out->label = g_strdup ((const char *) sqlite3_column_text (st, 1));
      out->time_s = sqlite3_column_double (st, 2);
      gint64 *fields[] = { &out->blocks, &out->bytes, &out->edges, &out->root_words,
                           &out->heap_scanned, &out->root_scanned, &out->threads_stopped,
                           &out->threads_missed };
      for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
        *fields[i] = sqlite3_column_int64 (st, 3 + (int) i);
      out->scan_s = sqlite3_column_double (st, 11);
      out->flags = sqlite3_column_int64 (st, 12);
    }
  sqlite3_finalize (st);
  if (!found && label)
    g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_NOT_FOUND,
                 "snapshot '%s' has no heap graph: with 'heaptrail record --graph', graphs are "
                 "taken at heaptrail_snapshot() calls, at 'heaptrail snapshot PID' and at exit",
                 label);
  else if (!found)
    g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_NOT_FOUND,
                 "this recording has no heap graph: record it with 'heaptrail record --graph'");
  return found;
}

GStrv
ht_query_graph_labels (HtDb *db)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  sqlite3_stmt *st;
  if (ht_db_prepare (ht_db_handle (db),
                     "SELECT n.label FROM snapshots n JOIN graphs g ON g.snapshot_id = n.id"
                     " ORDER BY n.time_s, n.id",
                     &st, NULL))
    {
      while (sqlite3_step (st) == SQLITE_ROW)
        g_strv_builder_add (b, (const char *) sqlite3_column_text (st, 0));
      sqlite3_finalize (st);
    }
  return g_strv_builder_end (b);
}

/* Retained size per group: the bytes freed if every block of the group were.  A block
 * counts only when no block of its own group dominates it (else its bytes are in that
 * one's already): one walk of the dominator tree, keeping per group how many of its
 * blocks are on the current path. */
static GPtrArray *
top_retained (HtDb *db, const HtTopOptions *options, GError **error)
{
  HtGraphInfo info;
  if (!ht_query_graph_info (db, options->at, &info, error))
    return NULL;
  g_autoptr (HtTraceNames) names = ht_trace_names_new (db, error);
  if (!names)
    return NULL;
  GHashTable *locations = names->locations, *frames = names->frames;
  sqlite3_stmt *st;
  if (!ht_db_prepare (ht_db_handle (db),
                      "SELECT id, trace_id, type, idom, retained FROM graph_blocks"
                      " WHERE snapshot_id = ? ORDER BY id",
                      &st, error))
    return NULL;
  sqlite3_bind_int64 (st, 1, info.snapshot_id);
  guint n = (guint) info.blocks;
  gint64 *idom = g_new (gint64, MAX (n, 1));
  guint64 *retained = g_new (guint64, MAX (n, 1));
  HtStat **group = g_new0 (HtStat *, MAX (n, 1));
  GHashTable *groups = g_hash_table_new (g_str_hash, g_str_equal);
  guint i = 0;
  while (sqlite3_step (st) == SQLITE_ROW && i < n)
    {
      gint64 trace = sqlite3_column_int64 (st, 1);
      const char *type = (const char *) sqlite3_column_text (st, 2);
      idom[i] = sqlite3_column_int64 (st, 3);
      retained[i] = (guint64) sqlite3_column_int64 (st, 4);
      if (idom[i] < -1 || idom[i] >= n)
        idom[i] = -1;
      GArray *fr = g_hash_table_lookup (frames, &trace);
      if (trace_passes (options, fr, locations))
        {
          group[i] = add_to_group (groups, trace_key (options, fr, locations, type), 1, 0, fr,
                                   locations);
        }
      i++;
    }
  sqlite3_finalize (st);
  n = i;

  /* children lists, then a depth-first walk from the super-root's children */
  guint *child_start = g_new0 (guint, n + 2), *child = g_new (guint, MAX (n, 1));
  for (guint b = 0; b < n; b++)
    child_start[idom[b] + 2]++;
  for (guint b = 1; b < n + 2; b++)
    child_start[b] += child_start[b - 1];
  guint *fill = g_memdup2 (child_start, (n + 2) * sizeof (guint));
  for (guint b = 0; b < n; b++)
    child[fill[idom[b] + 1]++] = b;
  g_free (fill);
  GHashTable *active = g_hash_table_new (NULL, NULL); /* HtStat* -> blocks on the path */
  GArray *stack = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (guint c = child_start[0]; c < child_start[1]; c++)
    {
      gint64 top = child[c];
      g_array_append_val (stack, top);
      while (stack->len)
        {
          gint64 v = g_array_index (stack, gint64, stack->len - 1);
          stack->len--;
          if (v < 0) /* leaving block ~v */
            {
              HtStat *s = group[~v];
              guint on = GPOINTER_TO_UINT (g_hash_table_lookup (active, s));
              g_hash_table_insert (active, s, GUINT_TO_POINTER (on - 1));
              continue;
            }
          HtStat *s = group[v];
          if (s)
            {
              guint on = GPOINTER_TO_UINT (g_hash_table_lookup (active, s));
              if (on == 0)
                s->size += retained[v];
              g_hash_table_insert (active, s, GUINT_TO_POINTER (on + 1));
              gint64 leave = ~v;
              g_array_append_val (stack, leave);
            }
          for (guint k = child_start[v + 1]; k < child_start[v + 2]; k++)
            {
              gint64 w = child[k];
              g_array_append_val (stack, w);
            }
        }
    }
  g_array_unref (stack);
  g_hash_table_unref (active);
  g_free (child_start);
  g_free (child);
  g_free (idom);
  g_free (retained);
  g_free (group);
  ht_graph_info_clear (&info);
  return finish_groups (groups, options);
}

gboolean
ht_query_summary (HtDb *db, HtSummary *s, GError **error)
{
  (void) error;
  memset (s, 0, sizeof *s);
  s->exe = ht_db_meta_string (db, "exe");
  s->command_line = ht_db_meta_string (db, "command_line");
  s->pid = ht_db_meta_int (db, "pid");
  s->duration_s = ht_db_meta_double (db, "duration_s");
  s->allocations = ht_db_meta_int (db, "allocations");
  s->frees = ht_db_meta_int (db, "frees");
  s->allocated_bytes = ht_db_meta_int (db, "allocated_bytes");
  s->temporary = ht_db_meta_int (db, "temporary");
  s->short_lived = ht_db_meta_int (db, "short_lived");
  s->short_lived_ms = ht_db_meta_double (db, "short_lived_ms");
  s->unmatched_frees = ht_db_meta_int (db, "unmatched_frees");
  s->peak_heap_bytes = ht_db_meta_int (db, "peak_heap_bytes");
  s->peak_heap_blocks = ht_db_meta_int (db, "peak_heap_blocks");
  s->peak_time_s = ht_db_meta_double (db, "peak_time_s");
  s->peak_rss_bytes = ht_db_meta_int (db, "peak_rss_bytes");
  s->not_freed_bytes = ht_db_meta_int (db, "leaked_bytes");
  s->not_freed_blocks = ht_db_meta_int (db, "leaked_blocks");
  s->recorder_peak_bytes = ht_db_meta_int (db, "recorder_peak_bytes");
  s->recorder_time_s = ht_db_meta_double (db, "recorder_time_s");
  s->threads = ht_db_meta_int (db, "threads");
  s->lost_events = ht_db_meta_int (db, "lost_events");
  s->complete = ht_db_meta_int (db, "complete") != 0;
  s->warning = ht_db_meta_string (db, "warning");
  s->end_reason = ht_db_meta_string (db, "end_reason");
  s->exec_chain = ht_db_meta_string (db, "exec_chain");
  s->exec_released_blocks = ht_db_meta_int (db, "exec_released_blocks");
  s->exec_released_bytes = ht_db_meta_int (db, "exec_released_bytes");
  s->sample_bytes = ht_db_meta_int (db, "sample_bytes");
  s->sampled_allocations = ht_db_meta_int (db, "sampled_allocations");
  if (!s->end_reason)
    s->end_reason = g_strdup (s->complete ? "exit" : "incomplete");
  if (!s->exe)
    {
      g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_NOT_OURS, "the database has no summary");
      return FALSE;
    }
  /* what is left at exit counts as the `leaks` command counts it: the runtime's own
   * blocks (the built-in suppressions) apart */
  g_autoptr (HtSuppressions) supp = ht_suppressions_new ();
  ht_suppressions_add_builtin (supp);
  ht_suppressions_add_program (supp, db);
  HtLeaks leaks;
  if (!ht_query_leaks (db, supp, NULL, &leaks, error))
    return FALSE;
  s->leaked_bytes = (gint64) leaks.bytes;
  s->leaked_blocks = (gint64) leaks.blocks;
  s->suppressed_bytes = (gint64) leaks.suppressed_bytes;
  s->suppressed_blocks = (gint64) leaks.suppressed_blocks;
  ht_leaks_clear (&leaks);
  return TRUE;
}

void
ht_summary_clear (HtSummary *s)
{
  g_free (s->exe);
  g_free (s->command_line);
  g_free (s->warning);
  g_free (s->end_reason);
  g_free (s->exec_chain);
  memset (s, 0, sizeof *s);
}

/* ---------------------------------------------------------------------------------------
 * compare_to and the list of snapshots
 */
static void
diff_free (gpointer data)
{
  HtStatDiff *d = data;
  stat_free (d->stat);
  g_free (d);
}

static gint
diff_compare (gconstpointer a, gconstpointer b)
{
  const HtStatDiff *x = *(HtStatDiff **) a, *y = *(HtStatDiff **) b;
  guint64 ax = (guint64) ABS (x->size_diff), ay = (guint64) ABS (y->size_diff);
  if (ax != ay)
    return ax > ay ? -1 : 1;
  if (x->stat->size != y->stat->size)
    return x->stat->size > y->stat->size ? -1 : 1;
  ax = (guint64) ABS (x->count_diff);
  ay = (guint64) ABS (y->count_diff);
  if (ax != ay)
    return ax > ay ? -1 : 1;
  if (x->stat->count != y->stat->count)
    return x->stat->count > y->stat->count ? -1 : 1;
  return strcmp (y->stat->key, x->stat->key); /* tracemalloc sorts its tuples in reverse */
}

GPtrArray *
ht_query_diff (HtDb *db_a, const char *a, HtDb *db_b, const char *b, const HtTopOptions *options,
               GError **error)
{
  g_return_val_if_fail (db_a && db_b && a && b && options, NULL);
  HtTopOptions oa = *options, ob = *options;
  oa.allocations = ob.allocations = FALSE;
  oa.at = a;
  ob.at = b;
  g_autoptr (GPtrArray) sa = ht_query_top (db_a, &oa, error);
  if (!sa)
    return NULL;
  g_autoptr (GPtrArray) sb = ht_query_top (db_b, &ob, error);
  if (!sb)
    return NULL;

  g_autoptr (GHashTable) old = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < sa->len; i++)
    g_hash_table_insert (old, ((HtStat *) sa->pdata[i])->match, sa->pdata[i]);
  GPtrArray *out = g_ptr_array_new_with_free_func (diff_free);
  /* groups of B, with their change since A */
  g_ptr_array_set_free_func (sb, NULL);
  for (guint i = 0; i < sb->len; i++)
    {
      HtStat *nb = sb->pdata[i];
      HtStat *oa_stat = g_hash_table_lookup (old, nb->match);
      HtStatDiff *d = g_new0 (HtStatDiff, 1);
      d->stat = nb;
      d->size_diff = (gint64) nb->size - (gint64) (oa_stat ? oa_stat->size : 0);
      d->count_diff = (gint64) nb->count - (gint64) (oa_stat ? oa_stat->count : 0);
      if (oa_stat)
        g_hash_table_remove (old, nb->match);
      g_ptr_array_add (out, d);
    }
  /* groups gone in B: size 0, negative change */
  g_ptr_array_set_free_func (sa, NULL);
  for (guint i = 0; i < sa->len; i++)
    {
      HtStat *st = sa->pdata[i];
      if (!g_hash_table_contains (old, st->match))
        {
          stat_free (st);
          continue;
        }
      HtStatDiff *d = g_new0 (HtStatDiff, 1);
      d->size_diff = -(gint64) st->size;
      d->count_diff = -(gint64) st->count;
      st->size = 0;
      st->count = 0;
      d->stat = st;
      g_ptr_array_add (out, d);
    }
  g_ptr_array_sort (out, diff_compare);
  return out;
}

static void
snapshot_info_free (gpointer data)
{
  HtSnapshotInfo *s = data;
  g_free (s->label);
  g_free (s->kind);
  g_free (s);
}

GPtrArray *
ht_query_snapshots (HtDb *db, GError **error)
{
  sqlite3_stmt *st;
  if (!ht_db_prepare (ht_db_handle (db),
                      "SELECT id, label, kind, time_s, heap_bytes, heap_blocks FROM snapshots"
                      " ORDER BY time_s, id",
                      &st, error))
    return NULL;
  GPtrArray *out = g_ptr_array_new_with_free_func (snapshot_info_free);
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      HtSnapshotInfo *s = g_new0 (HtSnapshotInfo, 1);
      s->id = sqlite3_column_int64 (st, 0);
      s->label = g_strdup ((const char *) sqlite3_column_text (st, 1));
      s->kind = g_strdup ((const char *) sqlite3_column_text (st, 2));
      s->time_s = sqlite3_column_double (st, 3);
      s->heap_bytes = sqlite3_column_int64 (st, 4);
      s->heap_blocks = sqlite3_column_int64 (st, 5);
      g_ptr_array_add (out, s);
    }
  sqlite3_finalize (st);
  return out;
}

/* ---------------------------------------------------------------------------------------
 * Leaks and suppressions
 */
static gint
leak_compare (gconstpointer a, gconstpointer b)
{
  const HtStat *x = *(HtStat **) a, *y = *(HtStat **) b;
  if (x->reach != y->reach)
    return x->reach > y->reach ? -1 : 1; /* definitely lost first */
  return stat_compare (a, b);
}

/* With the heap graph at exit: groups per class, from its blocks. */
static gboolean
leaks_by_class (HtDb *db, gint64 snapshot, const HtTopOptions *opt, GPtrArray *all,
                GError **error)
{
  g_autoptr (HtTraceNames) names = ht_trace_names_new (db, error);
  if (!names)
    return FALSE;
  GHashTable *locations = names->locations, *frames = names->frames;
  gboolean other = opt->heuristics_given && opt->heuristics != HT_HEUR_ALL;
  if (other && !ht_heap_reclassify (db, snapshot, opt->heuristics, error))
    return FALSE;
  for (int c = HT_REACH_COUNT - 1; c >= 0; c--)
    {
      sqlite3_stmt *st;
      if (!ht_db_prepare (ht_db_handle (db),
                          other ? "SELECT b.trace_id, count(*), sum(b.size) FROM graph_blocks b"
                                  " JOIN temp.reach_override r ON r.id = b.id"
                                  " WHERE b.snapshot_id = ? AND r.reach = ? GROUP BY b.trace_id"
                                : "SELECT trace_id, count(*), sum(size) FROM graph_blocks"
                                  " WHERE snapshot_id = ? AND reach = ? GROUP BY trace_id",
                          &st, error))
        return FALSE;
      sqlite3_bind_int64 (st, 1, snapshot);
      sqlite3_bind_int (st, 2, c);
      GPtrArray *groups = finish_groups (group_rows (opt, st, locations, frames), opt);
      sqlite3_finalize (st);
      g_ptr_array_set_free_func (groups, NULL);
      for (guint i = 0; i < groups->len; i++)
        {
          HtStat *s = groups->pdata[i];
          s->reach = c;
          g_ptr_array_add (all, s);
        }
      g_ptr_array_unref (groups);
    }
  return TRUE;
}

static void
add_suppressed (HtLeaks *out, const char *reason, const HtStat *s)
{
  for (guint i = 0; i < out->suppressed->len; i++)
    {
      HtSuppressed *g = &g_array_index (out->suppressed, HtSuppressed, i);
      if (g_str_equal (g->reason, reason))
        {
          g->bytes += s->size;
          g->blocks += s->count;
          return;
        }
    }
  HtSuppressed g = { g_strdup (reason), s->size, s->count };
  g_array_append_val (out->suppressed, g);
}

static gint
suppressed_compare (gconstpointer a, gconstpointer b)
{
  const HtSuppressed *x = a, *y = b;
  return x->bytes != y->bytes ? (x->bytes > y->bytes ? -1 : 1) : g_strcmp0 (x->reason, y->reason);
}

static void
suppressed_clear (gpointer data)
{
  g_free (((HtSuppressed *) data)->reason);
}

gboolean
ht_query_leaks (HtDb *db, HtSuppressions *suppressions, const HtTopOptions *filters,
                HtLeaks *out, GError **error)
{
  memset (out, 0, sizeof *out);
  HtTopOptions opt = { .by = HT_GROUP_TRACEBACK, .at = "end" };
  if (filters)
    {
      opt.include = filters->include;
      opt.exclude = filters->exclude;
      opt.heuristics_given = filters->heuristics_given;
      opt.heuristics = filters->heuristics;
    }
  HtGraphInfo graph;
  g_autoptr (GPtrArray) all = NULL;
  if (ht_query_graph_info (db, "end", &graph, NULL))
    {
      out->classified = TRUE;
      all = g_ptr_array_new_with_free_func (stat_free);
      gboolean ok = leaks_by_class (db, graph.snapshot_id, &opt, all, error);
      ht_graph_info_clear (&graph);
      if (!ok)
        return FALSE;
    }
  else
    all = ht_query_top (db, &opt, error);
  if (!all)
    return FALSE;
  out->leaks = g_ptr_array_new_with_free_func (stat_free);
  out->suppressed = g_array_new (FALSE, TRUE, sizeof (HtSuppressed));
  g_array_set_clear_func (out->suppressed, suppressed_clear);
  g_ptr_array_set_free_func (all, NULL);
  for (guint i = 0; i < all->len; i++)
    {
      HtStat *s = all->pdata[i];
      const char *reason = ht_suppressions_match (suppressions, s->traceback);
      if (reason)
        {
          out->suppressed_bytes += s->size;
          out->suppressed_blocks += s->count;
          add_suppressed (out, reason, s);
          stat_free (s);
          continue;
        }
      out->bytes += s->size;
      out->blocks += s->count;
      if (s->reach >= 0)
        {
          out->class_bytes[s->reach] += s->size;
          out->class_blocks[s->reach] += s->count;
        }
      g_ptr_array_add (out->leaks, s);
    }
  g_ptr_array_sort (out->leaks, leak_compare);
  g_array_sort (out->suppressed, suppressed_compare);
  return TRUE;
}

void
ht_leaks_clear (HtLeaks *leaks)
{
  g_clear_pointer (&leaks->leaks, g_ptr_array_unref);
  g_clear_pointer (&leaks->suppressed, g_array_unref);
}

/* ---------------------------------------------------------------------------------------
 * Growth per type
 */
static void
growth_free (gpointer data)
{
  HtGrowth *g = data;
  g_free (g->type);
  g_free (g);
}

/* type -> HtGrowth, filling the a (which = 0) or b (which = 1) side */
static gboolean
collect_types (HtDb *db, const char *at, int which, const HtTopOptions *filters,
               GHashTable *types, GError **error)
{
  g_autofree char *label = ht_query_resolve_at (db, at, error);
  if (!label)
    return FALSE;
  HtTopOptions opt = { .by = HT_GROUP_FUNCTION, .at = label, .untagged = TRUE };
  if (filters)
    {
      opt.include = filters->include;
      opt.exclude = filters->exclude;
    }
  g_autoptr (GPtrArray) stats = ht_query_top (db, &opt, error);
  if (!stats)
    return FALSE;
  sqlite3_stmt *st;
  if (!ht_db_prepare (ht_db_handle (db),
                      "SELECT t.type, t.count, t.bytes FROM snapshot_types t"
                      " JOIN snapshots n ON n.id = t.snapshot_id WHERE n.label = ?",
                      &st, error))
    return FALSE;
  sqlite3_bind_text (st, 1, label, -1, SQLITE_STATIC);
  GPtrArray *rows = g_ptr_array_new_with_free_func (g_free);
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      HtStat *s = g_new0 (HtStat, 1);
      s->key = g_strdup ((const char *) sqlite3_column_text (st, 0));
      s->count = (guint64) sqlite3_column_int64 (st, 1);
      s->size = (guint64) sqlite3_column_int64 (st, 2);
      g_ptr_array_add (rows, s);
    }
  sqlite3_finalize (st);
  for (guint pass = 0; pass < 2; pass++)
    {
      GPtrArray *src = pass ? rows : stats;
      for (guint i = 0; i < src->len; i++)
        {
          HtStat *s = src->pdata[i];
          HtGrowth *g = g_hash_table_lookup (types, s->key);
          if (!g)
            {
              g = g_new0 (HtGrowth, 1);
              g->type = g_strdup (s->key);
              g_hash_table_insert (types, g->type, g);
            }
          if (which == 0)
            {
              g->count_a += (gint64) s->count;
              g->bytes_a += (gint64) s->size;
            }
          else
            {
              g->count_b += (gint64) s->count;
              g->bytes_b += (gint64) s->size;
            }
        }
    }
  for (guint i = 0; i < rows->len; i++)
    g_free (((HtStat *) rows->pdata[i])->key);
  g_ptr_array_unref (rows);
  return TRUE;
}

static gint
growth_compare (gconstpointer a, gconstpointer b)
{
  const HtGrowth *x = *(HtGrowth **) a, *y = *(HtGrowth **) b;
  gint64 dx = x->count_b - x->count_a, dy = y->count_b - y->count_a;
  if (dx != dy)
    return dx > dy ? -1 : 1;
  if (x->count_b != y->count_b)
    return x->count_b > y->count_b ? -1 : 1;
  return strcmp (x->type, y->type);
}

GPtrArray *
ht_query_growth (HtDb *db, const char *a, const char *b, const HtTopOptions *filters,
                 GError **error)
{
  g_autoptr (GHashTable) types = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *out = g_ptr_array_new_with_free_func (growth_free);
  if (!collect_types (db, a, 0, filters, types, error)
      || !collect_types (db, b, 1, filters, types, error))
    {
      GHashTableIter it;
      gpointer v;
      g_hash_table_iter_init (&it, types);
      while (g_hash_table_iter_next (&it, NULL, &v))
        growth_free (v);
      g_ptr_array_unref (out);
      return NULL;
    }
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, types);
  while (g_hash_table_iter_next (&it, NULL, &v))
    g_ptr_array_add (out, v);
  g_ptr_array_sort (out, growth_compare);
  return out;
}

/* ---------------------------------------------------------------------------------------
 * Sizes and threads
 */
GArray *
ht_query_size_histogram (HtDb *db, GError **error)
{
  sqlite3_stmt *st;
  if (!ht_db_prepare (ht_db_handle (db),
                      "SELECT min_size, max_size, count, bytes FROM size_histogram ORDER BY min_size",
                      &st, error))
    return NULL;
  GArray *out = g_array_new (FALSE, FALSE, sizeof (HtSizeBucket));
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      HtSizeBucket b = { sqlite3_column_int64 (st, 0), sqlite3_column_int64 (st, 1),
                         sqlite3_column_int64 (st, 2), sqlite3_column_int64 (st, 3) };
      g_array_append_val (out, b);
    }
  sqlite3_finalize (st);
  return out;
}

GArray *
ht_query_threads (HtDb *db, GError **error)
{
  sqlite3_stmt *st;
  if (!ht_db_prepare (ht_db_handle (db),
                      "SELECT tid, alloc_count, alloc_bytes, temporary, frees FROM threads"
                      " ORDER BY alloc_count DESC, tid",
                      &st, error))
    return NULL;
  GArray *out = g_array_new (FALSE, FALSE, sizeof (HtThreadStats));
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      HtThreadStats t = { sqlite3_column_int64 (st, 0), sqlite3_column_int64 (st, 1),
                          sqlite3_column_int64 (st, 2), sqlite3_column_int64 (st, 3),
                          sqlite3_column_int64 (st, 4) };
      g_array_append_val (out, t);
    }
  sqlite3_finalize (st);
  return out;
}
