/* ht-rec-sampling.c - record --sample SIZE: which allocations are recorded.
 *
 * Poisson sampling by bytes, as tcmalloc and jemalloc do: every allocated byte is picked
 * with probability 1/SIZE, and an allocation is recorded when one of its bytes is picked,
 * that is with probability p = 1 - exp(-size/SIZE).  Each thread counts down the bytes to
 * its next pick, drawn from an exponential distribution of mean SIZE, so the common case
 * is one subtraction: no stack is captured, nothing is written.  The analyzer weights
 * each recorded allocation by 1/p (ht-import.c), which makes every total unbiased.
 *
 * Every allocation is counted on the way (one addition to the thread's own counter of
 * calls; the countdown counts the bytes), and the counts go to the log in COUNTED records:
 * with each recorded allocation, at the thread's exit and at the end.  The totals are
 * then exact, not estimated; only what a thread still running at the end allocated since
 * its last recorded allocation (about SIZE bytes) is missing, or a thread that never had
 * one.
 *
 * Only frees of recorded blocks are written.  Recorded blocks live in a small table under
 * a mutex; in front of it, a bit per hash bucket says whether any recorded block's address
 * falls in it (a count per bucket, under the mutex, says how many), so a free of anything
 * else costs one load of a bitmap and no lock.  The bitmap grows with the recorded blocks
 * alive (ht-rec-private.h says how), from 512 bytes: a fixed 4 KiB one missed the L1
 * cache on 64% of the frees of bench/micro, whose memsets sweep the cache (cachegrind),
 * and a byte per bucket missed it on python3's.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>

#include "ht-rec-private.h"

uint64_t ht_rec_sample_mean; /* SIZE in bytes; 0 = every allocation is recorded */

#define FILTER_FIRST_BITS 12 /* log2 of the first bitmap's buckets */
#define FILTER_LAST_BITS 24  /* 2 MiB of bits, for 512K recorded blocks alive */

_Atomic uintptr_t ht_rec_sample_filter; /* the bitmap | its shift (ht-rec-private.h) */
/* under table_lock: */
static _Atomic uint64_t *filter;        /* the bitmap: a bit a bucket */
static uint16_t *filter_count;          /* recorded blocks per bucket (saturates) */
static unsigned filter_bits;            /* log2 of the buckets */
static __thread uint64_t sample_rng __attribute__ ((tls_model ("initial-exec")));
static __thread uintptr_t sample_freed __attribute__ ((tls_model ("initial-exec")));
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t *table;          /* open addressing, linear probing, 0 = empty */
static size_t table_cap, table_count;

static inline uint64_t
mix (uint64_t x)
{
  x ^= x >> 33;
  x *= UINT64_C (0xff51afd7ed558ccd);
  x ^= x >> 33;
  return x;
}

/* -ln(u) for u in (0, 1], to about 1e-8: the recorder links no libm.  u = m * 2^e with
 * m in [1, 2); ln(m) = 2 atanh(z), z = (m - 1) / (m + 1) < 1/3, whose series z + z^3/3 +
 * z^5/5 + ... leaves less than z^15/15 < 5e-9 after seven terms (by Horner's rule, with no
 * division but the one for z). */
static double
minus_log (double u)
{
  union
  {
    double d;
    uint64_t bits;
  } v = { u };
  int e = (int) ((v.bits >> 52) & 0x7ff) - 1023;
  v.bits = (v.bits & ~(UINT64_C (0x7ff) << 52)) | (UINT64_C (1023) << 52);
  double z = (v.d - 1) / (v.d + 1), z2 = z * z;
  double series
    = z * (1 + z2 * (1. / 3 + z2 * (1. / 5 + z2 * (1. / 7 + z2 * (1. / 9 + z2 * (1. / 11 + z2 / 13))))));
  return -(2 * series + e * 0.69314718055994530942);
}

/* Bytes to the next pick: exponential with mean SIZE. */
static int64_t
next_interval (void)
{
  /* xorshift64*, 53 bits of it as a uniform in (0, 1] */
  sample_rng ^= sample_rng >> 12;
  sample_rng ^= sample_rng << 25;
  sample_rng ^= sample_rng >> 27;
  uint64_t r = (sample_rng * UINT64_C (2685821657736338717)) >> 11;
  double u = (double) (r + 1) / 9007199254740992.0;
  double bytes = minus_log (u) * (double) ht_rec_sample_mean;
  return bytes < 1 ? 1 : bytes > 4e18 ? INT64_MAX : (int64_t) bytes;
}


