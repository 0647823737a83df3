/* ht-import-time.c - each trace's figures per time bucket, written at import so that a
 * time range is a query ("what was allocated between 2 and 3 s, and what became of it"),
 * never a second import.
 *
 * A trace keeps one HtSpan per bucket it allocated in, oldest first.  Events come in time
 * order, so an allocation finds its span at the end of its trace's array; a free looks up
 * the span of its block's allocation time (usually the last one too).  Buckets start 2^k
 * stamps wide with k for about a millisecond, and double whenever the run outgrows
 * HT_TIME_BUCKETS of them or the spans outgrow SPAN_BUDGET: two neighbours merge, so a
 * recording ends with between HT_TIME_BUCKETS / 2 and HT_TIME_BUCKETS buckets over its
 * length, and memory stays bounded by the budget whatever the number of traces.
 *
 * The peak: a span saves its live figures before it first changes after a new peak (the
 * epoch trick of the traces themselves, node_touch), so at the end a span's live at peak
 * is either its saved copy or its live figures, untouched since.
 */

#include <math.h>

#include "ht-import-private.h"

#define HT_TIME_BUCKETS 512    /* buckets over the run at most (half as many at least) */
#define SPAN_BUDGET (1u << 20) /* spans kept at most (88 MiB) before buckets widen */

void
spans_init (HtImport *im, double ns_per_stamp)
{
  im->span_origin = ht_reader_info (im->reader)->start_stamp;
  double ms = ns_per_stamp > 0 ? 1e6 / ns_per_stamp : 1;
  im->span_shift = ms >= 2 ? (guint) floor (log2 (ms)) : 0;
  im->span_shift = MIN (im->span_shift, 56u);
}

static void
span_touch (HtImport *im, HtSpan *s)
{
  if (s->peak_epoch != im->peak_epoch)
    {
      s->peak_count = s->live_count;
      s->peak_bytes = s->live_bytes;
      s->peak_epoch = im->peak_epoch;
    }
}

static guint32
bucket_of (HtImport *im, guint64 stamp)
{
  guint64 b = stamp > im->span_origin ? (stamp - im->span_origin) >> im->span_shift : 0;
  return b > G_MAXUINT32 ? G_MAXUINT32 : (guint32) b;
}

/* Buckets twice as wide: each trace's neighbouring spans merge. */
static void
widen (HtImport *im)
{
  im->span_shift++;
  im->span_total = 0;
  for (guint i = 0; i < im->nodes->len; i++)
    {
      HtNode *n = &g_array_index (im->nodes, HtNode, i);
      guint32 out = 0;
      for (guint32 j = 0; j < n->n_spans; j++)
        {
          HtSpan *s = &n->spans[j];
          span_touch (im, s);
          s->bucket >>= 1;
          if (out > 0 && n->spans[out - 1].bucket == s->bucket)
            {
              HtSpan *d = &n->spans[out - 1];
              d->alloc_count += s->alloc_count;
              d->alloc_bytes += s->alloc_bytes;
              d->temporary += s->temporary;
              d->temporary_bytes += s->temporary_bytes;
              d->short_lived += s->short_lived;
              d->short_lived_bytes += s->short_lived_bytes;
              d->live_count += s->live_count;
              d->live_bytes += s->live_bytes;
              d->peak_count += s->peak_count;
              d->peak_bytes += s->peak_bytes;
            }
          else
            n->spans[out++] = *s;
        }
      n->n_spans = out;
      im->span_total += out;
    }
}

HtSpan *
span_for_alloc (HtImport *im, HtNode *n, guint64 stamp)
{
  while (bucket_of (im, stamp) >= HT_TIME_BUCKETS || im->span_total >= SPAN_BUDGET)
    widen (im);
  guint32 b = bucket_of (im, stamp);
  if (n->n_spans && n->spans[n->n_spans - 1].bucket >= b)
    {
      /* the trace's latest span: events come in time order (a late stream's stamp can be
       * a little behind; it counts in the latest span then) */
      HtSpan *s = &n->spans[n->n_spans - 1];
      span_touch (im, s);
      return s;
    }
  if (n->n_spans == n->spans_cap)
    {
      n->spans_cap = n->spans_cap ? n->spans_cap * 2 : 2;
      n->spans = g_renew (HtSpan, n->spans, n->spans_cap);
    }
  HtSpan *s = &n->spans[n->n_spans++];
  *s = (HtSpan) { .bucket = b, .peak_epoch = im->peak_epoch };
  im->span_total++;
  return s;
}

