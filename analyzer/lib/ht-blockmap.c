/* ht-blockmap.c - see ht-blockmap.h for the shape. */
#include "ht-blockmap.h"

/* Where a pointer's probe starts.  Blocks allocated one after the other mostly sit one
 * after the other in memory; keeping them in neighbouring slots makes the table
 * cache-friendly (with a million live blocks a fully scrambled table costs a cache miss
 * per event).  So each 1 KiB of address space (64 units of malloc's 16-byte alignment)
 * maps to a run of 64 slots in address order, and those runs are placed by a scrambling
 * hash (MurmurHash3's finalizer).  Scrambling whole address windows instead would pile
 * dense heaps onto the same slots: linear probing then goes quadratic. */
static inline gsize
slot_of (const HtBlockMap *map, guint64 p)
{
  guint64 q = p >> 4;
  guint64 g = q >> 6;
  g ^= g >> 33;
  g *= 0xff51afd7ed558ccdull;
  g ^= g >> 33;
  g *= 0xc4ceb9fe1a85ec53ull;
  g ^= g >> 33;
  return (gsize) ((g << 6) | (q & 63)) & map->mask;
}

void
ht_block_map_init (HtBlockMap *map)
{
  map->mask = 1023;
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

HtBlock *
ht_block_map_lookup (HtBlockMap *map, guint64 ptr)
{
  if (ptr == 0)
    return NULL;
  for (gsize i = slot_of (map, ptr); map->slots[i].ptr; i = (i + 1) & map->mask)
    if (map->slots[i].ptr == ptr)
      return &map->slots[i];
  return NULL;
}

gsize
ht_block_map_size (const HtBlockMap *map)
{
  return map->count;
}