static bool
table_grow (void)
{
  size_t cap = table_cap ? table_cap * 2 : 4096;
  uintptr_t *t = ht_rec_mmap (cap * sizeof *t);
  if (!t)
    return false;
  for (size_t i = 0; i < table_cap; i++)
    if (table[i])
      {
        size_t j = mix (table[i]) & (cap - 1);
        while (t[j])
          j = (j + 1) & (cap - 1);
        t[j] = table[i];
      }
  if (table)
    ht_rec_munmap (table, table_cap * sizeof *table);
  table = t;
  table_cap = cap;
  return true;
}

/* Counts `ptr` in its bucket of the current bitmap, `n` times (UINT16_MAX: for good). */
static void
filter_hold (uintptr_t ptr, unsigned n)
{
  size_t b = ht_rec_sample_bucket (ptr, 64 - filter_bits);
  unsigned c = filter_count[b];
  if (c == UINT16_MAX)
    return;
  filter_count[b] = (uint16_t) (c + n > UINT16_MAX ? UINT16_MAX : c + n);
  if (c == 0)
    atomic_fetch_or_explicit (&filter[b / 64], UINT64_C (1) << (b % 64), memory_order_relaxed);
}

/* A bitmap of 2^bits buckets, filled from the table, then published: a free that loads
 * the old one meanwhile tests a block recorded before, which the old one holds (the old
 * one stays mapped: at most a third of the last one's size, all told).  False if out of
 * memory, the old one kept.  Under table_lock. */
static bool
filter_grow (unsigned bits)
{
  size_t buckets = (size_t) 1 << bits;
  _Atomic uint64_t *map = ht_rec_mmap_table (buckets / 8); /* read before it is written */
  uint16_t *count = ht_rec_mmap (buckets * sizeof *count);
  if (!map || !count)
    {
      if (map)
        ht_rec_munmap ((void *) map, buckets / 8);
      if (count)
        ht_rec_munmap (count, buckets * sizeof *count);
      return false;
    }
  if (filter_count)
    ht_rec_munmap (filter_count, ((size_t) 1 << filter_bits) * sizeof *filter_count);
  filter = map;
  filter_count = count;
  filter_bits = bits;
  for (size_t i = 0; i < table_cap; i++)
    if (table[i])
      filter_hold (table[i], 1);
  /* the blocks of the bootstrap arena (ht-rec-hooks.c) are for the hooks' slow paths,
   * which know them: their buckets stay held */
  uintptr_t start, end;
  ht_rec_bootstrap_range (&start, &end);
  for (uintptr_t p = start; p < end; p += 16)
    filter_hold (p, UINT16_MAX);
  atomic_store_explicit (&ht_rec_sample_filter, (uintptr_t) map | (64 - bits),
                         memory_order_release);
  return true;
}

static void
remember (uintptr_t ptr)
{
  pthread_mutex_lock (&table_lock);
  if ((table_count + 1) * 2 > table_cap && !table_grow ())
    {
      pthread_mutex_unlock (&table_lock);
      return; /* its free will not be written: the block reads as not freed */
    }
  size_t j = mix (ptr) & (table_cap - 1);
  while (table[j] && table[j] != ptr)
    j = (j + 1) & (table_cap - 1);
  if (!table[j])
    {
      /* a bigger bitmap from the table as it is, or the old one if out of memory: both
       * hold every block but this one, which goes in next */
      if (table_count + 1 > (UINT64_C (1) << filter_bits) / 32 && filter_bits < FILTER_LAST_BITS)
        filter_grow (filter_bits + 2);
      table[j] = ptr;
      table_count++;
      filter_hold (ptr, 1);
    }
  pthread_mutex_unlock (&table_lock);
}

/* Removes ptr, with backward-shift deletion (no tombstones); true if it was there. */
static bool
forget (uintptr_t ptr)
{
  pthread_mutex_lock (&table_lock);
  bool found = false;
  if (table_cap)
    {
      size_t mask = table_cap - 1, j = mix (ptr) & mask;
      while (table[j] && table[j] != ptr)
        j = (j + 1) & mask;
      if (table[j])
        {
          found = true;
          table_count--;
          size_t hole = j;
          for (size_t k = (j + 1) & mask; table[k]; k = (k + 1) & mask)
            {
              size_t home = mix (table[k]) & mask;
              /* move table[k] into the hole unless its home lies cyclically in (hole, k] */
              bool stays = hole <= k ? (home > hole && home <= k) : (home > hole || home <= k);
              if (!stays)
                {
                  table[hole] = table[k];
                  hole = k;
                }
            }
          table[hole] = 0;
          size_t b = ht_rec_sample_bucket (ptr, 64 - filter_bits);
          if (filter_count[b] < UINT16_MAX && --filter_count[b] == 0)
            atomic_fetch_and_explicit (&filter[b / 64], ~(UINT64_C (1) << (b % 64)),
                                       memory_order_relaxed);
        }
    }
  pthread_mutex_unlock (&table_lock);
  return found;
}

