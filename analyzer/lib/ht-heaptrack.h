/* ht-heaptrack.h - heaptrack's recordings, read as they are (ht-heaptrack.c). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Whether path is a heaptrack recording (its .zst or .gz, once interpreted). */
gboolean ht_heaptrack_looks_like (const char *path);

/* Writes the recording as a heaptrail log at log_path (removed again on failure). */
gboolean ht_heaptrack_convert (const char *path, const char *log_path, GError **error);

G_END_DECLS
