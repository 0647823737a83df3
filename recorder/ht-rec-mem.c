/* ht-rec-mem.c - the recorder's own memory: mmap only, and a registry of every mapping.
 *
 * The recorder never allocates through the malloc it interposes.  Its buffers and tables come
 * from mmap, and each mapping is listed in a lock-free registry, so that the heap scan of
 * --graph never reads the recorder's memory as the program's, and summary can report how
 * much the recorder used.
 */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "ht-rec-private.h"

static _Atomic size_t own_bytes; /* memory the recorder mapped for itself */

/* Every mapping the recorder made, so that the heap scan never takes one for the program's:
 * a fixed table of slots claimed and released with atomics (a thread stopped by the scan
 * may be in the middle of either; no lock may be held). */
#define OWN_SLOTS 65536

typedef struct
{
  _Atomic uintptr_t start;
  uintptr_t end;
} HtRecOwn;

static HtRecOwn *own_table; /* mmap'd once, itself in the table */

static void
own_add (void *p, size_t size)
{
  if (!own_table)
    {
      HtRecOwn *t = mmap (NULL, OWN_SLOTS * sizeof *t, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (t == MAP_FAILED)
        return;
      HtRecOwn *expected = NULL;
      if (!atomic_compare_exchange_strong ((HtRecOwn * _Atomic *) &own_table, &expected, t))
        munmap (t, OWN_SLOTS * sizeof *t);
      else
        own_add (t, OWN_SLOTS * sizeof *t);
    }
  size_t h = ((uintptr_t) p >> 12) * 0x9E3779B97F4A7C15ull >> 48;
  for (size_t i = 0; i < OWN_SLOTS; i++)
    {
      HtRecOwn *o = &own_table[(h + i) & (OWN_SLOTS - 1)];
      uintptr_t expected = 0;
      if (atomic_load_explicit (&o->start, memory_order_relaxed) == 0
          && atomic_compare_exchange_strong (&o->start, &expected, (uintptr_t) p))
        {
          o->end = (uintptr_t) p + size;
          return;
        }
    }
}

static void
own_remove (void *p)
{
  size_t h = ((uintptr_t) p >> 12) * 0x9E3779B97F4A7C15ull >> 48;
  for (size_t i = 0; own_table && i < OWN_SLOTS; i++)
    {
      HtRecOwn *o = &own_table[(h + i) & (OWN_SLOTS - 1)];
      if (atomic_load (&o->start) == (uintptr_t) p)
        {
          atomic_store (&o->start, 0);
          return;
        }
    }
}

bool
ht_rec_own_ranges (HtRecRanges *out)
{
  bool ok = true;
  for (size_t i = 0; own_table && i < OWN_SLOTS; i++)
    {
      uintptr_t start = atomic_load_explicit (&own_table[i].start, memory_order_relaxed);
      if (start && !ht_rec_ranges_add (out, start, own_table[i].end, 0))
        ok = false;
    }
  return ok;
}

static void *
map_anonymous (size_t size, int flags)
{
  /* MAP_NORESERVE makes our mappings differ from the program's anonymous ones, so the
   * kernel never merges one of ours into a program's mapping (a thread stack, say): the
   * heap scan of --graph reads whole mappings and must never read the recorder's memory */
  long r = ht_rec_sys (SYS_mmap, 0, (long) size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | flags, -1);
  if (r < 0 && r > -4096)
    return NULL;
  void *p = (void *) r; /* the system call: the keeper calls this (no errno there) */
  own_add (p, size);
  atomic_fetch_add (&own_bytes, size);
  return p;
}

void *
ht_rec_mmap (size_t size)
{
  return map_anonymous (size, 0);
}

/* For a table probed before it is written: its pages are mapped now, written.  Left to
 * fault, a probe that reads a fresh page maps the shared zero page, and the write that
 * follows copies it and flushes every CPU's TLB (an interrupt to each: the writer's
 * core too). */
void *
ht_rec_mmap_table (size_t size)
{
  return map_anonymous (size, MAP_POPULATE);
}

void
ht_rec_munmap (void *p, size_t size)
{
  own_remove (p);
  ht_rec_sys (SYS_munmap, (long) p, (long) size, 0, 0, 0);
  atomic_fetch_sub (&own_bytes, size);
}

size_t
ht_rec_own_bytes (void)
{
  return atomic_load (&own_bytes);
}
