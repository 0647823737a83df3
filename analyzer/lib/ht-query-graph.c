/* ht-query-graph.c - the heap graph of a snapshot: what its scan found, and `top --metric retained`. */

#include "ht-error.h"
#include "ht-query-private.h"

void
ht_graph_info_clear (HtGraphInfo *info)
{
  g_clear_pointer (&info->label, g_free);
}

gboolean
ht_query_graph_info (HtDb *db, const char *at, HtGraphInfo *out, GError **error)
{
  memset (out, 0, sizeof *out);
  sqlite3 *h = ht_db_handle (db);
  g_autofree char *label = NULL;
  if (at)
    {
      label = ht_query_resolve_at (db, at, error);
      if (!label)
        return FALSE;
    }
  sqlite3_stmt *st;
  const char *sql = label ? "SELECT n.id, n.label, n.time_s, g.blocks, g.bytes, g.edges,"
                            " g.root_words, g.heap_scanned, g.root_scanned, g.threads_stopped,"
                            " g.threads_missed, g.scan_s, g.flags FROM snapshots n"
                            " LEFT JOIN graphs g ON g.snapshot_id = n.id WHERE n.label = ?"
                          : "SELECT n.id, n.label, n.time_s, g.blocks, g.bytes, g.edges,"
                            " g.root_words, g.heap_scanned, g.root_scanned, g.threads_stopped,"
                            " g.threads_missed, g.scan_s, g.flags FROM snapshots n"
                            " JOIN graphs g ON g.snapshot_id = n.id"
                            " ORDER BY n.kind = 'end' DESC, n.id DESC LIMIT 1";
  if (!ht_db_prepare (h, sql, &st, error))
    return FALSE;
  if (label)
    sqlite3_bind_text (st, 1, label, -1, SQLITE_STATIC);
  gboolean found = sqlite3_step (st) == SQLITE_ROW && sqlite3_column_type (st, 3) != SQLITE_NULL;
  if (found)
    {
      out->snapshot_id = sqlite3_column_int64 (st, 0);
      out->label = g_strdup ((const char *) sqlite3_column_text (st, 1));
      out->time_s = sqlite3_column_double (st, 2);
      gint64 *fields[] = { &out->blocks, &out->bytes, &out->edges, &out->root_words,
                           &out->heap_scanned, &out->root_scanned, &out->threads_stopped,
                           &out->threads_missed };
      for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
        *fields[i] = sqlite3_column_int64 (st, 3 + (int) i);
      out->scan_s = sqlite3_column_double (st, 11);
      out->flags = sqlite3_column_int64 (st, 12);
    }
  sqlite3_finalize (st);
  if (!found && label)
    g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_NOT_FOUND,
                 "snapshot '%s' has no heap graph: with 'heaptrail record --graph', graphs are "
                 "taken at heaptrail_snapshot() calls, at 'heaptrail snapshot PID' and at exit",
                 label);
  else if (!found)
    g_set_error (error, HT_DB_ERROR, HT_DB_ERROR_NOT_FOUND,
                 "this recording has no heap graph: record it with 'heaptrail record --graph'");
  return found;
}

GStrv
ht_query_graph_labels (HtDb *db)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  sqlite3_stmt *st;
  if (ht_db_prepare (ht_db_handle (db),
                     "SELECT n.label FROM snapshots n JOIN graphs g ON g.snapshot_id = n.id"
                     " ORDER BY n.time_s, n.id",
                     &st, NULL))
    {
      while (sqlite3_step (st) == SQLITE_ROW)
        g_strv_builder_add (b, (const char *) sqlite3_column_text (st, 0));
      sqlite3_finalize (st);
    }
  return g_strv_builder_end (b);
}

/* Retained size per group: the bytes freed if every block of the group were.  A block
 * counts only when no block of its own group dominates it (else its bytes are in that
 * one's already): one walk of the dominator tree, keeping per group how many of its
 * blocks are on the current path. */
