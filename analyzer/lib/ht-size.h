/* ht-size.h - sizes as tracemalloc writes them and as users type them (ht-size.c). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Formats like tracemalloc's _format_size: "126 KiB", "19.2 KiB", "+64 B". */
char *ht_format_size (double size, gboolean sign);
/* "4096", "512KiB", "64k", "1.5 MiB", "2G": bytes, with binary multiples (k and KiB alike);
 * FALSE for anything else, or for more than 2^62 bytes. */
gboolean ht_parse_size (const char *text, guint64 *out);

G_END_DECLS
