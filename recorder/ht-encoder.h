/* ht-encoder.h - the event encoder: how records of a thread stream become bytes.
 *
 * One HtEncoder per stream.  It holds what the next record is delta-encoded against (the
 * previous stamp and pointer), the chunk's columns (ht-format.h, HtColumn), and the
 * stream's pointer state (ht-format.h), which lets it name a pointer in fewer bytes than
 * its delta:
 *
 *   FREE   of one of the last HT_AGE_WINDOW ALLOCs  ->  FREE_AGE:    tag, dstamp, live age
 *   FREE   ptr in its recent slot                   ->  FREE_SLOT:   (0x80 | slot), dstamp
 *   ALLOC  ptr on its class's reuse stack           ->  ALLOC_REUSE: tag, dstamp, depth, ...
 *   ALLOC  ptr where the previous ALLOC's chunk ends ->  ALLOC_NEXT:  tag, dstamp, size, node
 *   ALLOC  ptr in its recent slot                   ->  ALLOC_SLOT:  tag, dstamp, slot, ...
 *   ALLOC  ptr of one of the last HT_FREED_WINDOW FREEs -> ALLOC_FREED: tag, dstamp, index, ...
 *
 * The pointer state lasts from chunk to chunk (the chunk header says HT_CHUNK_CONTINUES,
 * ht_encoder_chunk_flags) until ht_encoder_reset(): whoever starts a new log, or throws
 * records away, resets the encoders whose chunks the reader will not see.
 *
 * The row (tags and rare fields) is written where the caller points; the columns live in
 * the encoder until ht_encoder_finish() appends them and the trailer after the row.  The
 * recorder encodes into its per-thread buffers with it; tests/analyzer/test-reader.c and the
 * heaptrack converter build logs with it, so the reader is tested against the encoder the
 * recorder uses.  Callers reserve HT_ENCODE_MAX bytes of row at `p` before each call and
 * finish the chunk once ht_encoder_full(); each call returns the row position after the
 * record.  C11 and ht-format.h only: the recorder must stay free of GLib.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ht-format.h"

#define HT_ENCODE_MAX 48                 /* largest ALLOC / FREE / UNFREE / mark record row */
#define HT_ENCODE_COLUMN (32u * 1024u)    /* bytes per part of a column in a chunk */
#define HT_ENCODE_FINISH_MAX (HT_PARTS * HT_ENCODE_COLUMN + HT_COLUMN_TRAILER)
#define HT_ENCODE_WAYS 4                  /* entries per set of the two tables below */
#define HT_ENCODE_BLOCKS 16384            /* live blocks a FREE_AGE can name */
#define HT_ENCODE_FREED 8192              /* freed pointers an ALLOC_FREED can name */

/* Where a chunk's columns are built: whoever encodes provides them at each chunk's start
 * (the recorder has one set for its writer, not one per thread). */
typedef struct
{
  uint8_t bytes[HT_PARTS][HT_ENCODE_COLUMN]; /* each column's first part, then more parts */
} HtEncoderColumns;

/* A block the stream allocated, in the encoder's table of them (seq: its ALLOC's number
 * since the reset << 8 | its reuse class), or a pointer it freed, in the table of those
 * (seq: its FREE's number).  0: none. */
typedef struct
{
  uint64_t ptr;
  uint64_t seq;
} HtEncoderBlock;

typedef struct
{
  uint64_t last_stamp;              /* previous record's stamp (the chunk's base at first) */
  uint32_t col_len[HT_PARTS];
  uint32_t unchecked;               /* records that fit before ht_encoder_full looks again */
  bool continues;                   /* this chunk goes on with the previous one's state */
  bool state_used;                  /* a chunk was finished since the reset */
  /* the pointer state */
  uint64_t last_ptr;                /* previous pointer-carrying record's pointer */
  uint64_t allocs;                  /* ALLOC records since the reset */
  uint64_t frees;                   /* FREE records since the reset */
  uint64_t next_ptr;                /* where the previous ALLOC's glibc chunk ends */
  uint64_t recent[HT_RECENT_SLOTS];
  HtReuseStacks reuse;
  HtLiveWindow live;
  HtEncoderBlock blocks[HT_ENCODE_BLOCKS];
  HtEncoderBlock freed[HT_ENCODE_FREED];
  HtEncoderColumns *cols;           /* the current chunk's */
} HtEncoder;

