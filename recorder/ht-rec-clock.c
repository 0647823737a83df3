/* ht-rec-clock.c - the clock every record is stamped with.
 *
 * The invariant TSC when the CPU has one (checked once, at start-up), else CLOCK_MONOTONIC;
 * HEAPTRAIL_CLOCK=monotonic forces the fallback.  ht_rec_stamp is inline in
 * ht-rec-private.h: it runs on every event.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <x86intrin.h>
#endif

#include "ht-rec-private.h"

bool ht_rec_use_tsc;

uint64_t
ht_rec_mono_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* For timing the recorder itself (one event in 256): fenced, so that the interval measured
 * is the work done, not what out-of-order execution lets slip in or out of it. */
uint64_t
ht_rec_stamp_fenced (void)
{
#if defined(__x86_64__)
  if (HT_REC_LIKELY (ht_rec_use_tsc))
    {
      _mm_lfence ();
      uint64_t t = __rdtsc ();
      _mm_lfence ();
      return t >> HT_STAMP_SHIFT_TSC;
    }
#endif
  return ht_rec_mono_ns () >> HT_STAMP_SHIFT_NS;
}

static bool
tsc_is_invariant (void)
{
#if defined(__x86_64__)
  unsigned a, b, c, d;
  if (!__get_cpuid (0x80000000, &a, &b, &c, &d) || a < 0x80000007)
    return false;
  __get_cpuid (0x80000007, &a, &b, &c, &d);
  return (d & (1u << 8)) != 0; /* invariant TSC */
#else
  return false;
#endif
}


void
ht_rec_clock_init (bool force_monotonic)
{
  ht_rec_use_tsc = tsc_is_invariant () && !force_monotonic;
}
