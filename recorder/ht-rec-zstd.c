/* ht-rec-zstd.c - chunk compression with libzstd, loaded at run time.
 *
 * The recorder links nothing but libc, pthread, libdl and libunwind, so zstd is opened
 * with dlopen when the recorder starts; without it, chunks are written raw (readers take
 * both).  zstd's memory comes from mmap through its custom allocator, never from the
 * malloc the recorder interposes.  A few compression contexts are shared by whoever
 * flushes a chunk (its thread, or the sampler); when all are busy the chunk goes out raw
 * rather than anyone waiting.  Frames carry a checksum, so a damaged chunk is an error,
 * not garbage records.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "ht-rec-private.h"

#define POOL 4
#define LEVEL 1

/* zstd's stable ABI, declared here so that building needs no zstd header either. */
typedef struct
{
  void *(*alloc) (void *opaque, size_t size);
  void (*free) (void *opaque, void *address);
  void *opaque;
} HtZstdMem;

enum
{
  ZSTD_C_COMPRESSION_LEVEL = 100, /* ZSTD_c_compressionLevel */
  ZSTD_C_CHECKSUM_FLAG = 201,     /* ZSTD_c_checksumFlag */
};

static struct
{
  void *(*create) (HtZstdMem mem);
  size_t (*set) (void *cctx, int param, int value);
  size_t (*compress) (void *cctx, void *dst, size_t cap, const void *src, size_t len);
  size_t (*bound) (size_t len);
  unsigned (*is_error) (size_t code);
} z;

typedef struct
{
  atomic_int busy;
  void *cctx;
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

/* Opens libzstd and makes the contexts; false (chunks stay raw) when that fails or
 * HEAPTRAIL_COMPRESS=0.  Called once, from the constructor, never inside a malloc hook. */
bool
ht_rec_zstd_init (void)
{
  const char *env = getenv ("HEAPTRAIL_COMPRESS");
  if (env && strcmp (env, "0") == 0)
    return false;
  void *lib = dlopen ("libzstd.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    return false;
  z.create = (void *(*) (HtZstdMem)) dlsym (lib, "ZSTD_createCCtx_advanced");
  z.set = (size_t (*) (void *, int, int)) dlsym (lib, "ZSTD_CCtx_setParameter");
  z.compress = (size_t (*) (void *, void *, size_t, const void *, size_t)) dlsym (
    lib, "ZSTD_compress2");
  z.bound = (size_t (*) (size_t)) dlsym (lib, "ZSTD_compressBound");
  z.is_error = (unsigned (*) (size_t)) dlsym (lib, "ZSTD_isError");
  if (!z.create || !z.set || !z.compress || !z.bound || !z.is_error)
    return false;
  HtZstdMem mem = { z_alloc, z_free, NULL };
  size_t cap = z.bound (HT_REC_BUFFER_SIZE);
  for (int i = 0; i < POOL; i++)
    {
      pool[i].cctx = z.create (mem);
      pool[i].out = ht_rec_mmap (cap);
      pool[i].cap = cap;
      if (!pool[i].cctx || !pool[i].out
          || z.is_error (z.set (pool[i].cctx, ZSTD_C_COMPRESSION_LEVEL, LEVEL))
          || z.is_error (z.set (pool[i].cctx, ZSTD_C_CHECKSUM_FLAG, 1)))
        return false;
    }
  atomic_store (&ready, true);
  return true;
}

/* Compresses `len` bytes.  Returns the compressed size and the buffer holding it, and
 * keeps that context busy until ht_rec_zstd_release (slot); 0 when not worth it or no
 * context is free. */
size_t
ht_rec_zstd_compress (const void *src, size_t len, const uint8_t **out, int *slot)
{
  if (!atomic_load_explicit (&ready, memory_order_acquire) || len < 256)
    return 0;
  for (int i = 0; i < POOL; i++)
    {
      if (atomic_exchange_explicit (&pool[i].busy, 1, memory_order_acquire))
        continue;
      size_t n = z.compress (pool[i].cctx, pool[i].out, pool[i].cap, src, len);
      if (z.is_error (n) || n >= len)
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