GPtrArray *
top_retained (HtDb *db, const HtTopOptions *options, GError **error)
{
  HtGraphInfo info;
  if (!ht_query_graph_info (db, options->at, &info, error))
    return NULL;
  g_autoptr (HtTraceNames) names = ht_trace_names_new (db, error);
  if (!names)
    return NULL;
  GHashTable *locations = names->locations, *frames = names->frames;
  sqlite3_stmt *st;
  if (!ht_db_prepare (ht_db_handle (db),
                      "SELECT id, trace_id, type, idom, retained FROM graph_blocks"
                      " WHERE snapshot_id = ? ORDER BY id",
                      &st, error))
    return NULL;
  sqlite3_bind_int64 (st, 1, info.snapshot_id);
  guint n = (guint) info.blocks;
  gint64 *idom = g_new (gint64, MAX (n, 1));
  guint64 *retained = g_new (guint64, MAX (n, 1));
  HtStat **group = g_new0 (HtStat *, MAX (n, 1));
  GHashTable *groups = g_hash_table_new (g_str_hash, g_str_equal);
  guint i = 0;
  while (sqlite3_step (st) == SQLITE_ROW && i < n)
    {
      gint64 trace = sqlite3_column_int64 (st, 1);
      const char *type = (const char *) sqlite3_column_text (st, 2);
      idom[i] = sqlite3_column_int64 (st, 3);
      retained[i] = (guint64) sqlite3_column_int64 (st, 4);
      if (idom[i] < -1 || idom[i] >= n)
        idom[i] = -1;
      GArray *fr = g_hash_table_lookup (frames, &trace);
      if (trace_passes (options, fr, locations))
        {
          group[i] = add_to_group (groups, trace_key (options, fr, locations, type), 1, 0, fr,
                                   locations);
        }
      i++;
    }
  sqlite3_finalize (st);
  n = i;

  /* children lists, then a depth-first walk from the super-root's children */
  guint *child_start = g_new0 (guint, n + 2), *child = g_new (guint, MAX (n, 1));
  for (guint b = 0; b < n; b++)
    child_start[idom[b] + 2]++;
  for (guint b = 1; b < n + 2; b++)
    child_start[b] += child_start[b - 1];
  guint *fill = g_memdup2 (child_start, (n + 2) * sizeof (guint));
  for (guint b = 0; b < n; b++)
    child[fill[idom[b] + 1]++] = b;
  g_free (fill);
  GHashTable *active = g_hash_table_new (NULL, NULL); /* HtStat* -> blocks on the path */
  GArray *stack = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (guint c = child_start[0]; c < child_start[1]; c++)
    {
      gint64 top = child[c];
      g_array_append_val (stack, top);
      while (stack->len)
        {
          gint64 v = g_array_index (stack, gint64, stack->len - 1);
          stack->len--;
          if (v < 0) /* leaving block ~v */
            {
              HtStat *s = group[~v];
              guint on = GPOINTER_TO_UINT (g_hash_table_lookup (active, s));
              g_hash_table_insert (active, s, GUINT_TO_POINTER (on - 1));
              continue;
            }
          HtStat *s = group[v];
          if (s)
            {
              guint on = GPOINTER_TO_UINT (g_hash_table_lookup (active, s));
              if (on == 0)
                s->size += retained[v];
              g_hash_table_insert (active, s, GUINT_TO_POINTER (on + 1));
              gint64 leave = ~v;
              g_array_append_val (stack, leave);
            }
          for (guint k = child_start[v + 1]; k < child_start[v + 2]; k++)
            {
              gint64 w = child[k];
              g_array_append_val (stack, w);
            }
        }
    }
  g_array_unref (stack);
  g_hash_table_unref (active);
  g_free (child_start);
  g_free (child);
  g_free (idom);
  g_free (retained);
  g_free (group);
  ht_graph_info_clear (&info);
  return finish_groups (groups, options);
}

/* ---------------------------------------------------------------------------------------
 * The blocks of a graph, a page at a time
 */
struct _HtBlockPages
{
  sqlite3_stmt *page;
  gint64 snapshot;
};

HtBlockPages *
ht_block_pages_new (HtDb *db, gint64 snapshot_id, GError **error)
{
  HtBlockPages *p = g_new0 (HtBlockPages, 1);
  p->snapshot = snapshot_id;
  if (!ht_db_prepare (ht_db_handle (db),
                      "SELECT address, size, retained, reach, type, trace_id FROM graph_blocks"
                      " WHERE snapshot_id = ? ORDER BY retained DESC LIMIT ? OFFSET ?",
                      &p->page, error))
    {
      g_free (p);
      return NULL;
    }
  return p;
}

static void
graph_block_clear (gpointer data)
{
  g_free (((HtGraphBlock *) data)->type);
}

GArray *
ht_block_pages_read (HtBlockPages *p, guint offset, guint limit)
{
  GArray *out = g_array_new (FALSE, TRUE, sizeof (HtGraphBlock));
  g_array_set_clear_func (out, graph_block_clear);
  sqlite3_reset (p->page);
  sqlite3_bind_int64 (p->page, 1, p->snapshot);
  sqlite3_bind_int64 (p->page, 2, limit);
  sqlite3_bind_int64 (p->page, 3, offset);
  while (sqlite3_step (p->page) == SQLITE_ROW)
    {
      const char *type = (const char *) sqlite3_column_text (p->page, 4);
      HtGraphBlock b = {
        .address = (guint64) sqlite3_column_int64 (p->page, 0),
        .size = (guint64) sqlite3_column_int64 (p->page, 1),
        .retained = (guint64) sqlite3_column_int64 (p->page, 2),
        .reach = sqlite3_column_int (p->page, 3),
        .type = type ? g_strdup (type) : NULL,
        .trace_id = sqlite3_column_int64 (p->page, 5),
      };
      g_array_append_val (out, b);
    }
  return out;
}

void
ht_block_pages_free (HtBlockPages *p)
{
  if (!p)
    return;
  sqlite3_finalize (p->page);
  g_free (p);
}
