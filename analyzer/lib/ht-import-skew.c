/* ht-import-skew.c - events held for the skew of time stamp counters between CPUs.
 *
 *   thread A: p = malloc ()  stamp 1001 ─┐ hands p over
 *   thread B: free (p)       stamp 1000 ◀┘ (B's counter a stamp behind A's)
 *
 * The merge gives B's FREE first; p is not live yet.  The FREE is parked, and applied right
 * after A's ALLOC of p when it comes within the skew.  The other way round (p freed by B,
 * got back at once by A's malloc, A's ALLOC stamped first), the ALLOC of a live p is
 * parked until B's FREE.  A parked event whose partner does not come within the skew is
 * applied as it would have been: an unmatched free, or a lost one.
 */
#include "ht-import-private.h"

/* 256 cycles: more than twice the skew measured between a VM's CPUs (96) */
#define SKEW_CYCLES 256u

void
ht_skew_init (HtImport *im)
{
  im->parked = g_array_new (FALSE, FALSE, sizeof (HtEvent));
  const HtLogInfo *info = ht_reader_info (im->reader);
  /* CLOCK_MONOTONIC is one clock for all CPUs; an attach's unmatched frees are the
   * program's blocks from before it, not events to pair */
  if (info->clock == HT_CLOCK_TSC && !info->attached)
    im->skew_stamps = MAX (1u, SKEW_CYCLES >> info->stamp_shift);
}

void
ht_skew_park (HtImport *im, const HtEvent *e)
{
  g_array_append_val (im->parked, *e);
}

static inline guint64
event_ptr (const HtEvent *e)
{
  return e->tag == HT_REC_ALLOC ? e->alloc.ptr : e->free.ptr;
}

/* The first held event of `e`'s address: from `e`'s own stream (`own`), or the partner
 * another stream's `e` was waiting for (a FREE for an ALLOC, an ALLOC for a FREE). */
static gboolean
take (HtImport *im, const HtEvent *e, gboolean own, HtEvent *out)
{
  for (guint i = 0; i < im->parked->len; i++)
    {
      const HtEvent *p = &g_array_index (im->parked, HtEvent, i);
      if (event_ptr (p) == event_ptr (e)
          && (own ? p->stream == e->stream : p->stream != e->stream && p->tag != e->tag))
        {
          *out = *p;
          g_array_remove_index (im->parked, i);
          return TRUE;
        }
    }
  return FALSE;
}

gboolean
ht_skew_take_own (HtImport *im, const HtEvent *e, HtEvent *out)
{
  return take (im, e, TRUE, out);
}

gboolean
ht_skew_take_partner (HtImport *im, const HtEvent *e, HtEvent *out)
{
  return take (im, e, FALSE, out);
}

gboolean
ht_skew_take_expired (HtImport *im, guint64 now, HtEvent *out)
{
  if (!im->parked->len)
    return FALSE;
  const HtEvent *p = &g_array_index (im->parked, HtEvent, 0);
  if (now != G_MAXUINT64 && p->stamp + im->skew_stamps >= now)
    return FALSE;
  *out = *p;
  g_array_remove_index (im->parked, 0);
  return TRUE;
}

gboolean
ht_skew_drop_free (HtImport *im, const HtEvent *e)
{
  for (guint i = im->parked->len; i-- > 0;)
    {
      const HtEvent *p = &g_array_index (im->parked, HtEvent, i);
      if (p->tag == HT_REC_FREE && p->stream == e->stream && p->free.ptr == e->free.ptr)
        {
          g_array_remove_index (im->parked, i);
          return TRUE;
        }
    }
  return FALSE;
}
