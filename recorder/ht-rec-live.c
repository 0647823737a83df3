/* ht-rec-live.c - the live-block table of `heaptrail record --graph`.
 *
 * With HEAPTRAIL_GRAPH set, the hooks keep every live block (address, size) in a table of
 * 256 shards, each an open-addressing hash under its own spin lock, so threads rarely meet.
 * At a snapshot and at exit the recorder takes every shard lock, which holds back every
 * malloc and free of the program for the duration (no block can be freed while it is
 * read), and writes one BLOCK record per live block with the block's first word: the
 * analyzer names a C++ object by the vtable that word points to.  Only addresses and that
 * one word are written, never other memory contents.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <string.h>

#include "ht-rec-private.h"

#define SHARDS 256

typedef struct
{
  uintptr_t ptr; /* 0: empty */
  size_t size;
} HtRecLive;

typedef struct
{
  atomic_int lock;
  size_t mask, used;
  HtRecLive *slots;
} HtRecShard;

static HtRecShard shards[SHARDS];
static bool enabled;

static inline size_t
mix (uintptr_t p)
{
  uint64_t h = (uint64_t) p * 0x9E3779B97F4A7C15ull;
  return (size_t) (h ^ (h >> 32));
}

static void
shard_lock (HtRecShard *s)
{
  while (atomic_exchange_explicit (&s->lock, 1, memory_order_acquire))
    sched_yield ();
}

static void
shard_unlock (HtRecShard *s)
{
  atomic_store_explicit (&s->lock, 0, memory_order_release);
}

static bool
shard_grow (HtRecShard *s)
{
  size_t cap = s->slots ? (s->mask + 1) * 2 : 1024;
  HtRecLive *t = ht_rec_mmap (cap * sizeof *t);
  if (!t)
    return false;
  for (size_t i = 0; s->slots && i <= s->mask; i++)
    if (s->slots[i].ptr)
      {
        size_t j = (mix (s->slots[i].ptr) >> 8) & (cap - 1);
        while (t[j].ptr)
          j = (j + 1) & (cap - 1);
        t[j] = s->slots[i];
      }
  if (s->slots)
    ht_rec_munmap (s->slots, (s->mask + 1) * sizeof *s->slots);
  s->slots = t;
  s->mask = cap - 1;
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

void
ht_rec_live_insert (uintptr_t ptr, size_t size)
{
  if (!enabled || !ptr)
    return;
  HtRecShard *s = &shards[mix (ptr) & (SHARDS - 1)];
  shard_lock (s);
  if ((s->used + 1) * 2 > (s->slots ? s->mask + 1 : 0) && !shard_grow (s))
    {
      shard_unlock (s);
      return;
    }
  size_t i = (mix (ptr) >> 8) & s->mask;
  while (s->slots[i].ptr && s->slots[i].ptr != ptr)
    i = (i + 1) & s->mask;
  if (!s->slots[i].ptr)
    s->used++;
  s->slots[i] = (HtRecLive){ ptr, size };
  shard_unlock (s);
}

/* Removes ptr; returns its size (0 when unknown).  Backward-shift deletion. */
size_t
ht_rec_live_remove (uintptr_t ptr)
{
  if (!enabled || !ptr)
    return 0;
  HtRecShard *s = &shards[mix (ptr) & (SHARDS - 1)];
  shard_lock (s);
  size_t size = 0;
  if (s->slots)
    {
      size_t i = (mix (ptr) >> 8) & s->mask;
      while (s->slots[i].ptr && s->slots[i].ptr != ptr)
        i = (i + 1) & s->mask;
      if (s->slots[i].ptr == ptr)
        {
          size = s->slots[i].size;
          size_t hole = i;
          for (size_t j = (i + 1) & s->mask; s->slots[j].ptr; j = (j + 1) & s->mask)
            {
              size_t home = (mix (s->slots[j].ptr) >> 8) & s->mask;
              if (((j - home) & s->mask) >= ((j - hole) & s->mask))
                {
                  s->slots[hole] = s->slots[j];
                  hole = j;
                }
            }
          s->slots[hole].ptr = 0;
          s->used--;
        }
    }
  shard_unlock (s);
  return size;
}

/* Writes a BLOCK record for every live block, with every shard locked: the program's
 * allocations and frees wait meanwhile, so each block read is live.  `then` runs before
 * the shards are unlocked (the SNAPSHOT record, so that it follows the blocks). */
void
ht_rec_live_scan (void (*then) (void *), void *data)
{
  if (!enabled)
    {
      if (then)
        then (data);
      return;
    }
  for (int k = 0; k < SHARDS; k++)
    shard_lock (&shards[k]);
  HtRecStream *c = ht_rec_control_stream ();
  ht_rec_stream_lock (c);
  uint64_t stamp = ht_rec_stamp ();
  for (int k = 0; k < SHARDS; k++)
    {
      HtRecShard *s = &shards[k];
      for (size_t i = 0; s->slots && i <= s->mask; i++)
        {
          HtRecLive *b = &s->slots[i];
          if (!b->ptr)
            continue;
          uintptr_t word = 0;
          if (b->size >= sizeof word)
            memcpy (&word, (const void *) b->ptr, sizeof word);
          uint8_t *p = ht_rec_stream_reserve (c, HT_REC_RECORD_MAX);
          *p++ = HT_REC_BLOCK;
          p = ht_rec_put_stamp (c, p, stamp);
          p += ht_varint_put (p, b->ptr);
          p += ht_varint_put (p, b->size);
          p += ht_varint_put (p, word);
          c->len = (size_t) (p - (c->buf + sizeof (HtChunkHeader)));
        }
    }
  ht_rec_stream_unlock (c);
  if (then)
    then (data);
  for (int k = SHARDS; k-- > 0;)
    shard_unlock (&shards[k]);
}

/* In a forked child only the forking thread lives on: no lock can still be meant. */
void
ht_rec_live_after_fork (void)
{
  for (int k = 0; k < SHARDS; k++)
    atomic_store (&shards[k].lock, 0);
}
