/* ht-rec-live.c - the live-block table of `heaptrail record --graph`.
 *
 * With HEAPTRAIL_GRAPH set, the writer of the log keeps every live block (address, size) in
 * a table, from the events it writes, at no cost to the program's threads.  The heap scan
 * (ht-rec-scan.c) reads it at each snapshot and at exit, once every stream is drained.
 */
#define _GNU_SOURCE
#include <string.h>

#include "ht-rec-private.h"

/* ---------------------------------------------------------------------------------------
 * The live-block table.  The program's threads never touch it: the writer of the queue
 * (ht-rec-stream.c) replays every ALLOC, FREE and UNFREE into it as it encodes the
 * streams' buffers, so `record --graph` costs the hooks nothing more than `record`.  Only
 * the holder of the queue's write lock reads or writes it.
 *
 * Streams are replayed a buffer at a time, so the events of different threads on one
 * address come in any order.  But on one address allocations and frees alternate, so once
 * every event is in, whether the block is live depends only on the address's latest event,
 * in the order of the analyzer's merge (by stamp; within a stream, the stream's order; on
 * equal stamps of two streams, a free first).  The table keeps that latest event for each
 * address: an ALLOC (live) or a FREE (a marker: older events that come later are ignored).
 * A marker is needed only until every event older than it is in: the SYNC(T) the sampler
 * writes every 10 ms comes after every record stamped before T, so when the writer meets
 * it, markers older than T go (ht_rec_live_sync); a scan, which drains every stream, drops
 * them all.  Kept until a scan, they filled the table with every address ever freed.
 *
 * While a single stream has ever carried the program's events (ht_rec_threads_alone), no
 * older event can come late, and a FREE takes its block out of the table at once: no
 * marker, nothing pending (python3 and most programs that never start a thread).
 */
typedef struct
{
  uintptr_t ptr; /* 0: empty */
  size_t size;   /* its latest ALLOC's, kept across a FREE (an UNFREE brings it back) */
  uint64_t stamp;
  uint32_t stream;
  uint32_t freed; /* the latest event is a FREE */
} HtRecLive;

typedef struct
{
  HtRecLive *slots;
  size_t mask, used, freed;
} HtRecLiveTable;

static HtRecLiveTable live;
static bool enabled;

/* Addresses that became markers since the latest SYNC the writer met. */
static struct
{
  uintptr_t *ptr;
  size_t n, cap;
} pending;
#define PENDING_MAX (4u << 20) /* beyond this (no SYNC for long), markers wait for a scan */

static inline size_t
hash (uintptr_t p)
{
  uint64_t h = (uint64_t) p * 0x9E3779B97F4A7C15ull;
  return (size_t) (h ^ (h >> 32));
}

/* Blocks near each other in memory stay near each other in the table: a 1 KiB group picks
 * a hashed run of 64 slots, the address within the group the slot in that run, so that
 * consecutive allocations (the common case) touch the same cache lines. */
static inline size_t
mix (uintptr_t p)
{
  return (hash (p >> 10) << 6) | ((p >> 4) & 63);
}

/* A table of `cap` slots holding the entries of t, without the markers when `live_only`. */
static bool
table_rebuild (HtRecLiveTable *t, size_t cap, bool live_only)
{
  HtRecLive *n = ht_rec_mmap_table (cap * sizeof *n);
  if (!n)
    return false;
  size_t used = 0;
  for (size_t i = 0; t->slots && i <= t->mask; i++)
    if (t->slots[i].ptr && !(live_only && t->slots[i].freed))
      {
        size_t j = mix (t->slots[i].ptr) & (cap - 1);
        while (n[j].ptr)
          j = (j + 1) & (cap - 1);
        n[j] = t->slots[i];
        used++;
      }
  if (t->slots)
    ht_rec_munmap (t->slots, (t->mask + 1) * sizeof *t->slots);
  t->slots = n;
  t->mask = cap - 1;
  t->used = used;
  if (live_only)
    t->freed = 0;
  return true;
}

void
ht_rec_live_init (bool on)
{
  enabled = on;
}

bool
ht_rec_live_enabled (void)
{
  return enabled;
}

/* Whether an event (stamp, stream, an ALLOC or not) comes after the entry's. */
static inline bool
newer (uint64_t stamp, uint32_t stream, bool alloc, const HtRecLive *e)
{
  if (stamp != e->stamp)
    return stamp > e->stamp;
  if (stream == e->stream)
    return true; /* replayed in the stream's own order */
  return alloc || e->freed; /* two streams, one stamp: the free first */
}

/* Remembers that `ptr` became a marker. */
static void
pending_add (uintptr_t ptr)
{
  if (pending.n == pending.cap)
    {
      size_t cap = pending.cap ? pending.cap * 2 : 4096;
      uintptr_t *n = cap <= PENDING_MAX ? ht_rec_mmap (cap * sizeof *n) : NULL;
      if (!n)
        return; /* it stays a marker until the next scan */
      if (pending.ptr)
        {
          memcpy (n, pending.ptr, pending.n * sizeof *n);
          ht_rec_munmap (pending.ptr, pending.cap * sizeof *n);
        }
      pending.ptr = n;
      pending.cap = cap;
    }
  pending.ptr[pending.n++] = ptr;
}

/* Empties slot i of the table, moving later entries of its probe run back (linear
 * probing keeps no tombstones). */