/* Forgets the pointer state: the current chunk starts from nothing. */
static inline void
ht_encoder_reset (HtEncoder *e)
{
  e->state_used = false;
  e->continues = false;
  e->next_ptr = 0;
  ht_reuse_init (&e->reuse, HT_FORMAT_VERSION);
  /* nothing ever named a pointer since the last reset (a fresh encoder, the control
   * stream's): the tables are still zero, and 400 KiB of them need not be touched */
  if (e->allocs == 0 && e->frees == 0 && e->last_ptr == 0)
    return;
  e->last_ptr = 0;
  e->allocs = 0;
  e->frees = 0;
  memset (e->recent, 0, sizeof e->recent);
  ht_live_clear (&e->live);
  memset (e->blocks, 0, sizeof e->blocks);
  memset (e->freed, 0, sizeof e->freed);
}

/* Starts a chunk whose header carries `base_stamp`, its columns built in `cols`. */
static inline void
ht_encoder_start (HtEncoder *e, uint64_t base_stamp, HtEncoderColumns *cols)
{
  e->cols = cols;
  e->last_stamp = base_stamp;
  if (e->reuse.classes == 0) /* a zeroed encoder, never reset */
    ht_reuse_init (&e->reuse, HT_FORMAT_VERSION);
  memset (e->col_len, 0, sizeof e->col_len);
  e->unchecked = 0;
  e->continues = e->state_used;
}

/* The chunk header flags the current chunk needs besides compression. */
static inline uint32_t
ht_encoder_chunk_flags (const HtEncoder *e)
{
  return e->continues ? HT_CHUNK_CONTINUES : 0;
}

/* True once a column may not hold another record: finish the chunk before the next one.
 * A record adds at most HT_VARINT_MAX bytes to a column, so after one look at the fullest
 * column the next (room / HT_VARINT_MAX) calls need not look. */
static inline bool
ht_encoder_full (HtEncoder *e)
{
  if (e->unchecked)
    {
      e->unchecked--;
      return false;
    }
  uint32_t most = 0;
  for (int i = 0; i < HT_PARTS; i++)
    most = e->col_len[i] > most ? e->col_len[i] : most;
  uint32_t room = HT_ENCODE_COLUMN - most;
  if (room < 2 * HT_VARINT_MAX)
    return true;
  e->unchecked = room / HT_VARINT_MAX - 2;
  return false;
}

/* Appends the columns and the trailer at `row_end`; returns how many bytes that took (at
 * most HT_ENCODE_FINISH_MAX).  The chunk's payload is the row followed by them. */
static inline size_t
ht_encoder_finish (HtEncoder *e, uint8_t *row_end)
{
  e->state_used = true; /* the reader will have seen this chunk: the next one continues */
  uint8_t *p = row_end;
  for (int i = 0; i < HT_PARTS; i++)
    {
      memcpy (p, e->cols->bytes[i], e->col_len[i]);
      p += e->col_len[i];
    }
  for (int i = 0; i < HT_PARTS; i++)
    {
      uint32_t n = e->col_len[i];
      uint8_t le[4] = { (uint8_t) n, (uint8_t) (n >> 8), (uint8_t) (n >> 16), (uint8_t) (n >> 24) };
      memcpy (p, le, 4);
      p += 4;
    }
  return (size_t) (p - row_end);
}

/* A varint in column `col`: its first byte in the first part, the value >> 7 as a varint
 * in the more part when the first byte says it continues (ht-format.h). */
