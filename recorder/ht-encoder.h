/* ht-encoder.h - the event encoder: how records of a thread stream become bytes.
 *
 * One HtEncoder per chunk being written.  It holds what the next record is delta-encoded
 * against (the previous stamp and pointer) and the recent-pointer table (ht-format.h), and
 * picks the compact record forms when a pointer is in its slot:
 *
 *   ALLOC  ptr in its slot  ->  ALLOC_SLOT: tag, dstamp, slot byte, size, node
 *   FREE   ptr in its slot  ->  FREE_SLOT:  (0x80 | slot), dstamp
 *
 * The recorder encodes into its per-thread buffers with it; tests/analyzer/test-reader.c
 * builds its logs with it, so the reader is tested against the encoder the recorder uses.
 * Callers reserve HT_ENCODE_MAX bytes at `p` before each call; each call returns the
 * position after the record.  C11 and ht-format.h only: the recorder must stay free of GLib.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ht-format.h"

#define HT_ENCODE_MAX 48 /* largest ALLOC / FREE / UNFREE / mark record, with margin */

typedef struct
{
  uint64_t last_stamp;               /* previous record's stamp (the chunk's base at first) */
  uint64_t last_ptr;                 /* previous pointer-carrying record's pointer */
  uint64_t recent[HT_RECENT_SLOTS]; /* recent pointers of this chunk */
} HtEncoder;

/* Starts a chunk whose header carries `base_stamp`: a chunk decodes on its own. */
static inline void
ht_encoder_start (HtEncoder *e, uint64_t base_stamp)
{
  e->last_stamp = base_stamp;
  e->last_ptr = 0;
  memset (e->recent, 0, sizeof e->recent);
}

static inline uint8_t *
ht_encode_stamp (HtEncoder *e, uint8_t *p, uint64_t stamp)
{
  p += ht_varint_put (p, stamp - e->last_stamp);
  e->last_stamp = stamp;
  return p;
}

/* A pointer as a zigzag delta from the previous one; it then fills its recent slot. */
static inline uint8_t *
ht_encode_ptr (HtEncoder *e, uint8_t *p, uint64_t ptr)
{
  p += ht_varint_put (p, ht_zigzag_encode ((int64_t) (ptr - e->last_ptr)));
  e->last_ptr = ptr;
  e->recent[ht_recent_slot (ptr)] = ptr;
  return p;
}

/* A tag and a stamp: the start of every record, the whole of a mark (THREAD_END, SYNC). */
static inline uint8_t *
ht_encode_head (HtEncoder *e, uint8_t *p, uint8_t tag, uint64_t stamp)
{
  *p++ = tag;
  return ht_encode_stamp (e, p, stamp);
}

static inline uint8_t *
ht_encode_alloc (HtEncoder *e, uint8_t *p, uint64_t stamp, uint64_t ptr, uint64_t size,
                 uint32_t node)
{
  unsigned slot = ht_recent_slot (ptr);
  if (e->recent[slot] == ptr)
    {
      p = ht_encode_head (e, p, HT_REC_ALLOC_SLOT, stamp);
      *p++ = (uint8_t) slot;
      e->last_ptr = ptr;
    }
  else
    p = ht_encode_ptr (e, ht_encode_head (e, p, HT_REC_ALLOC, stamp), ptr);
  p += ht_varint_put (p, size);
  p += ht_varint_put (p, node);
  return p;
}

/* FREE, UNFREE, or the head of a TAG (its text follows): a tag, a stamp and a pointer. */
static inline uint8_t *
ht_encode_ptr_record (HtEncoder *e, uint8_t *p, uint8_t tag, uint64_t stamp, uint64_t ptr)
{
  unsigned slot = ht_recent_slot (ptr);
  if (tag == HT_REC_FREE && e->recent[slot] == ptr)
    {
      p = ht_encode_head (e, p, (uint8_t) (HT_REC_FREE_SLOT | slot), stamp);
      e->last_ptr = ptr;
      return p;
    }
  return ht_encode_ptr (e, ht_encode_head (e, p, tag, stamp), ptr);
}
