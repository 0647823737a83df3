/* ht-db.c - schema, opening and SQLite error translation (the only place SQLite codes
 * become GErrors).
 *
 * A database is self-contained: opening it never re-reads the log.  The schema:
 *
 *   meta(key, value)                         pid, exe, argv, totals, peak, ...
 *   modules(id, path, build_id, bias)
 *   locations(id, function, file, line, module_id)        unique source positions
 *   sites(trace_id, alloc_count, alloc_bytes, temporary_count, temporary_bytes,
 *         short_lived_count, short_lived_bytes)   short-lived: meta short_lived_ms
 *   size_histogram(min_size, max_size, count, bytes)   allocations by size, powers of two
 *   site_frames(trace_id, depth, location_id)            visible frames, 0 = innermost
 *   snapshots(id, label, kind, time_s, heap_bytes, heap_blocks)   kind: peak, end
 *   snapshot_sites(snapshot_id, trace_id, count, bytes, tagged_count, tagged_bytes)
 *                                            live blocks per trace, and those of them tagged
 *   snapshot_types(snapshot_id, type, count, bytes)   live tagged blocks per type
 *   timeline(time_s, heap_bytes, rss_bytes, recorder_bytes)
 *   threads(stream, tid, alloc_count, alloc_bytes, temporary, frees)   per thread
 *
 * Heap graphs (record --graph), one per snapshot the recorder scanned:
 *   graphs(snapshot_id, blocks, bytes, edges, root_words, heap_scanned, root_scanned,
 *          threads_stopped, threads_missed, scan_s, flags)
 *   graph_blocks(snapshot_id, id, address, size, trace_id, type, reach, idom, retained,
 *                refs, referrers)
 *          id: the block's number in the scan (address order); trace_id 0 when unknown;
 *          type: tag or C++ class, else NULL; reach: HtReach; idom: -1 the super-root;
 *          refs: the block's pointers, referrers: the pointers to it, each a BLOB of
 *          LEB128 varint triples (other block's id, word index in the source block,
 *          offset in the target block).  One row per block and no edge index: importing
 *          millions of edges stays linear, and a walk reads a node's edges in one lookup.
 *   graph_roots(snapshot_id, kind, thread, address, name, dst, offset)
 *          kind: data, stack, tls; name: "g_list", "stack of thread 1234", ...
 *
 * A trace (trace_id) is the recorder's trace-tree node for an allocation's call stack.
 */
#include <glib/gstdio.h>
#include <sys/stat.h>

#include "ht-db.h"
#include "ht-error.h"

struct _HtDb
{
  sqlite3 *handle;
  char *path;
  GData *cache; /* what queries loaded once and share (the database is read-only) */
  gboolean native_frames;
};