static void
table_remove (size_t i)
{
  size_t j = i;
  for (;;)
    {
      j = (j + 1) & live.mask;
      if (!live.slots[j].ptr)
        break;
      size_t home = mix (live.slots[j].ptr) & live.mask;
      /* j's entry may move to i when its home is not in (i, j], cyclically */
      if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
        {
          live.slots[i] = live.slots[j];
          i = j;
        }
    }
  live.slots[i] = (HtRecLive){ 0 };
  live.used--;
}

/* The writer met SYNC(stamp): every event stamped before it has been replayed, so no older
 * event can come after a marker stamped before it.  Such markers leave the table. */
void
ht_rec_live_sync (uint64_t stamp)
{
  if (!enabled || !live.slots)
    return;
  size_t kept = 0;
  for (size_t k = 0; k < pending.n; k++)
    {
      uintptr_t ptr = pending.ptr[k];
      size_t i = mix (ptr) & live.mask;
      while (live.slots[i].ptr && live.slots[i].ptr != ptr)
        i = (i + 1) & live.mask;
      HtRecLive *e = &live.slots[i];
      if (!e->ptr || !e->freed)
        continue; /* live again, or gone already */
      if (e->stamp >= stamp)
        {
          pending.ptr[kept++] = ptr; /* freed again since: the next SYNC's */
          continue;
        }
      live.freed--;
      table_remove (i);
    }
  pending.n = kept;
}

/* One event of the address `ptr`: an ALLOC of `size` bytes, an UNFREE (alloc, size -1: the
 * size the block had, else `size_was`), or a FREE (not alloc: the block's size goes to
 * `size_was` when it was live).  Returns false when the table could not grow. */
static bool
replay (uint32_t stream, uint64_t stamp, uintptr_t ptr, bool alloc, size_t size,
        uint64_t *size_was)
{
  if ((live.used + 1) * 2 > (live.slots ? live.mask + 1 : 0)
      && !table_rebuild (&live, live.slots ? (live.mask + 1) * 2 : 1u << 16, false))
    return false;
  size_t i = mix (ptr) & live.mask;
  while (live.slots[i].ptr && live.slots[i].ptr != ptr)
    i = (i + 1) & live.mask;
  HtRecLive *e = &live.slots[i];
  if (!alloc && !e->freed && ht_rec_threads_alone ())
    {
      *size_was = e->size; /* 0 for a block the table never saw (an UNFREE may bring it back) */
      if (e->ptr)
        table_remove (i);
      return true;
    }
  if (e->ptr)
    {
      if (!newer (stamp, stream, alloc, e))
        return true; /* an older event, come late: the entry already says what happened */
      live.freed -= e->freed;
    }
  else
    {
      e->ptr = ptr;
      e->size = alloc && size == (size_t) -1 ? *size_was : 0; /* an UNFREE after its marker
                                                                  left at a SYNC */
      live.used++;
    }
  if (!alloc && !e->freed)
    {
      *size_was = e->size;
      pending_add (ptr);
    }
  e->stamp = stamp;
  e->stream = stream;
  e->freed = !alloc;
  live.freed += e->freed;
  if (alloc && size != (size_t) -1)
    e->size = size;
  return true;
}

/* The writer is about to replay an event of `ptr` a few records on: its slot's line is
 * loaded meanwhile (the table is large; nearly every probe missed the cache), and the
 * next slot's, which a FREE's table_remove reads (half the time on the next line: those
 * loads were half of table_remove's samples on python3 under --graph). */
void
ht_rec_live_prefetch (uintptr_t ptr)
{
  if (enabled && live.slots)
    {
      size_t i = mix (ptr) & live.mask;
      __builtin_prefetch (&live.slots[i], 1);
      __builtin_prefetch (&live.slots[(i + 1) & live.mask], 1);
    }
}

void
ht_rec_live_replay_alloc (uint32_t stream, uint64_t stamp, uintptr_t ptr, size_t size)
{
  if (enabled && ptr)
    replay (stream, stamp, ptr, true, size, NULL);
}

/* `freed_size`: the stream's, where the size of the block it freed last is kept. */
void
ht_rec_live_replay_free (uint32_t stream, uint64_t stamp, uintptr_t ptr, uint64_t *freed_size)
{
  if (enabled && ptr)
    replay (stream, stamp, ptr, false, 0, freed_size);
}

/* A failed realloc: the block the stream's latest FREE marked lives on, with the size it
 * had (kept in `freed_size` by that FREE, should the marker have left since). */
void
ht_rec_live_replay_unfree (uint32_t stream, uint64_t stamp, uintptr_t ptr,
                           uint64_t *freed_size)
{
  if (enabled && ptr)
    replay (stream, stamp, ptr, true, (size_t) -1, freed_size);
}

/* Every stream drained (the caller holds the queue's write lock): no older event can come
 * any more, the markers can go. */
void
ht_rec_live_drop_markers (void)
{
  if (live.freed)
    table_rebuild (&live, live.mask + 1, true);
  pending.n = 0;
}

/* How many blocks are live (markers dropped first). */
size_t
ht_rec_live_count (void)
{
  return live.used - live.freed;
}

/* Fills `out` with the live blocks, at most `max`, in the table's order; returns how many. */
size_t
ht_rec_live_blocks (HtRecBlock *out, size_t max)
{
  size_t n = 0;
  for (size_t i = 0; live.slots && i <= live.mask && n < max; i++)
    if (live.slots[i].ptr && !live.slots[i].freed)
      out[n++] = (HtRecBlock){ live.slots[i].ptr, live.slots[i].size };
  return n;
}
