/* ht-error.h - the analyzer's error domains.  Every fallible call takes GError ** last. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define HT_LOG_ERROR (ht_log_error_quark ())
#define HT_DB_ERROR (ht_db_error_quark ())
#define HT_SYMBOLS_ERROR (ht_symbols_error_quark ())
#define HT_GRAPH_ERROR (ht_graph_error_quark ())

/* Exit codes of the CLI follow these (see heaptrail(1)). */
typedef enum
{
  HT_LOG_ERROR_IO,          /* cannot open or read the file */
  HT_LOG_ERROR_NOT_A_LOG,   /* wrong magic: not a heaptrail log */
  HT_LOG_ERROR_VERSION,     /* written by a newer heaptrail */
  HT_LOG_ERROR_TRUNCATED,   /* the header itself is incomplete */
  HT_LOG_ERROR_CORRUPT,     /* a complete chunk holds an impossible record */
} HtLogError;

typedef enum
{
  HT_DB_ERROR_SQLITE,       /* SQLite failed; the message says how */
  HT_DB_ERROR_NOT_OURS,     /* a database, but not one heaptrail wrote */
  HT_DB_ERROR_VERSION,      /* written by a newer heaptrail */
  HT_DB_ERROR_NOT_FOUND,    /* asked for something the recording does not have */
  HT_DB_ERROR_CANCELLED,    /* the caller cancelled an import */
} HtDbError;

typedef enum
{
  HT_SYMBOLS_ERROR_FAILED,
} HtSymbolsError;

typedef enum
{
  HT_GRAPH_ERROR_NO_GRAPH,
} HtGraphError;

GQuark ht_log_error_quark (void);
GQuark ht_db_error_quark (void);
GQuark ht_symbols_error_quark (void);
GQuark ht_graph_error_quark (void);

G_END_DECLS
