/* ht-calltree.c - the timeline, and call trees top-down and bottom-up (a flame graph's frames). */

#include "ht-query-private.h"

GArray *
ht_query_timeline (HtDb *db, GError **error)
{
  sqlite3_stmt *st;
  if (!ht_db_prepare (ht_db_handle (db),
                      "SELECT time_s, heap_bytes, rss_bytes FROM timeline ORDER BY time_s", &st,
                      error))
    return NULL;
  GArray *out = g_array_new (FALSE, FALSE, sizeof (HtTimePoint));
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      HtTimePoint p = { sqlite3_column_double (st, 0), sqlite3_column_int64 (st, 1),
                        sqlite3_column_int64 (st, 2) };
      g_array_append_val (out, p);
    }
  sqlite3_finalize (st);
  return out;
}

void
ht_call_node_free (HtCallNode *node)
{
  if (!node)
    return;
  if (node->locations)
    g_hash_table_unref (node->locations);
  if (node->children)
    g_ptr_array_unref (node->children);
  g_free (node);
}

static gint
call_node_compare (gconstpointer a, gconstpointer b)
{
  const HtCallNode *x = *(HtCallNode **) a, *y = *(HtCallNode **) b;
  if (x->total_bytes != y->total_bytes)
    return x->total_bytes > y->total_bytes ? -1 : 1;
  return x->total_count > y->total_count ? -1 : x->total_count < y->total_count;
}

static void
call_node_sort (HtCallNode *node)
{
  if (!node->children)
    return;
  g_ptr_array_sort (node->children, call_node_compare);
  for (guint i = 0; i < node->children->len; i++)
    call_node_sort (node->children->pdata[i]);
}

/* The child of `parent` at `loc` (the same location, or with `lines` FALSE the same
 * function), made on first use.  Children are found by a key borrowed from the locations
 * table (a location, or one interned function name): a scan while there are few, a
 * per-node hash table beyond that. */
static HtCallNode *
call_node_child (HtCallNode *parent, const HtLocation *loc, gboolean lines, GHashTable *functions)
{
  gconstpointer key = loc;
  if (!lines)
    {
      key = g_hash_table_lookup (functions, loc->function);
      if (!key)
        {
          key = loc->function;
          g_hash_table_insert (functions, (gpointer) loc->function, (gpointer) key);
        }
    }
  guint n_children = parent->children ? parent->children->len : 0;
  if (parent->index)
    {
      HtCallNode *n = g_hash_table_lookup (parent->index, key);
      if (n)
        return n;
    }
  else
    for (guint i = 0; i < n_children; i++)
      {
        HtCallNode *c = parent->children->pdata[i];
        if ((lines ? (gconstpointer) c->location : g_hash_table_lookup (functions, c->location->function)) == key)
          return c;
      }
  HtCallNode *n = g_new0 (HtCallNode, 1);
  n->location = loc; /* borrowed from the locations table the root holds */
  n->parent = parent;
  if (!parent->children)
    parent->children = g_ptr_array_new_with_free_func ((GDestroyNotify) ht_call_node_free);
  g_ptr_array_add (parent->children, n);
  if (!parent->index && parent->children->len > 8)
    {
      parent->index = g_hash_table_new (NULL, NULL);
      for (guint i = 0; i < parent->children->len; i++)
        {
          HtCallNode *c = parent->children->pdata[i];
          g_hash_table_insert (parent->index,
                               lines ? (gpointer) c->location
                                     : g_hash_table_lookup (functions, c->location->function),
                               c);
        }
    }
  else if (parent->index)
    g_hash_table_insert (parent->index, (gpointer) key, n);
  return n;
}

/* Frees the build-time indexes. */
static void
call_node_done (HtCallNode *node)
{
  g_clear_pointer (&node->index, g_hash_table_unref);
  for (guint i = 0; node->children && i < node->children->len; i++)
    call_node_done (node->children->pdata[i]);
}

HtCallNode *
ht_query_call_tree (HtDb *db, const HtTopOptions *options, gboolean bottom_up, GError **error)
{
  g_autoptr (HtTraceNames) names = ht_trace_names_new (db, error);
  if (!names)
    return NULL;
  GHashTable *locations = names->locations, *frames = names->frames;
  sqlite3_stmt *st = metric_rows (db, options, error);
  if (!st)
    return NULL;
  gboolean lines = options->by != HT_GROUP_FUNCTION; /* one node per line, or per function */
  HtCallNode *root = g_new0 (HtCallNode, 1);
  root->locations = g_hash_table_ref (locations);
  g_autoptr (GHashTable) functions = g_hash_table_new (g_str_hash, g_str_equal);
  static const HtLocation unknown = { (char *) "<unknown>", NULL, 0, NULL };
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      gint64 trace = sqlite3_column_int64 (st, 0);
      guint64 count = (guint64) sqlite3_column_int64 (st, 1);
      guint64 bytes = (guint64) sqlite3_column_int64 (st, 2);
      GArray *fr = g_hash_table_lookup (frames, &trace);
      if (!trace_passes (options, fr, locations))
        continue;
      g_autoptr (GArray) folded = options->fold_recursion ? fold_recursion (fr, locations) : NULL;
      if (folded)
        fr = folded;
      root->total_bytes += bytes;
      root->total_count += count;
      HtCallNode *node = root;
      guint n = fr ? fr->len : 0;
      if (n == 0)
        node = call_node_child (root, &unknown, lines, functions);
      for (guint k = 0; k < n; k++)
        {
          /* frames are innermost first: top-down walks them backwards */
          guint i = bottom_up ? k : n - 1 - k;
          const HtLocation *l = g_hash_table_lookup (locations, &g_array_index (fr, gint64, i));
          node = call_node_child (node, l ? l : &unknown, lines, functions);
          node->total_bytes += bytes;
          node->total_count += count;
        }
      if (n == 0)
        {
          node->total_bytes += bytes;
          node->total_count += count;
        }
      node->self_bytes += bytes;
      node->self_count += count;
    }
  sqlite3_finalize (st);
  call_node_done (root);
  call_node_sort (root);
  return root;
}
