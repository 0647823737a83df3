/* ht-rec-api.c - the entry points behind heaptrail.h. */
#include <string.h>

#include "ht-rec-private.h"

#define HT_EXPORT __attribute__ ((visibility ("default")))

HT_EXPORT void
heaptrail_rec_pause (void)
{
  atomic_fetch_add (&ht_rec_mode, HT_REC_MODE_PAUSE);
}

HT_EXPORT void
heaptrail_rec_resume (void)
{
  uintptr_t m = atomic_load (&ht_rec_mode);
  while (m >= HT_REC_MODE_PAUSE
         && !atomic_compare_exchange_weak (&ht_rec_mode, &m, m - HT_REC_MODE_PAUSE))
    ;
}

HT_EXPORT int
heaptrail_rec_is_recording (void)
{
  return atomic_load (&ht_rec_state) == HT_REC_ON && !ht_rec_is_paused ();
}

/* The snapshot is a stamped record in the control stream: the analyzer merges it among the
 * events of every thread, so it sees the heap exactly as it was at the call. */
static void
write_snapshot_record (void *data)
{
  const char *label = data;
  ht_rec_control_put_text (HT_REC_SNAPSHOT, label ? label : "", label ? strnlen (label, 255) : 0);
}

/* With --graph the live blocks are written first, while every allocation waits, and the
 * SNAPSHOT record right after them. */
HT_EXPORT void
heaptrail_rec_snapshot (const char *label)
{
  if (atomic_load (&ht_rec_state) != HT_REC_ON || !ht_rec_guard_enter ())
    return;
  ht_rec_live_scan (write_snapshot_record, (void *) label);
  ht_rec_guard_leave ();
}

HT_EXPORT void
heaptrail_rec_tag (const void *ptr, const char *type)
{
  if (!ptr || atomic_load (&ht_rec_state) != HT_REC_ON || !ht_rec_guard_enter ())
    return;
  ht_rec_on_tag (ptr, type ? type : "");
  ht_rec_guard_leave ();
}