HtSpan *
span_of_block (HtImport *im, HtNode *n, guint64 stamp)
{
  if (!n->n_spans)
    return NULL;
  guint32 b = bucket_of (im, stamp);
  /* the span at or before b (an allocation's stamp may have counted in a later span) */
  guint32 lo = 0, hi = n->n_spans;
  if (n->spans[hi - 1].bucket <= b)
    lo = hi - 1;
  else
    while (hi - lo > 1)
      {
        guint32 mid = (lo + hi) / 2;
        if (n->spans[mid].bucket <= b)
          lo = mid;
        else
          hi = mid;
      }
  HtSpan *s = &n->spans[lo];
  span_touch (im, s);
  return s;
}

/* time_buckets: each bucket's time (seconds since start); site_times: each trace's
 * figures per bucket it allocated in. */
gboolean
write_spans (HtImport *im, sqlite3 *db, GError **error)
{
  sqlite3_stmt *st;
  guint32 last = 0;
  for (guint i = 0; i < im->nodes->len; i++)
    {
      HtNode *n = &g_array_index (im->nodes, HtNode, i);
      if (n->n_spans)
        last = MAX (last, n->spans[n->n_spans - 1].bucket);
    }
  if (!ht_db_prepare (db, "INSERT INTO time_buckets VALUES (?, ?, ?)", &st, error))
    return FALSE;
  for (guint32 b = 0; b <= last && im->span_total; b++)
    {
      guint64 from = im->span_origin + ((guint64) b << im->span_shift);
      guint64 to = from + (G_GUINT64_CONSTANT (1) << im->span_shift);
      sqlite3_reset (st);
      sqlite3_bind_int64 (st, 1, b);
      sqlite3_bind_double (st, 2, stamp_seconds (im, from));
      sqlite3_bind_double (st, 3, stamp_seconds (im, to));
      if (sqlite3_step (st) != SQLITE_DONE)
        {
          sqlite3_finalize (st);
          return ht_db_set_error (db, error, "writing time buckets");
        }
    }
  sqlite3_finalize (st);
  if (!ht_db_prepare (db, "INSERT INTO site_times VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      &st, error))
    return FALSE;
  for (guint i = 0; i < im->nodes->len; i++)
    {
      HtNode *n = &g_array_index (im->nodes, HtNode, i);
      for (guint32 j = 0; j < n->n_spans; j++)
        {
          HtSpan *s = &n->spans[j];
          span_touch (im, s); /* now: the saved copy if it changed since the peak */
          gint64 v[] = { s->bucket, i, (gint64) s->alloc_count, (gint64) s->alloc_bytes,
                         (gint64) s->temporary, (gint64) s->temporary_bytes,
                         (gint64) s->short_lived, (gint64) s->short_lived_bytes,
                         s->peak_count, s->peak_bytes, s->live_count, s->live_bytes };
          if (s->alloc_count == 0)
            continue;
          sqlite3_reset (st);
          for (guint k = 0; k < G_N_ELEMENTS (v); k++)
            sqlite3_bind_int64 (st, (int) k + 1, v[k]);
          if (sqlite3_step (st) != SQLITE_DONE)
            {
              sqlite3_finalize (st);
              return ht_db_set_error (db, error, "writing site times");
            }
        }
    }
  sqlite3_finalize (st);
  return TRUE;
}

gint64
span_bucket (HtImport *im, guint64 stamp)
{
  return stamp ? (gint64) bucket_of (im, stamp) : -1;
}

void
spans_free (HtImport *im)
{
  for (guint i = 0; im->nodes && i < im->nodes->len; i++)
    g_clear_pointer (&g_array_index (im->nodes, HtNode, i).spans, g_free);
}