static const char schema_sql[] =
  "CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
  "CREATE TABLE modules (id INTEGER PRIMARY KEY, path TEXT NOT NULL, build_id TEXT,"
  "  bias INTEGER NOT NULL);"
  "CREATE TABLE locations (id INTEGER PRIMARY KEY, function TEXT, file TEXT,"
  "  line INTEGER NOT NULL, module_id INTEGER REFERENCES modules(id),"
  "  python INTEGER NOT NULL DEFAULT 0);"
  "CREATE TABLE sites (trace_id INTEGER PRIMARY KEY, alloc_count INTEGER NOT NULL,"
  "  alloc_bytes INTEGER NOT NULL, temporary_count INTEGER NOT NULL,"
  "  temporary_bytes INTEGER NOT NULL, short_lived_count INTEGER NOT NULL,"
  "  short_lived_bytes INTEGER NOT NULL);"
  /* each trace's allocations per time bucket, and what became of them: a time range is a
   * sum over the buckets it covers (ht-import-time.c) */
  "CREATE TABLE time_buckets (bucket INTEGER PRIMARY KEY, from_s REAL NOT NULL,"
  "  to_s REAL NOT NULL);"
  "CREATE TABLE site_times (bucket INTEGER NOT NULL, trace_id INTEGER NOT NULL,"
  "  alloc_count INTEGER NOT NULL, alloc_bytes INTEGER NOT NULL,"
  "  temporary_count INTEGER NOT NULL, temporary_bytes INTEGER NOT NULL,"
  "  short_lived_count INTEGER NOT NULL, short_lived_bytes INTEGER NOT NULL,"
  "  peak_count INTEGER NOT NULL, peak_bytes INTEGER NOT NULL, end_count INTEGER NOT NULL,"
  "  end_bytes INTEGER NOT NULL, PRIMARY KEY (bucket, trace_id)) WITHOUT ROWID;"
  "CREATE TABLE size_histogram (min_size INTEGER NOT NULL, max_size INTEGER NOT NULL,"
  "  count INTEGER NOT NULL, bytes INTEGER NOT NULL);"
  "CREATE TABLE site_frames (trace_id INTEGER NOT NULL, depth INTEGER NOT NULL,"
  "  location_id INTEGER NOT NULL REFERENCES locations(id), PRIMARY KEY (trace_id, depth))"
  "  WITHOUT ROWID;"
  "CREATE TABLE snapshots (id INTEGER PRIMARY KEY, label TEXT NOT NULL, kind TEXT NOT NULL,"
  "  time_s REAL NOT NULL, heap_bytes INTEGER NOT NULL, heap_blocks INTEGER NOT NULL);"
  "CREATE TABLE snapshot_sites (snapshot_id INTEGER NOT NULL, trace_id INTEGER NOT NULL,"
  "  count INTEGER NOT NULL, bytes INTEGER NOT NULL, tagged_count INTEGER NOT NULL,"
  "  tagged_bytes INTEGER NOT NULL, PRIMARY KEY (snapshot_id, trace_id)) WITHOUT ROWID;"
  "CREATE TABLE snapshot_types (snapshot_id INTEGER NOT NULL, type TEXT NOT NULL,"
  "  count INTEGER NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (snapshot_id, type))"
  "  WITHOUT ROWID;"
  "CREATE TABLE timeline (time_s REAL NOT NULL, heap_bytes INTEGER NOT NULL,"
  "  rss_bytes INTEGER NOT NULL, recorder_bytes INTEGER NOT NULL);"
  "CREATE TABLE threads (stream INTEGER NOT NULL, tid INTEGER NOT NULL,"
  "  alloc_count INTEGER NOT NULL, alloc_bytes INTEGER NOT NULL, temporary INTEGER NOT NULL,"
  "  frees INTEGER NOT NULL);"
  "CREATE TABLE graphs (snapshot_id INTEGER PRIMARY KEY, blocks INTEGER NOT NULL,"
  "  bytes INTEGER NOT NULL, edges INTEGER NOT NULL, root_words INTEGER NOT NULL,"
  "  heap_scanned INTEGER NOT NULL, root_scanned INTEGER NOT NULL,"
  "  threads_stopped INTEGER NOT NULL, threads_missed INTEGER NOT NULL, scan_s REAL NOT NULL,"
  "  flags INTEGER NOT NULL);"
  "CREATE TABLE graph_blocks (snapshot_id INTEGER NOT NULL, id INTEGER NOT NULL,"
  "  address INTEGER NOT NULL, size INTEGER NOT NULL, trace_id INTEGER NOT NULL, type TEXT,"
  "  reach INTEGER NOT NULL, idom INTEGER NOT NULL, retained INTEGER NOT NULL,"
  "  refs BLOB NOT NULL, referrers BLOB NOT NULL,"
  "  bucket INTEGER NOT NULL," /* the time bucket it was allocated in; -1 unknown */
  "  PRIMARY KEY (snapshot_id, id)) WITHOUT ROWID;"
  "CREATE TABLE graph_roots (snapshot_id INTEGER NOT NULL, kind TEXT NOT NULL,"
  "  thread INTEGER NOT NULL, address INTEGER NOT NULL, name TEXT NOT NULL,"
  "  dst INTEGER NOT NULL, offset INTEGER NOT NULL);";

gboolean
ht_db_set_error (sqlite3 *handle, GError **error, const char *what)
{
  g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_SQLITE, "%s: %s", what,
               handle ? sqlite3_errmsg (handle) : "out of memory");
  return FALSE;
}

gboolean
ht_db_exec (sqlite3 *handle, const char *sql, GError **error)
{
  char *msg = NULL;
  if (sqlite3_exec (handle, sql, NULL, NULL, &msg) != SQLITE_OK)
    {
      g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_SQLITE, "database: %s",
                   msg ? msg : "unknown error");
      sqlite3_free (msg);
      return FALSE;
    }
  return TRUE;
}

gboolean
ht_db_prepare (sqlite3 *handle, const char *sql, sqlite3_stmt **stmt, GError **error)
{
  if (sqlite3_prepare_v2 (handle, sql, -1, stmt, NULL) != SQLITE_OK)
    return ht_db_set_error (handle, error, "database query");
  return TRUE;
}

