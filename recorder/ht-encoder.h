/* ht-encoder.h - the event encoder: how records of a thread stream become bytes.
 *
 * One HtEncoder per stream.  It holds what the next record is delta-encoded against (the
 * previous stamp and pointer), the chunk's columns (ht-format.h, HtColumn), and the tables
 * that let it name a pointer in fewer bytes than its delta:
 *
 *   FREE   of a block this chunk allocated      ->  FREE_AGE:    tag, dstamp, age
 *   FREE   ptr in its recent slot               ->  FREE_SLOT:   (0x80 | slot), dstamp
 *   ALLOC  ptr on top of its class's reuse stack ->  ALLOC_REUSE: tag, dstamp, size, node
 *   ALLOC  ptr in its recent slot               ->  ALLOC_SLOT:  tag, dstamp, slot, size, node
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
#define HT_ENCODE_COLUMN (32u * 1024u)    /* bytes per column in a chunk */
#define HT_ENCODE_FINISH_MAX (HT_COLUMNS * HT_ENCODE_COLUMN + HT_COLUMN_TRAILER)
#define HT_ENCODE_BLOCKS 4096             /* blocks of the chunk a FREE_AGE can name */

/* A block this chunk allocated, in the encoder's table of them (direct-mapped by pointer). */
typedef struct
{
  uint64_t ptr, size;
  uint32_t seq;   /* its ALLOC's number in the chunk, from 1 */
  uint32_t chunk; /* the chunk it belongs to (HtEncoder.chunk); other values are stale */
} HtEncoderBlock;

typedef struct
{
  uint64_t last_stamp;              /* previous record's stamp (the chunk's base at first) */
  uint64_t last_ptr;                /* previous pointer-carrying record's pointer */
  uint64_t recent[HT_RECENT_SLOTS]; /* recent pointers of this chunk */
  uint32_t allocs;                  /* ALLOC records in this chunk */
  uint32_t chunk;                   /* chunks started, for HtEncoderBlock.chunk */
  uint32_t col_len[HT_COLUMNS];
  HtReuseStacks reuse;
  uint8_t col[HT_COLUMNS][HT_ENCODE_COLUMN];
  HtEncoderBlock blocks[HT_ENCODE_BLOCKS];
} HtEncoder;

/* Starts a chunk whose header carries `base_stamp`: a chunk decodes on its own. */
static inline void
ht_encoder_start (HtEncoder *e, uint64_t base_stamp)
{
  e->last_stamp = base_stamp;
  e->last_ptr = 0;
  e->allocs = 0;
  if (++e->chunk == 0) /* wrapped: a stale entry could look current */
    {
      memset (e->blocks, 0, sizeof e->blocks);
      e->chunk = 1;
    }
  memset (e->recent, 0, sizeof e->recent);
  memset (e->col_len, 0, sizeof e->col_len);
  memset (e->reuse.n, 0, sizeof e->reuse.n);
}

/* True once a column may not hold another record: finish the chunk before the next one. */
static inline bool
ht_encoder_full (const HtEncoder *e)
{
  for (int i = 0; i < HT_COLUMNS; i++)
    if (e->col_len[i] > HT_ENCODE_COLUMN - 2 * HT_VARINT_MAX)
      return true;
  return false;
}

/* Appends the columns and the trailer at `row_end`; returns how many bytes that took (at
 * most HT_ENCODE_FINISH_MAX).  The chunk's payload is the row followed by them. */
static inline size_t
ht_encoder_finish (HtEncoder *e, uint8_t *row_end)
{
  uint8_t *p = row_end;
  for (int i = 0; i < HT_COLUMNS; i++)
    {
      memcpy (p, e->col[i], e->col_len[i]);
      p += e->col_len[i];
    }
  for (int i = 0; i < HT_COLUMNS; i++)
    {
      uint32_t n = e->col_len[i];
      uint8_t le[4] = { (uint8_t) n, (uint8_t) (n >> 8), (uint8_t) (n >> 16), (uint8_t) (n >> 24) };
      memcpy (p, le, 4);
      p += 4;
    }
  return (size_t) (p - row_end);
}

static inline void
ht_encoder_put (HtEncoder *e, HtColumn col, uint64_t v)
{
  e->col_len[col] += (uint32_t) ht_varint_put (e->col[col] + e->col_len[col], v);
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

static inline HtEncoderBlock *
ht_encoder_block (HtEncoder *e, uint64_t ptr)
{
  return &e->blocks[((ptr >> 4) * UINT64_C (0x9E3779B97F4A7C15)) >> 52];
}

static inline uint8_t *
ht_encode_alloc (HtEncoder *e, uint8_t *p, uint64_t stamp, uint64_t ptr, uint64_t size,
                 uint32_t node)
{
  unsigned slot = ht_recent_slot (ptr);
  if (ht_reuse_take (&e->reuse, size, ptr))
    {
      p = ht_encode_head (e, p, HT_REC_ALLOC_REUSE, stamp);
      e->last_ptr = ptr;
      e->recent[slot] = ptr;
    }
  else if (e->recent[slot] == ptr)
    {
      p = ht_encode_head (e, p, HT_REC_ALLOC_SLOT, stamp);
      e->col[HT_COL_PTR][e->col_len[HT_COL_PTR]++] = (uint8_t) slot;
      e->last_ptr = ptr;
    }
  else
    {
      p = ht_encode_head (e, p, HT_REC_ALLOC, stamp);
      ht_encode_ptr (e, ptr);
    }
  ht_encoder_put (e, HT_COL_SIZE, size);
  ht_encoder_put (e, HT_COL_NODE, node);
  HtEncoderBlock *b = ht_encoder_block (e, ptr);
  *b = (HtEncoderBlock){ ptr, size, ++e->allocs, e->chunk };
  return p;
}

/* FREE, UNFREE, or the head of a TAG (its text follows): a tag, a stamp and a pointer. */
static inline uint8_t *
ht_encode_ptr_record (HtEncoder *e, uint8_t *p, uint8_t tag, uint64_t stamp, uint64_t ptr)
{
  if (tag == HT_REC_FREE)
    {
      HtEncoderBlock *b = ht_encoder_block (e, ptr);
      unsigned slot = ht_recent_slot (ptr);
      if (b->chunk == e->chunk && b->ptr == ptr)
        {
          p = ht_encode_head (e, p, HT_REC_FREE_AGE, stamp);
          ht_encoder_put (e, HT_COL_PTR, e->allocs + 1 - b->seq);
          ht_reuse_push (&e->reuse, b->size, ptr);
          b->chunk = e->chunk - 1; /* freed: never current again */
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
