/* ht-rec-zstd.c - chunk compression with libzstd.
 *
 * libzstd is linked in statically (its symbols hidden), not opened with dlopen at start-up
 * as it once was: a dlopen made by the recorder changes what ld.so allocates for the
 * program's own dlopens later (its _dl_find_object segments are already grown), and a
 * libzstd.so.1 in the process makes the program's own dlopen of it nearly free, so the
 * program's allocation counts differed from a run without us.
 * zstd's memory comes from mmap through its custom allocator, never from the malloc the
 * recorder interposes.  A few compression contexts are shared by whoever flushes a chunk
 * (its thread, or the sampler); when all are busy the chunk goes out raw rather than
 * anyone waiting.  Frames carry a checksum, so a damaged chunk is an error, not garbage
 * records.  HEAPTRAIL_COMPRESS=0 writes raw chunks (readers take both).
 */
#define _GNU_SOURCE
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_createCCtx_advanced: our own allocator */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "ht-rec-private.h"

#define POOL 4
#define LEVEL 1

typedef struct
{
  atomic_int busy;
  ZSTD_CCtx *cctx;
  uint8_t *out;
  size_t cap;
} HtRecZ;

static HtRecZ pool[POOL];
static _Atomic bool ready;

/* mmap-backed allocator for zstd; the size lives in a 16-byte header. */
static void *
z_alloc (void *opaque, size_t size)
{
  (void) opaque;
  uint8_t *p = ht_rec_mmap (size + 16);
  if (!p)
    return NULL;
  memcpy (p, &size, sizeof size);
  return p + 16;
}

static void
z_free (void *opaque, void *address)
{
  (void) opaque;
  if (!address)
    return;
  uint8_t *p = (uint8_t *) address - 16;
  size_t size;
  memcpy (&size, p, sizeof size);
  ht_rec_munmap (p, size + 16);
}

/* Makes the contexts; false (chunks stay raw) when that fails or HEAPTRAIL_COMPRESS=0.
 * Called once, from the constructor, never inside a malloc hook. */
bool
ht_rec_zstd_init (void)
{
  const char *env = getenv ("HEAPTRAIL_COMPRESS");
  if (env && strcmp (env, "0") == 0)
    return false;
  ZSTD_customMem mem = { z_alloc, z_free, NULL };
  size_t cap = ZSTD_compressBound (HT_REC_BUFFER_SIZE + HT_ENCODE_FINISH_MAX);
  for (int i = 0; i < POOL; i++)
    {
      pool[i].cctx = ZSTD_createCCtx_advanced (mem);
      pool[i].out = ht_rec_mmap (cap);
      pool[i].cap = cap;
      if (!pool[i].cctx || !pool[i].out
          || ZSTD_isError (ZSTD_CCtx_setParameter (pool[i].cctx, ZSTD_c_compressionLevel, LEVEL))
          || ZSTD_isError (ZSTD_CCtx_setParameter (pool[i].cctx, ZSTD_c_checksumFlag, 1)))
        return false;
    }
  atomic_store (&ready, true);
  return true;
}

/* Compresses a chunk's payload as one frame, but each of its parts (the row, then each
 * column, the trailer with the last) in blocks of its own: every zstd block has one Huffman
 * table for its literals, and the columns' bytes are distributed too differently to share
 * one.  A reader decompresses the frame as any other. */
static size_t
compress_parts (ZSTD_CCtx *cctx, uint8_t *dst, size_t cap, const uint8_t *src,
                const size_t *ends, int parts)
{
  /* the frame states its size, as ZSTD_compress2's do: readers size their buffer by it */
  size_t r = ZSTD_CCtx_setPledgedSrcSize (cctx, ends[parts - 1]);
  if (ZSTD_isError (r))
    return r;
  ZSTD_outBuffer out = { dst, cap, 0 };
  ZSTD_inBuffer in = { src, 0, 0 };
  for (int i = 0; i < parts; i++)
    {
      in.size = ends[i];
      ZSTD_EndDirective how = i == parts - 1 ? ZSTD_e_end : ZSTD_e_flush;
      size_t left;
      do
        {
          left = ZSTD_compressStream2 (cctx, &out, &in, how);
          if (ZSTD_isError (left))
            return left;
        }
      while (left != 0);
    }
  return out.pos;
}

/* Compresses `parts` parts of `src` ending at ends[0] < ends[1] < ... (the last the
 * length).  Returns the compressed size and the buffer holding it, and keeps that context
 * busy until ht_rec_zstd_release (slot); 0 when not worth it or no context is free. */
size_t
ht_rec_zstd_compress (const void *src, const size_t *ends, int parts, const uint8_t **out,
                      int *slot)
{
  size_t len = ends[parts - 1];
  if (!atomic_load_explicit (&ready, memory_order_acquire) || len < 256)
    return 0;
  for (int i = 0; i < POOL; i++)
    {
      if (atomic_exchange_explicit (&pool[i].busy, 1, memory_order_acquire))
        continue;
      size_t n = compress_parts (pool[i].cctx, pool[i].out, pool[i].cap, src, ends, parts);
      if (ZSTD_isError (n) || n >= len)
        {
          atomic_store_explicit (&pool[i].busy, 0, memory_order_release);
          return 0;
        }
      *out = pool[i].out;
      *slot = i;
      return n;
    }
  return 0;
}

void
ht_rec_zstd_release (int slot)
{
  atomic_store_explicit (&pool[slot].busy, 0, memory_order_release);
}