static inline void
ht_encoder_put (HtEncoder *e, HtColumn col, uint64_t v)
{
  if (v < 0x80)
    {
      e->cols->bytes[col][e->col_len[col]++] = (uint8_t) v;
      return;
    }
  e->cols->bytes[col][e->col_len[col]++] = (uint8_t) (v | 0x80);
  unsigned more = HT_COLUMNS + col;
  e->col_len[more] += (uint32_t) ht_varint_put (e->cols->bytes[more] + e->col_len[more], v >> 7);
}

static inline void
ht_encode_stamp (HtEncoder *e, uint64_t stamp)
{
  ht_encoder_put (e, HT_COL_STAMP, stamp - e->last_stamp);
  e->last_stamp = stamp;
}

/* A pointer as a zigzag delta from the previous one; it then fills its recent slot. */
static inline void
ht_encode_ptr (HtEncoder *e, uint64_t ptr)
{
  ht_encoder_put (e, HT_COL_PTR, ht_zigzag_encode ((int64_t) (ptr - e->last_ptr)));
  e->last_ptr = ptr;
  e->recent[ht_recent_slot (ptr)] = ptr;
}

/* A tag and a stamp: the start of every record, the whole of a mark (THREAD_END, SYNC). */
static inline uint8_t *
ht_encode_head (HtEncoder *e, uint8_t *p, uint8_t tag, uint64_t stamp)
{
  *p++ = tag;
  ht_encode_stamp (e, stamp);
  return p;
}

/* The pointer's set of HT_ENCODE_WAYS entries in the block table.  Sets of two lost one
 * live block in ten on micro-deep (4,096 in flight), whose frees then named a pointer. */
static inline HtEncoderBlock *
ht_encoder_set (HtEncoder *e, uint64_t ptr)
{
  return &e->blocks[(((ptr >> 4) * UINT64_C (0x9E3779B97F4A7C15)) >> 52) * HT_ENCODE_WAYS];
}
_Static_assert (HT_REUSE_CLASSES <= 256, "a block's class is the low byte of its seq");
_Static_assert (HT_ENCODE_BLOCKS == HT_ENCODE_WAYS << (64 - 52),
                "the block hash yields 12 bits of set");

/* The pointer's set of HT_ENCODE_WAYS entries in the table of freed pointers. */
static inline HtEncoderBlock *
ht_encoder_freed_set (HtEncoder *e, uint64_t ptr)
{
  return &e->freed[(((ptr >> 4) * UINT64_C (0x9E3779B97F4A7C15)) >> 53) * HT_ENCODE_WAYS];
}
_Static_assert (HT_ENCODE_FREED == HT_ENCODE_WAYS << (64 - 53),
                "the freed hash yields 11 bits of set");

/* `ptr`'s entry in its set, or NULL. */
static inline HtEncoderBlock *
ht_encoder_set_find (HtEncoderBlock *set, uint64_t ptr)
{
  for (int i = 0; i < HT_ENCODE_WAYS; i++)
    if (set[i].ptr == ptr)
      return &set[i];
  return NULL;
}

/* How many FREEs back the stream freed `ptr` (1: its latest FREE), or 0 when that is
 * beyond HT_FREED_WINDOW or not known; forgets it when found. */
static inline uint64_t
ht_encoder_freed_take (HtEncoder *e, uint64_t ptr)
{
  HtEncoderBlock *b = ht_encoder_set_find (ht_encoder_freed_set (e, ptr), ptr);
  if (!b || b->seq == 0 || e->frees + 1 - b->seq > HT_FREED_WINDOW)
    return 0;
  uint64_t index = e->frees + 1 - b->seq;
  b->seq = 0;
  return index;
}

/* Puts `ptr` in its set: in its own entry if it has one, else in an empty or the oldest. */
static inline void
ht_encoder_set_put (HtEncoderBlock *set, uint64_t ptr, uint64_t seq)
{
  HtEncoderBlock *b = ht_encoder_set_find (set, ptr);
  if (!b)
    {
      b = &set[0];
      for (int i = 1; i < HT_ENCODE_WAYS; i++)
        if (set[i].seq < b->seq)
          b = &set[i];
    }
  *b = (HtEncoderBlock){ ptr, seq };
}

