/* ht-db.h - the SQLite database of one recording. */
#pragma once

#include <glib.h>
#include <sqlite3.h>

G_BEGIN_DECLS

#define HT_DB_SCHEMA_VERSION 7 /* 2: tags; 3: temporaries, sizes, threads; 4: short-lived;
                                  5: heap graphs; 6: Python frames; 7: time buckets */
#define HT_DB_APPLICATION_ID 0x48545244 /* "HTRD" */

typedef struct _HtDb HtDb;

HtDb *ht_db_open (const char *path, GError **error);
void ht_db_close (HtDb *db);
sqlite3 *ht_db_handle (HtDb *db);
const char *ht_db_path (HtDb *db);

/* Data a query loaded from the database, kept for the next query (a database is never
 * written once imported): owned by the database, freed with it. */
gpointer ht_db_cache_get (HtDb *db, const char *key);
void ht_db_cache_set (HtDb *db, const char *key, gpointer data, GDestroyNotify destroy);

/* Stacks that run Python code show only their Python frames (the innermost one names the
 * allocation, as in tracemalloc), unless native frames are asked for: then the C frames
 * appear too, the Python frames in place of the evaluation loop's.  Default FALSE. */
void ht_db_set_native_frames (HtDb *db, gboolean native);
gboolean ht_db_get_native_frames (HtDb *db);

/* meta table values; NULL / 0 when absent */
char *ht_db_meta_string (HtDb *db, const char *key);
gint64 ht_db_meta_int (HtDb *db, const char *key);
double ht_db_meta_double (HtDb *db, const char *key);

/* Creates the schema in an empty database (used by the importer). */
gboolean ht_db_create_schema (sqlite3 *handle, GError **error);

/* Turns the handle's last error into a GError ("what: sqlite message"). */
gboolean ht_db_set_error (sqlite3 *handle, GError **error, const char *what);

/* Runs a statement without results; FALSE with error set on failure. */
gboolean ht_db_exec (sqlite3 *handle, const char *sql, GError **error);

/* Prepares; FALSE with error set on failure. */
gboolean ht_db_prepare (sqlite3 *handle, const char *sql, sqlite3_stmt **stmt, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HtDb, ht_db_close)

G_END_DECLS
