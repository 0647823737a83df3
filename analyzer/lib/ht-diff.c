/* ht-diff.c - tracemalloc's compare_to between two snapshots (of one recording or two), and the list of snapshots. */

#include "ht-query-private.h"

static void
diff_free (gpointer data)
{
  HtStatDiff *d = data;
  stat_free (d->stat);
  g_free (d);
}

static gint
diff_compare (gconstpointer a, gconstpointer b)
{
  const HtStatDiff *x = *(HtStatDiff **) a, *y = *(HtStatDiff **) b;
  guint64 ax = (guint64) ABS (x->size_diff), ay = (guint64) ABS (y->size_diff);
  if (ax != ay)
    return ax > ay ? -1 : 1;
  if (x->stat->size != y->stat->size)
    return x->stat->size > y->stat->size ? -1 : 1;
  ax = (guint64) ABS (x->count_diff);
  ay = (guint64) ABS (y->count_diff);
  if (ax != ay)
    return ax > ay ? -1 : 1;
  if (x->stat->count != y->stat->count)
    return x->stat->count > y->stat->count ? -1 : 1;
  return strcmp (y->stat->key, x->stat->key); /* tracemalloc sorts its tuples in reverse */
}

GPtrArray *
ht_query_diff (HtDb *db_a, const char *a, HtDb *db_b, const char *b, const HtTopOptions *options,
               GError **error)
{
  g_return_val_if_fail (db_a && db_b && a && b && options, NULL);
  HtTopOptions oa = *options, ob = *options;
  oa.allocations = ob.allocations = FALSE;
  oa.at = a;
  ob.at = b;
  g_autoptr (GPtrArray) sa = ht_query_top (db_a, &oa, error);
  if (!sa)
    return NULL;
  g_autoptr (GPtrArray) sb = ht_query_top (db_b, &ob, error);
  if (!sb)
    return NULL;

  g_autoptr (GHashTable) old = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < sa->len; i++)
    g_hash_table_insert (old, ((HtStat *) sa->pdata[i])->match, sa->pdata[i]);
  GPtrArray *out = g_ptr_array_new_with_free_func (diff_free);
  /* groups of B, with their change since A */
  g_ptr_array_set_free_func (sb, NULL);
  for (guint i = 0; i < sb->len; i++)
    {
      HtStat *nb = sb->pdata[i];
      HtStat *oa_stat = g_hash_table_lookup (old, nb->match);
      HtStatDiff *d = g_new0 (HtStatDiff, 1);
      d->stat = nb;
      d->size_diff = (gint64) nb->size - (gint64) (oa_stat ? oa_stat->size : 0);
      d->count_diff = (gint64) nb->count - (gint64) (oa_stat ? oa_stat->count : 0);
      if (oa_stat)
        g_hash_table_remove (old, nb->match);
      g_ptr_array_add (out, d);
    }
  /* groups gone in B: size 0, negative change */
  g_ptr_array_set_free_func (sa, NULL);
  for (guint i = 0; i < sa->len; i++)
    {
      HtStat *st = sa->pdata[i];
      if (!g_hash_table_contains (old, st->match))
        {
          stat_free (st);
          continue;
        }
      HtStatDiff *d = g_new0 (HtStatDiff, 1);
      d->size_diff = -(gint64) st->size;
      d->count_diff = -(gint64) st->count;
      st->size = 0;
      st->count = 0;
      d->stat = st;
      g_ptr_array_add (out, d);
    }
  g_ptr_array_sort (out, diff_compare);
  return out;
}

static void
snapshot_info_free (gpointer data)
{
  HtSnapshotInfo *s = data;
  g_free (s->label);
  g_free (s->kind);
  g_free (s);
}

GPtrArray *
ht_query_snapshots (HtDb *db, GError **error)
{
  sqlite3_stmt *st;
  if (!ht_db_prepare (ht_db_handle (db),
                      "SELECT id, label, kind, time_s, heap_bytes, heap_blocks FROM snapshots"
                      " ORDER BY time_s, id",
                      &st, error))
    return NULL;
  GPtrArray *out = g_ptr_array_new_with_free_func (snapshot_info_free);
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      HtSnapshotInfo *s = g_new0 (HtSnapshotInfo, 1);
      s->id = sqlite3_column_int64 (st, 0);
      s->label = g_strdup ((const char *) sqlite3_column_text (st, 1));
      s->kind = g_strdup ((const char *) sqlite3_column_text (st, 2));
      s->time_s = sqlite3_column_double (st, 3);
      s->heap_bytes = sqlite3_column_int64 (st, 4);
      s->heap_blocks = sqlite3_column_int64 (st, 5);
      g_ptr_array_add (out, s);
    }
  sqlite3_finalize (st);
  return out;
}
