/* ht-rec-api.c - the entry points behind heaptrail.h. */
#include "ht-rec-private.h"

#define HT_EXPORT __attribute__ ((visibility ("default")))

HT_EXPORT void
heaptrail_rec_pause (void)
{
  atomic_fetch_add (&ht_rec_paused, 1);
}

HT_EXPORT void
heaptrail_rec_resume (void)
{
  int n = atomic_load (&ht_rec_paused);
  while (n > 0 && !atomic_compare_exchange_weak (&ht_rec_paused, &n, n - 1))
    ;
}

HT_EXPORT int
heaptrail_rec_is_recording (void)
{
  return atomic_load (&ht_rec_state) == HT_REC_ON && atomic_load (&ht_rec_paused) == 0;
}
