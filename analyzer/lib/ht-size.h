/* ht-size.h - sizes as tracemalloc writes them and as users type them, and how far a
 * sampled one may be off (ht-size.c). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Formats like tracemalloc's _format_size: "126 KiB", "19.2 KiB", "+64 B". */
char *ht_format_size (double size, gboolean sign);
/* "4096", "512KiB", "64k", "1.5 MiB", "2G": bytes, with binary multiples (k and KiB alike);
 * FALSE for anything else, or for more than 2^62 bytes. */
gboolean ht_parse_size (const char *text, guint64 *out);
/* The standard deviation, in bytes, of the estimate of `bytes` in `count` blocks made by
 * record --sample `rate` (0 for an exact recording or an empty group).  From the group's
 * mean size, as if its blocks were all of it: exact for blocks much smaller than the rate,
 * where it is about sqrt(rate * bytes), and an overestimate for a mix with larger ones. */
double ht_sample_deviation (double bytes, double count, double rate);

G_END_DECLS
