#include "ht-error.h"

G_DEFINE_QUARK (heaptrail-log-error-quark, ht_log_error)
G_DEFINE_QUARK (heaptrail-db-error-quark, ht_db_error)
G_DEFINE_QUARK (heaptrail-symbols-error-quark, ht_symbols_error)
G_DEFINE_QUARK (heaptrail-graph-error-quark, ht_graph_error)