gboolean
ht_db_create_schema (sqlite3 *handle, GError **error)
{
  g_autofree char *pragmas = g_strdup_printf ("PRAGMA application_id = %d;"
                                              "PRAGMA user_version = %d;",
                                              HT_DB_APPLICATION_ID, HT_DB_SCHEMA_VERSION);
  return ht_db_exec (handle, pragmas, error) && ht_db_exec (handle, schema_sql, error);
}

static gint64
pragma_int (sqlite3 *h, const char *sql)
{
  sqlite3_stmt *st = NULL;
  gint64 v = -1;
  if (sqlite3_prepare_v2 (h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step (st) == SQLITE_ROW)
    v = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  return v;
}

HtDb *
ht_db_open (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  GStatBuf st;
  if (g_stat (path, &st) != 0)
    {
      int err = errno;
      g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_SQLITE, "%s", g_strerror (err));
      return NULL;
    }
  if (S_ISDIR (st.st_mode))
    {
      g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_NOT_OURS, "is a directory");
      return NULL;
    }
  sqlite3 *h = NULL;
  if (sqlite3_open_v2 (path, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    {
      ht_db_set_error (h, error, "cannot open database");
      sqlite3_close (h);
      return NULL;
    }
  gint64 app = pragma_int (h, "PRAGMA application_id");
  gint64 version = pragma_int (h, "PRAGMA user_version");
  if (app != HT_DB_APPLICATION_ID)
    {
      g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_NOT_OURS,
                   app < 0 ? "not a heaptrail database or log"
                           : "a database, but not one heaptrail wrote");
      sqlite3_close (h);
      return NULL;
    }
  if (version < HT_DB_SCHEMA_VERSION)
    {
      g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_VERSION,
                   "database schema %" G_GINT64_FORMAT " is older than this heaptrail reads (%d); "
                   "import the log again",
                   version, HT_DB_SCHEMA_VERSION);
      sqlite3_close (h);
      return NULL;
    }
  if (version > HT_DB_SCHEMA_VERSION)
    {
      g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_VERSION,
                   "database schema %" G_GINT64_FORMAT " is newer than this heaptrail reads (%d); "
                   "upgrade heaptrail or re-import the log",
                   version, HT_DB_SCHEMA_VERSION);
      sqlite3_close (h);
      return NULL;
    }
  HtDb *db = g_new0 (HtDb, 1);
  db->handle = h;
  db->path = g_strdup (path);
  return db;
}

void
ht_db_close (HtDb *db)
{
  if (!db)
    return;
  g_datalist_clear (&db->cache);
  sqlite3_close (db->handle);
  g_free (db->path);
  g_free (db);
}

void
ht_db_set_native_frames (HtDb *db, gboolean native)
{
  g_return_if_fail (db != NULL);
  db->native_frames = native;
}

gboolean
ht_db_get_native_frames (HtDb *db)
{
  return db->native_frames;
}

gpointer
ht_db_cache_get (HtDb *db, const char *key)
{
  return g_datalist_get_data (&db->cache, key);
}

void
ht_db_cache_set (HtDb *db, const char *key, gpointer data, GDestroyNotify destroy)
{
  g_datalist_set_data_full (&db->cache, key, data, destroy);
}

sqlite3 *
ht_db_handle (HtDb *db)
{
  return db->handle;
}

const char *
ht_db_path (HtDb *db)
{
  return db->path;
}

static sqlite3_stmt *
meta_lookup (HtDb *db, const char *key)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2 (db->handle, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL)
      != SQLITE_OK)
    return NULL;
  sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
  if (sqlite3_step (st) != SQLITE_ROW)
    {
      sqlite3_finalize (st);
      return NULL;
    }
  return st;
}

char *
ht_db_meta_string (HtDb *db, const char *key)
{
  sqlite3_stmt *st = meta_lookup (db, key);
  if (!st)
    return NULL;
  char *v = g_strdup ((const char *) sqlite3_column_text (st, 0));
  sqlite3_finalize (st);
  return v;
}

gint64
ht_db_meta_int (HtDb *db, const char *key)
{
  sqlite3_stmt *st = meta_lookup (db, key);
  if (!st)
    return 0;
  gint64 v = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  return v;
}

double
ht_db_meta_double (HtDb *db, const char *key)
{
  sqlite3_stmt *st = meta_lookup (db, key);
  if (!st)
    return 0;
  double v = sqlite3_column_double (st, 0);
  sqlite3_finalize (st);
  return v;
}
