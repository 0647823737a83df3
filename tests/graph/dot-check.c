/* dot-check.c - reads a .dot file back with libcgraph and prints what it holds as JSON:
 * {"nodes": [{"name", "label", "fillcolor"}], "edges": [{"from", "to", "label"}]}.
 * The e2e tests use it to check heaptrail's .dot output the way Graphviz itself sees it.
 */
#include <cgraph.h>
#include <json-glib/json-glib.h>
#include <stdio.h>

static void
member (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, value ? value : "");
}

int
main (int argc, char **argv)
{
  if (argc != 2)
    {
      fprintf (stderr, "usage: dot-check FILE.dot\n");
      return 2;
    }
  FILE *f = fopen (argv[1], "r");
  if (!f)
    {
      perror (argv[1]);
      return 1;
    }
  Agraph_t *g = agread (f, NULL);
  fclose (f);
  if (!g)
    {
      fprintf (stderr, "%s: not a graph cgraph can read\n", argv[1]);
      return 1;
    }
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
  member (b, "graph_label", agget (g, (char *) "label"));
  json_builder_set_member_name (b, "nodes");
  json_builder_begin_array (b);
  for (Agnode_t *n = agfstnode (g); n; n = agnxtnode (g, n))
    {
      json_builder_begin_object (b);
      member (b, "name", agnameof (n));
      member (b, "label", agget (n, (char *) "label"));
      member (b, "fillcolor", agget (n, (char *) "fillcolor"));
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "edges");
  json_builder_begin_array (b);
  for (Agnode_t *n = agfstnode (g); n; n = agnxtnode (g, n))
    for (Agedge_t *e = agfstout (g, n); e; e = agnxtout (g, e))
      {
        json_builder_begin_object (b);
        member (b, "from", agnameof (agtail (e)));
        member (b, "to", agnameof (aghead (e)));
        member (b, "label", agget (e, (char *) "label"));
        json_builder_end_object (b);
      }
  json_builder_end_array (b);
  json_builder_end_object (b);
  JsonGenerator *gen = json_generator_new ();
  JsonNode *root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  char *text = json_generator_to_data (gen, NULL);
  puts (text);
  g_free (text);
  json_node_unref (root);
  g_object_unref (gen);
  g_object_unref (b);
  agclose (g);
  return 0;
}
