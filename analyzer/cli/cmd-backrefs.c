/* cmd-backrefs.c - heaptrail backrefs, refs and chain REC: walks of the heap graph (objgraph's show_backrefs, show_refs, find_backref_chain). */
#include <stdio.h>

#include "ht-cli.h"
#include "ht-graph.h"
#include "ht-heap.h"

/* ---------------------------------------------------------------------------------------
 * Heap graphs: backrefs, refs, chain
 */
static void
json_heap_view (JsonBuilder *b, const HtHeapView *view)
{
  static const char *const kinds[] = { "block", "root", "more" };
  static const char *const classes[] = { "still_reachable", "possibly_lost", "indirectly_lost",
                                         "definitely_lost" };
  json_builder_begin_object (b);
  JSON_STR (b, "snapshot", view->snapshot);
  JSON_INT (b, "matched", view->matched);
  json_builder_set_member_name (b, "nodes");
  json_builder_begin_array (b);
  for (guint i = 0; i < view->nodes->len; i++)
    {
      const HtHeapNode *n = view->nodes->pdata[i];
      json_builder_begin_object (b);
      JSON_INT (b, "id", i);
      JSON_STR (b, "kind", kinds[n->kind]);
      if (n->kind == HT_HEAP_NODE_BLOCK)
        {
          g_autofree char *addr = g_strdup_printf ("0x%" G_GINT64_MODIFIER "x", n->address);
          JSON_STR (b, "address", addr);
          JSON_INT (b, "size", n->size);
          JSON_INT (b, "retained", n->retained);
          JSON_STR (b, "type", n->type);
          if (n->site)
            JSON_STR (b, "site", n->site);
          if (n->reach >= 0 && n->reach < HT_REACH_COUNT)
            JSON_STR (b, "class", classes[n->reach]);
        }
      else
        JSON_STR (b, "name", n->name);
      json_builder_set_member_name (b, "selected");
      json_builder_add_boolean_value (b, n->selected);
      JSON_INT (b, "depth", n->depth);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "edges");
  json_builder_begin_array (b);
  for (guint i = 0; i < view->edges->len; i++)
    {
      const HtHeapEdge *e = &g_array_index (view->edges, HtHeapEdge, i);
      json_builder_begin_object (b);
      JSON_INT (b, "from", e->from);
      JSON_INT (b, "to", e->to);
      if (e->word_offset >= 0)
        JSON_INT (b, "word_offset", e->word_offset);
      JSON_INT (b, "target_offset", e->target_offset);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

/* One line per node: "Node, 32 B, retains 160 B, at 0x5632..., fixture.c:36". */
static void
print_heap_node (const HtHeapNode *n)
{
  if (n->kind != HT_HEAP_NODE_BLOCK)
    {
      printf ("%s\n", n->name);
      return;
    }
  g_autofree char *size = ht_format_size ((double) n->size, FALSE);
  g_autofree char *retained = ht_format_size ((double) n->retained, FALSE);
  printf (_("%s, %s, retains %s, at 0x%llx"), n->type, size, retained,
          (unsigned long long) n->address);
  if (n->site && g_strcmp0 (n->site, n->type) != 0)
    printf (", %s", n->site);
  printf ("\n");
}

static void
print_edge_prefix (const HtHeapEdge *e, guint indent, gboolean backwards)
{
  printf ("%*s%s ", (int) indent, "", backwards ? "<-" : "->");
  if (e->word_offset >= 0)
    printf ("[+%lld] ", (long long) e->word_offset);
  if (e->target_offset)
    printf ("(-> +%llu) ", (unsigned long long) e->target_offset);
}

/* The view as an indented tree from the selected blocks, each node once. */
static void
print_heap_tree (const HtHeapView *view, guint v, guint indent, gboolean *printed)
{
  for (guint i = 0; i < view->edges->len; i++)
    {
      const HtHeapEdge *e = &g_array_index (view->edges, HtHeapEdge, i);
      guint next = view->backwards ? e->from : e->to;
      if ((view->backwards ? e->to : e->from) != v)
        continue;
      print_edge_prefix (e, indent, view->backwards);
      const HtHeapNode *n = view->nodes->pdata[next];
      if (printed[next] && n->kind == HT_HEAP_NODE_BLOCK)
        {
          printf (_("0x%llx (above)\n"), (unsigned long long) n->address);
          continue;
        }
      print_heap_node (n);
      printed[next] = TRUE;
      print_heap_tree (view, next, indent + 3, printed);
    }
}

static int
run_heap_walk (int argc, char **argv, int which)
{
  g_autofree char *at = NULL, *type = NULL, *site = NULL, *block = NULL, *output = NULL;
  int depth = which == 2 ? 0 : 6, too_many = 10;
  GOptionEntry entries[] = {
    { "at", 0, 0, G_OPTION_ARG_STRING, &at,
      N_("The heap graph of this snapshot (default: at exit, else the latest)"), N_("WHEN") },
    { "type", 0, 0, G_OPTION_ARG_STRING, &type,
      N_("Blocks of this type: a tag, a C++ class, or the function that allocated them"),
      N_("TYPE") },
    { "site", 0, 0, G_OPTION_ARG_STRING, &site, N_("Blocks allocated in FUNCTION (at LINE)"),
      N_("FUNCTION[:LINE]") },
    { "block", 0, 0, G_OPTION_ARG_STRING, &block, N_("The block holding this address"),
      N_("ADDR") },
    { "depth", 0, 0, G_OPTION_ARG_INT, &depth, N_("Follow at most N pointers (default 6)"), "N" },
    { "too-many", 0, 0, G_OPTION_ARG_INT, &too_many,
      N_("Show at most K blocks selected and K neighbours per node (default 10)"), "K" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      N_("Write the graph to FILE: .dot, .svg or .png"), N_("FILE") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    HT_TIME_ENTRY,
    { NULL }
  };
  if (which == 2) /* chain: --block only */
    {
      entries[1] = entries[3]; /* --block */
      entries[2] = entries[6]; /* -o */
      entries[3] = entries[7]; /* --json */
      entries[4] = (GOptionEntry){ NULL };
    }
  const char *summaries[] = {
    N_("What points to the chosen blocks, up to the roots (objgraph's show_backrefs)."),
    N_("What the chosen blocks point to (objgraph's show_refs)."),
    N_("The shortest chain of pointers from a root to a block (objgraph's find_backref_chain)."),
  };
  int code = 0;
  if (!parse_options (entries, which == 2 ? "REC --block ADDR" : "REC (--type T | --site F[:L] | --block ADDR)",
                      _(summaries[which]), &argc, &argv, 1, 1, &code))
    return code;
  HtHeapQuery q = { .at = at, .type = type, .site = site, .depth = (guint) MAX (depth, 0),
                    .too_many = (guint) MAX (too_many, 1) };
  if ((type != NULL) + (site != NULL) + (block != NULL) != 1)
    return fail (EXIT_USAGE, NULL,
                 which == 2 ? _("give the block: --block ADDR")
                            : _("choose the blocks with one of --type, --site or --block"));
  if (depth < 0 || too_many < 1)
    return fail (EXIT_USAGE, NULL, _("--depth takes N >= 0 and --too-many K >= 1"));
  if (block)
    {
      char *end = NULL;
      q.address = g_ascii_strtoull (block, &end, 0);
      if (!end || *end || end == block)
        return fail (EXIT_USAGE, NULL, _("--block takes an address such as 0x5581a2c0, not '%s'"),
                     block);
      q.by_address = TRUE;
    }
  if (time_arg && block)
    return fail (EXIT_USAGE, NULL, _("--time selects blocks by type or site, not --block"));
  g_autoptr (HtDb) db = open_recording (argv[1], &code);
  if (!db)
    return code;
  /* --time: of the blocks asked about, those allocated in the range */
  HtTopOptions range = { 0 };
  if (!apply_time_range (db, &range, argv[1], &code))
    return code;
  q.time_from_s = range.time_from_s;
  q.time_to_s = range.time_to_s;
  g_autoptr (GError) error = NULL;
  g_autoptr (HtHeapView) view = which == 0   ? ht_heap_backrefs (db, &q, &error)
                                : which == 1 ? ht_heap_refs (db, &q, &error)
                                             : ht_heap_chain (db, &q, &error);
  if (!view)
    return fail (exit_code_for (error), argv[1], "%s", error->message);
  if (output)
    {
      if (!ht_heap_view_write (view, output, &error))
        return fail (EXIT_IO, output, "%s", error->message);
      fprintf (stderr, _("%s: wrote %s (%u nodes)\n"), prog_name, output, view->nodes->len);
    }
  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_heap_view (b, view);
      print_json (b);
      return EXIT_OK;
    }
  if (output)
    return EXIT_OK;
  if (which == 2)
    {
      /* the chain in order, root first */
      for (guint i = 0; i < view->nodes->len; i++)
        {
          if (i > 0)
            print_edge_prefix (&g_array_index (view->edges, HtHeapEdge, i - 1), 2, FALSE);
          print_heap_node (view->nodes->pdata[i]);
        }
      const HtHeapNode *first = view->nodes->pdata[0];
      if (first->kind == HT_HEAP_NODE_BLOCK)
        printf (_("(no root reaches it: the chain starts at a block nothing reachable points "
                  "to)\n"));
      return EXIT_OK;
    }
  g_autofree gboolean *printed = g_new0 (gboolean, view->nodes->len);
  for (guint i = 0; i < view->nodes->len; i++)
    {
      const HtHeapNode *n = view->nodes->pdata[i];
      if (!n->selected)
        continue;
      print_heap_node (n);
      printed[i] = TRUE;
      print_heap_tree (view, i, 3, printed);
    }
  if (view->matched > q.too_many)
    printf (_("(%u blocks match; %u shown: --too-many shows more)\n"), view->matched,
            q.too_many);
  return EXIT_OK;
}

int
cmd_backrefs (int argc, char **argv)
{
  return run_heap_walk (argc, argv, 0);
}

int
cmd_refs (int argc, char **argv)
{
  return run_heap_walk (argc, argv, 1);
}

int
cmd_chain (int argc, char **argv)
{
  return run_heap_walk (argc, argv, 2);
}

/* One show_growth table: "%-*s%9d %+9d", growth first; with `all`, shrinkage after. */
