/* ht-query.c - top-N statistics, as tracemalloc computes them: the grouping every query
 * family uses (ht-leaks.c, ht-diff.c, ht-calltree.c, ht-query-graph.c...), and top.
 *
 * A group's key comes from the stack's "key frame": the innermost visible frame in the
 * program's own code (not in a system library under /lib or /usr/lib, nor inlined from a
 * system header under /usr/include, such as std::vector's) that has a source file; else, when no such frame exists (a system program, or one built without -g), the
 * innermost visible frame.  That skips libc helpers such as strdup or fopen, so `--by line`
 * points at the user's line and not into libc, even when libc's debug info is installed.  `--cumulative` adds a trace to the key of every one of its frames,
 * once per key, like tracemalloc's cumulative mode.
 */

#include "ht-error.h"
#include "ht-query-private.h"

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

void
location_free (gpointer data)
{
  HtLocation *l = data;
  g_free (l->function);
  g_free (l->file);
  g_free (l->module);
  g_free (l);
}

void
stat_free (gpointer data)
{
  HtStat *s = data;
  g_free (s->key);
  g_free (s->match);
  if (s->traceback)
    g_ptr_array_unref (s->traceback);
  g_free (s);
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

GHashTable *
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

HtLocation *
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

HtStat *
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

gint
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
gboolean
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
char *
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
GArray *
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

GHashTable *
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
GPtrArray *
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

gboolean
ht_query_time_range (HtDb *db, double from, double to, double *span_from, double *span_to,
                     double *bucket_s, GError **error)
{
  sqlite3_stmt *st;
  if (!ht_db_prepare (ht_db_handle (db),
                      "SELECT MIN(from_s), MAX(to_s), COUNT(*),"
                      " (SELECT MAX(to_s - from_s) FROM time_buckets)"
                      " FROM time_buckets WHERE to_s > ?1 AND from_s < ?2",
                      &st, error))
    return FALSE;
  sqlite3_bind_double (st, 1, from);
  sqlite3_bind_double (st, 2, to);
  gboolean ok = sqlite3_step (st) == SQLITE_ROW && sqlite3_column_int64 (st, 2) > 0;
  if (ok)
    {
      *span_from = sqlite3_column_double (st, 0);
      *span_to = sqlite3_column_double (st, 1);
      if (bucket_s)
        *bucket_s = sqlite3_column_double (st, 3);
    }
  else
    g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_NOT_FOUND,
                 "no allocation was made between %.3f s and %.3f s", from, to);
  sqlite3_finalize (st);
  return ok;
}

char *
time_range_sql (const char *column, int first)
{
  return g_strdup_printf (" AND %s BETWEEN (SELECT MIN(bucket) FROM time_buckets"
                          "                 WHERE to_s > ?%d AND from_s < ?%d)"
                          " AND (SELECT MAX(bucket) FROM time_buckets"
                          "      WHERE to_s > ?%d AND from_s < ?%d)",
                          column, first, first + 1, first, first + 1);
}

void
bind_time_range (sqlite3_stmt *st, int first, double from, double to)
{
  sqlite3_bind_double (st, first, from);
  sqlite3_bind_double (st, first + 1, to);
}

/* metric_rows() for a time range: the buckets' figures, summed per trace. */
static sqlite3_stmt *
range_rows (HtDb *db, const HtTopOptions *options, GError **error)
{
  gboolean live = !options->allocations && !options->temporary && !options->short_lived;
  const char *at = options->at ? options->at : "peak";
  if (live && (options->untagged || (!g_str_equal (at, "peak") && !g_str_equal (at, "end"))))
    {
      g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_NOT_FOUND,
                   "a time range goes with every allocation, the temporary or short-lived "
                   "ones, or the blocks live at the peak or the end, not with '%s'",
                   options->untagged ? "types" : at);
      return NULL;
    }
  const char *what = options->short_lived ? "short_lived"
                     : options->temporary ? "temporary"
                     : options->allocations ? "alloc"
                     : g_str_equal (at, "end") ? "end"
                     : "peak";
  g_autofree char *range = time_range_sql ("bucket", 1);
  g_autofree char *sql
    = g_strdup_printf ("SELECT trace_id, SUM(%s_count), SUM(%s_bytes) FROM site_times"
                       " WHERE %s_count > 0%s GROUP BY trace_id",
                       what, what, what, range);
  sqlite3_stmt *st;
  if (!ht_db_prepare (ht_db_handle (db), sql, &st, error))
    return NULL;
  bind_time_range (st, 1, options->time_from_s, options->time_to_s);
  return st;
}

