/* ht-leaks.c - blocks not freed at the end, grouped by stack, minus what suppressions explain, in memcheck's classes when there is a heap graph. */

#include "ht-graph.h"
#include "ht-heap.h"
#include "ht-query-private.h"
#include "ht-suppressions.h"

static gint
leak_compare (gconstpointer a, gconstpointer b)
{
  const HtStat *x = *(HtStat **) a, *y = *(HtStat **) b;
  if (x->reach != y->reach)
    return x->reach > y->reach ? -1 : 1; /* definitely lost first */
  return stat_compare (a, b);
}

/* With the heap graph at exit: groups per class, from its blocks. */
static gboolean
leaks_by_class (HtDb *db, gint64 snapshot, const HtTopOptions *opt, GPtrArray *all,
                GError **error)
{
  g_autoptr (HtTraceNames) names = ht_trace_names_new (db, error);
  if (!names)
    return FALSE;
  GHashTable *locations = names->locations, *frames = names->frames;
  gboolean other = opt->heuristics_given && opt->heuristics != HT_HEUR_ALL;
  if (other && !ht_heap_reclassify (db, snapshot, opt->heuristics, error))
    return FALSE;
  for (int c = HT_REACH_COUNT - 1; c >= 0; c--)
    {
      /* a time range: the blocks allocated in the buckets it overlaps */
      gboolean ranged = opt->time_to_s > opt->time_from_s;
      g_autofree char *range = ranged ? time_range_sql ("b.bucket", 3) : g_strdup ("");
      g_autofree char *sql = g_strdup_printf (
        "SELECT b.trace_id, count(*), sum(b.size) FROM graph_blocks b%s"
        " WHERE b.snapshot_id = ?1 AND %s = ?2%s GROUP BY b.trace_id",
        other ? " JOIN temp.reach_override r ON r.id = b.id" : "", other ? "r.reach" : "b.reach",
        range);
      sqlite3_stmt *st;
      if (!ht_db_prepare (ht_db_handle (db), sql, &st, error))
        return FALSE;
      sqlite3_bind_int64 (st, 1, snapshot);
      sqlite3_bind_int (st, 2, c);
      if (ranged)
        bind_time_range (st, 3, opt->time_from_s, opt->time_to_s);
      GPtrArray *groups = finish_groups (group_rows (opt, st, locations, frames), opt);
      sqlite3_finalize (st);
      g_ptr_array_set_free_func (groups, NULL);
      for (guint i = 0; i < groups->len; i++)
        {
          HtStat *s = groups->pdata[i];
          s->reach = c;
          g_ptr_array_add (all, s);
        }
      g_ptr_array_unref (groups);
    }
  return TRUE;
}

static void
add_suppressed (HtLeaks *out, const char *reason, const HtStat *s)
{
  for (guint i = 0; i < out->suppressed->len; i++)
    {
      HtSuppressed *g = &g_array_index (out->suppressed, HtSuppressed, i);
      if (g_str_equal (g->reason, reason))
        {
          g->bytes += s->size;
          g->blocks += s->count;
          return;
        }
    }
  HtSuppressed g = { g_strdup (reason), s->size, s->count };
  g_array_append_val (out->suppressed, g);
}

static gint
suppressed_compare (gconstpointer a, gconstpointer b)
{
  const HtSuppressed *x = a, *y = b;
  return x->bytes != y->bytes ? (x->bytes > y->bytes ? -1 : 1) : g_strcmp0 (x->reason, y->reason);
}

static void
suppressed_clear (gpointer data)
{
  g_free (((HtSuppressed *) data)->reason);
}

gboolean
ht_query_leaks (HtDb *db, HtSuppressions *suppressions, const HtTopOptions *filters,
                HtLeaks *out, GError **error)
{
  memset (out, 0, sizeof *out);
  HtTopOptions opt = { .by = HT_GROUP_TRACEBACK, .at = "end" };
  if (filters)
    {
      opt.include = filters->include;
      opt.exclude = filters->exclude;
      opt.heuristics_given = filters->heuristics_given;
      opt.heuristics = filters->heuristics;
      opt.time_from_s = filters->time_from_s;
      opt.time_to_s = filters->time_to_s;
    }
  HtGraphInfo graph;
  g_autoptr (GPtrArray) all = NULL;
  if (ht_query_graph_info (db, "end", &graph, NULL))
    {
      out->classified = TRUE;
      all = g_ptr_array_new_with_free_func (stat_free);
      gboolean ok = leaks_by_class (db, graph.snapshot_id, &opt, all, error);
      ht_graph_info_clear (&graph);
      if (!ok)
        return FALSE;
    }
  else
    all = ht_query_top (db, &opt, error);
  if (!all)
    return FALSE;
  out->leaks = g_ptr_array_new_with_free_func (stat_free);
  out->suppressed = g_array_new (FALSE, TRUE, sizeof (HtSuppressed));
  g_array_set_clear_func (out->suppressed, suppressed_clear);
  g_ptr_array_set_free_func (all, NULL);
  for (guint i = 0; i < all->len; i++)
    {
      HtStat *s = all->pdata[i];
      const char *reason = ht_suppressions_match (suppressions, s->traceback);
      if (reason)
        {
          out->suppressed_bytes += s->size;
          out->suppressed_blocks += s->count;
          add_suppressed (out, reason, s);
          stat_free (s);
          continue;
        }
      out->bytes += s->size;
      out->blocks += s->count;
      if (s->reach >= 0)
        {
          out->class_bytes[s->reach] += s->size;
          out->class_blocks[s->reach] += s->count;
        }
      g_ptr_array_add (out->leaks, s);
    }
  g_ptr_array_sort (out->leaks, leak_compare);
  g_array_sort (out->suppressed, suppressed_compare);
  return TRUE;
}

void
ht_leaks_clear (HtLeaks *leaks)
{
  g_clear_pointer (&leaks->leaks, g_ptr_array_unref);
  g_clear_pointer (&leaks->suppressed, g_array_unref);
}
