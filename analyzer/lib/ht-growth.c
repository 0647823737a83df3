/* ht-growth.c - objgraph's show_growth: live blocks per type between two snapshots. */

#include "ht-query-private.h"

static void
growth_free (gpointer data)
{
  HtGrowth *g = data;
  g_free (g->type);
  g_free (g);
}

/* type -> HtGrowth, filling the a (which = 0) or b (which = 1) side */
static gboolean
collect_types (HtDb *db, const char *at, int which, const HtTopOptions *filters,
               GHashTable *types, GError **error)
{
  g_autofree char *label = ht_query_resolve_at (db, at, error);
  if (!label)
    return FALSE;
  HtTopOptions opt = { .by = HT_GROUP_FUNCTION, .at = label, .untagged = TRUE };
  if (filters)
    {
      opt.include = filters->include;
      opt.exclude = filters->exclude;
    }
  g_autoptr (GPtrArray) stats = ht_query_top (db, &opt, error);
  if (!stats)
    return FALSE;
  sqlite3_stmt *st;
  if (!ht_db_prepare (ht_db_handle (db),
                      "SELECT t.type, t.count, t.bytes FROM snapshot_types t"
                      " JOIN snapshots n ON n.id = t.snapshot_id WHERE n.label = ?",
                      &st, error))
    return FALSE;
  sqlite3_bind_text (st, 1, label, -1, SQLITE_STATIC);
  GPtrArray *rows = g_ptr_array_new_with_free_func (g_free);
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      HtStat *s = g_new0 (HtStat, 1);
      s->key = g_strdup ((const char *) sqlite3_column_text (st, 0));
      s->count = (guint64) sqlite3_column_int64 (st, 1);
      s->size = (guint64) sqlite3_column_int64 (st, 2);
      g_ptr_array_add (rows, s);
    }
  sqlite3_finalize (st);
  for (guint pass = 0; pass < 2; pass++)
    {
      GPtrArray *src = pass ? rows : stats;
      for (guint i = 0; i < src->len; i++)
        {
          HtStat *s = src->pdata[i];
          HtGrowth *g = g_hash_table_lookup (types, s->key);
          if (!g)
            {
              g = g_new0 (HtGrowth, 1);
              g->type = g_strdup (s->key);
              g_hash_table_insert (types, g->type, g);
            }
          if (which == 0)
            {
              g->count_a += (gint64) s->count;
              g->bytes_a += (gint64) s->size;
            }
          else
            {
              g->count_b += (gint64) s->count;
              g->bytes_b += (gint64) s->size;
            }
        }
    }
  for (guint i = 0; i < rows->len; i++)
    g_free (((HtStat *) rows->pdata[i])->key);
  g_ptr_array_unref (rows);
  return TRUE;
}

static gint
growth_compare (gconstpointer a, gconstpointer b)
{
  const HtGrowth *x = *(HtGrowth **) a, *y = *(HtGrowth **) b;
  gint64 dx = x->count_b - x->count_a, dy = y->count_b - y->count_a;
  if (dx != dy)
    return dx > dy ? -1 : 1;
  if (x->count_b != y->count_b)
    return x->count_b > y->count_b ? -1 : 1;
  return strcmp (x->type, y->type);
}

GPtrArray *
ht_query_growth (HtDb *db, const char *a, const char *b, const HtTopOptions *filters,
                 GError **error)
{
  g_autoptr (GHashTable) types = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *out = g_ptr_array_new_with_free_func (growth_free);
  if (!collect_types (db, a, 0, filters, types, error)
      || !collect_types (db, b, 1, filters, types, error))
    {
      GHashTableIter it;
      gpointer v;
      g_hash_table_iter_init (&it, types);
      while (g_hash_table_iter_next (&it, NULL, &v))
        growth_free (v);
      g_ptr_array_unref (out);
      return NULL;
    }
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, types);
  while (g_hash_table_iter_next (&it, NULL, &v))
    g_ptr_array_add (out, v);
  g_ptr_array_sort (out, growth_compare);
  return out;
}