/* The rows (trace_id, count, bytes) `options` selects, as a prepared statement: the sites'
 * figures over the run (allocations, temporary, short-lived), or the live blocks per trace
 * at the snapshot options->at (default: the peak), tagged ones left out if asked. */
sqlite3_stmt *
metric_rows (HtDb *db, const HtTopOptions *options, GError **error)
{
  if (options->time_to_s > options->time_from_s)
    return range_rows (db, options, error);
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
/* ---------------------------------------------------------------------------------------
 * compare_to and the list of snapshots
 */
/* ---------------------------------------------------------------------------------------
 * Leaks and suppressions
 */
/* ---------------------------------------------------------------------------------------
 * Growth per type
 */
/* ---------------------------------------------------------------------------------------
 * Sizes and threads
 */
/* ---------------------------------------------------------------------------------------
 * Short source paths
 */
/* The source files of a recording -> the shortest trailing part of each that no other
 * file ends with (whole path components). */
static GHashTable *
short_paths (HtDb *db)
{
  GHashTable *out = ht_db_cache_get (db, "short-paths");
  if (out)
    return out;
  out = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  ht_db_cache_set (db, "short-paths", out, (GDestroyNotify) g_hash_table_unref);
  sqlite3_stmt *st;
  if (!ht_db_prepare (ht_db_handle (db),
                      "SELECT DISTINCT file FROM locations WHERE file LIKE '/%'", &st, NULL))
    return out;
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  while (sqlite3_step (st) == SQLITE_ROW)
    g_ptr_array_add (files, g_strdup ((const char *) sqlite3_column_text (st, 0)));
  sqlite3_finalize (st);
  /* how many files end with each suffix of 1, 2, ... components */
  g_autoptr (GHashTable) ends = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, NULL);
  for (guint i = 0; i < files->len; i++)
    {
      const char *f = files->pdata[i];
      for (const char *p = f + strlen (f); p > f; p--)
        if (p[-1] == '/')
          g_hash_table_insert (ends, (gpointer) p,
                               GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (ends, p))
                                                 + 1));
    }
  for (guint i = 0; i < files->len; i++)
    {
      const char *f = files->pdata[i], *p = f + strlen (f);
      while (p > f)
        {
          p--;
          while (p > f && p[-1] != '/')
            p--;
          if (GPOINTER_TO_UINT (g_hash_table_lookup (ends, p)) == 1)
            break;
        }
      /* nothing shorter than the whole path is unique: the whole path, with its '/' */
      g_hash_table_insert (out, g_strdup (f), g_strdup (p > f + 1 ? p : f));
    }
  return out;
}

char *
ht_query_display_key (HtDb *db, const char *key)
{
  if (!key || key[0] != '/')
    return g_strdup (key);
  GHashTable *paths = short_paths (db);
  /* "path:line", else the path */
  const char *colon = strrchr (key, ':');
  g_autofree char *path = colon && g_ascii_isdigit (colon[1])
                            ? g_strndup (key, (gsize) (colon - key))
                            : g_strdup (key);
  const char *shown = g_hash_table_lookup (paths, path);
  if (!shown)
    return g_strdup (key);
  return g_strconcat (shown, key + strlen (path), NULL);
}