/* Counts a FREE of `ptr`, in any form. */
static inline void
ht_encoder_freed_add (HtEncoder *e, uint64_t ptr)
{
  ht_encoder_set_put (ht_encoder_freed_set (e, ptr), ptr, ++e->frees);
}

static inline uint8_t *
ht_encode_alloc (HtEncoder *e, uint8_t *p, uint64_t stamp, uint64_t ptr, uint64_t size,
                 uint32_t node)
{
  unsigned slot = ht_recent_slot (ptr), c = ht_reuse_class (&e->reuse, size);
  int depth = ht_reuse_find (&e->reuse, c, ptr);
  uint64_t index;
  if (depth >= 0)
    {
      p = ht_encode_head (e, p, HT_REC_ALLOC_REUSE, stamp);
      ht_encoder_put (e, HT_COL_PTR, (uint64_t) depth);
      ht_reuse_take (&e->reuse, c, (uint64_t) depth);
      e->last_ptr = ptr;
      e->recent[slot] = ptr;
    }
  else if (ptr == e->next_ptr)
    {
      p = ht_encode_head (e, p, HT_REC_ALLOC_NEXT, stamp);
      e->last_ptr = ptr;
      e->recent[slot] = ptr;
    }
  else if (e->recent[slot] == ptr)
    {
      p = ht_encode_head (e, p, HT_REC_ALLOC_SLOT, stamp);
      e->cols->bytes[HT_COL_PTR][e->col_len[HT_COL_PTR]++] = (uint8_t) slot;
      e->last_ptr = ptr;
    }
  else if ((index = ht_encoder_freed_take (e, ptr)) != 0)
    {
      p = ht_encode_head (e, p, HT_REC_ALLOC_FREED, stamp);
      ht_encoder_put (e, HT_COL_AGE, index);
      e->last_ptr = ptr;
      e->recent[slot] = ptr;
    }
  else
    {
      p = ht_encode_head (e, p, HT_REC_ALLOC, stamp);
      ht_encode_ptr (e, ptr);
    }
  ht_encoder_put (e, HT_COL_SIZE, size);
  ht_encoder_put (e, HT_COL_NODE, node);
  e->next_ptr = ptr + ht_chunk_size (size);
  ht_encoder_set_put (ht_encoder_set (e, ptr), ptr, ++e->allocs << 8 | c);
  ht_live_alloc (&e->live, e->allocs);
  return p;
}

/* FREE, UNFREE, or the head of a TAG (its text follows): a tag, a stamp and a pointer. */
static inline uint8_t *
ht_encode_ptr_record (HtEncoder *e, uint8_t *p, uint8_t tag, uint64_t stamp, uint64_t ptr)
{
  if (tag == HT_REC_FREE)
    {
      ht_encoder_freed_add (e, ptr);
      HtEncoderBlock *b = ht_encoder_set_find (ht_encoder_set (e, ptr), ptr);
      unsigned slot = ht_recent_slot (ptr);
      uint64_t age = b && b->seq != 0 && e->allocs + 1 - (b->seq >> 8) <= HT_AGE_WINDOW
                       ? ht_live_free (&e->live, e->allocs, b->seq >> 8) : 0;
      if (age != 0)
        {
          p = ht_encode_head (e, p, HT_REC_FREE_AGE, stamp);
          ht_encoder_put (e, HT_COL_AGE, age);
          ht_reuse_push (&e->reuse, (unsigned) (b->seq & 0xff), ptr);
          b->seq = 0;
          e->last_ptr = ptr;
          e->recent[slot] = ptr;
          return p;
        }
      if (e->recent[slot] == ptr)
        {
          p = ht_encode_head (e, p, (uint8_t) (HT_REC_FREE_SLOT | slot), stamp);
          e->last_ptr = ptr;
          return p;
        }
    }
  p = ht_encode_head (e, p, tag, stamp);
  ht_encode_ptr (e, ptr);
  return p;
}
