/* ht-rec-events.c - the hot path: an allocation, a free, a failed realloc or a type tag
 * becomes one record in the calling thread's stream.
 *
 * The hooks (ht-rec-hooks.c) call these with the thread's recursion guard held.  An
 * allocation's stack becomes a trace node first (ht-rec-trace.c), outside the stream lock.
 * With --sample, most allocations and their frees stop at the first test (ht-rec-sampling.c).
 */
#define _GNU_SOURCE
#include <string.h>

#include "ht-rec-private.h"

/* The recorder's own cost is sampled: one event in 256 is timed from here to its stamp
 * and counted 256 times, which is unbiased and keeps fences off the other 255. */
static inline uint64_t
timing_start (HtRecStream *s)
{
  return (s->tick++ % HT_REC_TIMING_EVERY) == 0 ? ht_rec_stamp_fenced () : 0;
}

static inline void
timing_end (HtRecStream *s, uint64_t t0)
{
  if (t0)
    atomic_store_explicit (&s->spent,
                           s->spent + (ht_rec_stamp_fenced () - t0) * HT_REC_TIMING_EVERY,
                           memory_order_relaxed);
}

void
ht_rec_on_alloc (void *ptr, size_t size)
{
  if (ht_rec_sample_mean && ht_rec_sampling_skips (size))
    return;
  ht_rec_on_alloc_counted (ptr, size);
}

/* An allocation, once --sample's countdown (if any) has been applied to it. */
void
ht_rec_on_alloc_counted (void *ptr, size_t size)
{
  if (ht_rec_sample_mean && !ht_rec_sampling_take ((uintptr_t) ptr, size))
    return;
  bool mine;
  HtRecStream *s = ht_rec_thread_stream_as (&mine);
  HtRecThread *t = ht_rec_tls_thread;
  uint64_t t0 = timing_start (s);
  uint32_t node = t ? ht_rec_trace_capture (t) : 0;
  ht_rec_stream_lock_as (s, mine);
  uint64_t stamp = ht_rec_event_stamp (s);
  if (ht_rec_sample_mean)
    ht_rec_sampling_put_counted (s, stamp); /* this allocation included */
  ht_rec_raw_alloc (s, stamp, (uintptr_t) ptr, size, node);
  ht_rec_stream_unlock_as (s, mine);
  timing_end (s, t0);
  ht_rec_sampler_poll (stamp); /* the program's threads take the ticks */
}

static uint64_t
put_ptr_event (uint8_t tag, void *ptr)
{
  bool mine;
  HtRecStream *s = ht_rec_thread_stream_as (&mine);
  uint64_t t0 = timing_start (s);
  ht_rec_stream_lock_as (s, mine);
  uint64_t stamp = ht_rec_event_stamp (s);
  ht_rec_raw_ptr (s, tag, stamp, (uintptr_t) ptr);
  ht_rec_stream_unlock_as (s, mine);
  timing_end (s, t0);
  return stamp;
}

void
ht_rec_on_free (void *ptr)
{
  if (ht_rec_sample_mean && !ht_rec_sampling_release ((uintptr_t) ptr))
    return;
  ht_rec_sampler_poll (put_ptr_event (HT_REC_FREE, ptr));
}

void
ht_rec_on_unfree (void *ptr)
{
  if (ht_rec_sample_mean && !ht_rec_sampling_unrelease ((uintptr_t) ptr))
    return;
  (void) put_ptr_event (HT_REC_UNFREE, ptr);
}

/* A type for a block, in the calling thread's stream: after the block's ALLOC there. */
void
ht_rec_on_tag (const void *ptr, const char *type)
{
  size_t len = strnlen (type, 255);
  HtRecStream *s = ht_rec_thread_stream ();
  ht_rec_stream_lock (s);
  uint8_t *p = ht_rec_ptr_record_begin (s, HT_REC_TAG, ht_rec_stamp (), (uintptr_t) ptr,
                                        HT_VARINT_MAX + len);
  ht_rec_record_end (s, ht_bytes_put (p, type, len));
  ht_rec_stream_unlock (s);
}
