/* ht-import.h - turns a log into a database in one streaming pass. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Called now and then with the fraction of the log read (0..1). */
typedef void (*HtImportProgress) (double fraction, gpointer user_data);

typedef struct
{
  HtImportProgress progress;
  gpointer progress_data;
  GCancellable *cancellable;
  /* Evenly spaced snapshots to take over the run ("@1.234s"), besides the program's own,
   * the peak and the end: 0 means the default (50), a negative number none. */
  int auto_snapshots;
  /* Blocks freed within this many milliseconds of their allocation count as short-lived;
   * 0 means the default (1 ms). */
  double short_lived_ms;
  /* Read and analyse, but write no database (db_path is ignored): for the fuzzer. */
  gboolean dry_run;
  /* Filled in on return: warnings worth showing (truncated log, missing symbols), one per
   * line, or NULL.  Free with g_free. */
  char *warnings;
} HtImportOptions;

/* Imports `log_path` into `db_path`.  The database is written under a temporary name in
 * the same directory (mode 0600) and renamed over `db_path` only when complete; on failure
 * or cancellation nothing is left behind. */
gboolean ht_import (const char *log_path, const char *db_path, HtImportOptions *options,
                    GError **error);

/* Where a log's database goes by default: LOG.db */
char *ht_import_default_db_path (const char *log_path);

/* TRUE when `db_path` exists and was imported from `log_path` as it is now (same size and
 * modification time, recorded in the database's meta table). */
gboolean ht_import_is_current (const char *log_path, const char *db_path);

/* The temporary file of an import under way (for a signal handler to remove), or NULL. */
const char *ht_import_current_tmp_path (void);

G_END_DECLS
