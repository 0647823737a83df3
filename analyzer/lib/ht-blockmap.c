/* ht-blockmap.c - see ht-blockmap.h for the shape. */
#include "ht-blockmap.h"

/* Where a pointer's probe starts.  Not a scrambling hash: blocks allocated one after the
 * other mostly sit one after the other in memory, and keeping them in neighbouring slots
 * makes the table cache-friendly (with a million live blocks a scrambled table costs a
 * cache miss per event).  The address within a table-sized window is kept as is (in
 * 16-byte units, malloc's alignment); which window it is shifts it by a scrambled
 * amount, so distant regions do not pile onto the same slots. */
static inline gsize
slot_of (const HtBlockMap *map, guint64 p)
{
  guint64 q = p >> 4;
  return (gsize) (q + (q >> map->bits) * 0x9E3779B97F4A7C15ull) & map->mask;
}

void
ht_block_map_init (HtBlockMap *map)
{
  map->mask = 1023;
  map->bits = 10;
  map->slots = g_new0 (HtBlock, map->mask + 1);
  map->count = 0;
}

void
ht_block_map_clear (HtBlockMap *map)
{
  g_clear_pointer (&map->slots, g_free);
  map->mask = 0;
  map->count = 0;
}

static void
grow (HtBlockMap *map)
{
  gsize old_cap = map->mask + 1;
  HtBlock *old = map->slots;
  map->mask = old_cap * 2 - 1;
  map->bits++;
  map->slots = g_new0 (HtBlock, map->mask + 1);
  for (gsize i = 0; i < old_cap; i++)
    if (old[i].ptr)
      {
        gsize j = slot_of (map, old[i].ptr);
        while (map->slots[j].ptr)
          j = (j + 1) & map->mask;
        map->slots[j] = old[i];
      }
  g_free (old);
}

gboolean
ht_block_map_insert (HtBlockMap *map, const HtBlock *block, HtBlock *old)
{
  g_assert (block->ptr != 0);
  if ((map->count + 1) * 4 > (map->mask + 1) * 3)
    grow (map);
  gsize i = slot_of (map, block->ptr);
  while (map->slots[i].ptr)
    {
      if (map->slots[i].ptr == block->ptr)
        {
          if (old)
            *old = map->slots[i];
          map->slots[i] = *block;
          return TRUE;
        }
      i = (i + 1) & map->mask;
    }
  map->slots[i] = *block;
  map->count++;
  return FALSE;
}

gboolean
ht_block_map_remove (HtBlockMap *map, guint64 ptr, HtBlock *out)
{
  if (ptr == 0)
    return FALSE;
  gsize i = slot_of (map, ptr);
  while (map->slots[i].ptr != ptr)
    {
      if (!map->slots[i].ptr)
        return FALSE;
      i = (i + 1) & map->mask;
    }
  if (out)
    *out = map->slots[i];
  /* backward shift: pull later members of the probe run into the hole */
  gsize hole = i;
  for (gsize j = (i + 1) & map->mask; map->slots[j].ptr; j = (j + 1) & map->mask)
    {
      gsize home = slot_of (map, map->slots[j].ptr);
      if (((j - home) & map->mask) >= ((j - hole) & map->mask))
        {
          map->slots[hole] = map->slots[j];
          hole = j;
        }
    }
  map->slots[hole].ptr = 0;
  map->count--;
  return TRUE;
}

gsize
ht_block_map_size (const HtBlockMap *map)
{
  return map->count;
}