/* HEAPTRAIL_SAMPLE (bytes).  Off with --graph: a sampled heap cannot be scanned. */
bool
ht_rec_sampling_init (uint64_t mean)
{
  if (!mean)
    return true;
  pthread_mutex_lock (&table_lock);
  bool ok = filter_grow (FILTER_FIRST_BITS);
  pthread_mutex_unlock (&table_lock);
  if (!ok || !ht_rec_hooks_resolve ())
    return false;
  __atomic_store_n (&ht_rec_sample_mean, mean, __ATOMIC_RELEASE);
  /* published last: the hooks' --sample paths start with this test */
  atomic_fetch_or_explicit (&ht_rec_mode, HT_REC_MODE_SAMPLE, memory_order_release);
  return true;
}

/* fork: no thread may hold the table's lock when the child starts */
void
ht_rec_sampling_lock (void)
{
  pthread_mutex_lock (&table_lock);
}

void
ht_rec_sampling_unlock (void)
{
  pthread_mutex_unlock (&table_lock);
}

/* Called when ht_rec_sampling_skips() said no: the countdown ends in this allocation,
 * which is recorded (and remembered for its free), and a new countdown starts.  A
 * thread's first allocation only starts its countdown. */
bool
ht_rec_sampling_take (uintptr_t ptr, size_t size)
{
  HtRecHot *h = &ht_rec_hot;
  h->sample_bytes += (uint64_t) (h->sample_start - h->sample_left); /* this one included */
  if (HT_REC_UNLIKELY (!sample_rng))
    {
      sample_rng = mix ((uint64_t) ht_rec_gettid () ^ ht_rec_stamp ()) | 1;
      int64_t left = next_interval () - (int64_t) size;
      h->sample_start = h->sample_left = left;
      if (left > 0)
        return false;
    }
  h->sample_start = h->sample_left = next_interval ();
  remember (ptr);
  return true;
}

/* Whether this free is of a recorded block (which is then forgotten). */
bool
ht_rec_sampling_release (uintptr_t ptr)
{
  if (HT_REC_LIKELY (!ht_rec_sampling_may_hold (ptr)) || !forget (ptr))
    return false;
  sample_freed = ptr;
  return true;
}

/* A realloc failed after its free: the block is recorded again if it was before. */
bool
ht_rec_sampling_unrelease (uintptr_t ptr)
{
  if (sample_freed != ptr)
    return false;
  sample_freed = 0;
  remember (ptr);
  return true;
}

/* Writes the calling thread's counts since its last COUNTED to `s` (its lock held). */
void
ht_rec_sampling_put_counted (HtRecStream *s, uint64_t stamp)
{
  HtRecHot *h = &ht_rec_hot;
  if (!ht_rec_sample_mean || h->sample_calls == 0)
    return;
  HtRecCounted c = ht_rec_hot_counted (h);
  uint8_t *p = ht_rec_record_begin (s, HT_REC_COUNTED, stamp, 2 * HT_VARINT_MAX);
  p += ht_varint_put (p, c.calls);
  p += ht_varint_put (p, c.bytes);
  ht_rec_record_end (s, p);
  ht_rec_sampling_forget_counted ();
}

/* The calling thread's counts start again from zero (written, or a forked child's). */
void
ht_rec_sampling_forget_counted (void)
{
  HtRecHot *h = &ht_rec_hot;
  h->sample_calls = h->sample_bytes = 0;
  h->sample_start = h->sample_left;
}

/* At the end of the log: the counts of every thread still running (read from their
 * counters: whatever they add meanwhile is not recorded anyway) and the caller's. */
void
ht_rec_sampling_put_counted_all (void)
{
  if (!ht_rec_sample_mean)
    return;
  HtRecCounted sum = { 0 };
  ht_rec_threads_add_counted (&sum);
  if (!ht_rec_tls_thread) /* a thread with a stream was in the list */
    {
      HtRecCounted c = ht_rec_hot_counted (&ht_rec_hot);
      sum.calls += c.calls;
      sum.bytes += c.bytes;
    }
  ht_rec_sampling_forget_counted ();
  if (sum.calls == 0)
    return;
  ht_rec_stream_put (ht_rec_control_stream (), HT_REC_COUNTED, ht_rec_stamp (), 2, sum.calls,
                     sum.bytes);
}
