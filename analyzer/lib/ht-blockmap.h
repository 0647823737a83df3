/* ht-blockmap.h - the live blocks during an import: address -> (size, trace).
 *
 * Open addressing with linear probing and backward-shift deletion (no tombstones), so
 * memory follows the number of live blocks and never the number of events.  Address 0 is
 * the empty marker: malloc never returns it for a live block.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  guint64 ptr;
  guint64 size;
  guint32 node;
  guint32 stream;
  guint64 stamp; /* when it was allocated */
} HtBlock;

typedef struct
{
  HtBlock *slots;
  gsize mask; /* capacity - 1 */
  gsize count;
} HtBlockMap;

void ht_block_map_init (HtBlockMap *map);
void ht_block_map_clear (HtBlockMap *map);
/* Inserts or replaces; returns the previous entry in *old when it existed. */
gboolean ht_block_map_insert (HtBlockMap *map, const HtBlock *block, HtBlock *old);
gboolean ht_block_map_remove (HtBlockMap *map, guint64 ptr, HtBlock *out);
/* The live block at ptr, or NULL; valid until the next insert or remove. */
HtBlock *ht_block_map_lookup (HtBlockMap *map, guint64 ptr);
gsize ht_block_map_size (const HtBlockMap *map);

/* Iteration: for (gsize i = 0; i <= map->mask; i++) if (map->slots[i].ptr) ... */

G_END_DECLS
