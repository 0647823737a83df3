/* cmd-growth.c - heaptrail growth REC [A B]: live blocks per type between snapshots, as objgraph's show_growth(). */
#include <stdio.h>

#include "ht-cli.h"

static void
print_growth (GPtrArray *rows, int limit, gboolean all, const char *from, const char *to)
{
  int width = 0, shown = 0;
  for (guint i = 0; i < rows->len; i++)
    width = MAX (width, (int) g_utf8_strlen (((HtGrowth *) rows->pdata[i])->type, -1));
  for (guint pass = 0; pass < (all ? 2u : 1u); pass++)
    for (guint k = 0; k < rows->len; k++)
      {
        /* growth in the order given; shrinkage from the largest loss */
        HtGrowth *g = rows->pdata[pass ? rows->len - 1 - k : k];
        gint64 delta = g->count_b - g->count_a;
        if ((pass == 0 && delta <= 0) || (pass == 1 && delta >= 0))
          continue;
        if (limit > 0 && shown >= limit)
          return;
        int pad = width - (int) g_utf8_strlen (g->type, -1) + (int) strlen (g->type);
        printf ("%-*s%9lld %+9lld\n", pad, g->type, (long long) g->count_b, (long long) delta);
        shown++;
      }
  /* objgraph prints nothing then; we say what was compared */
  if (shown == 0)
    {
      guint shrank = 0;
      for (guint k = 0; k < rows->len; k++)
        shrank += ((HtGrowth *) rows->pdata[k])->count_b < ((HtGrowth *) rows->pdata[k])->count_a;
      printf (_("No type grew between %s and %s (%u types shrank; --all lists them).\n"), from,
              to, shrank);
    }
}

int
cmd_growth (int argc, char **argv)
{
  int limit = 10;
  gboolean all = FALSE;
  GOptionEntry entries[] = {
    { "limit", 'n', 0, G_OPTION_ARG_INT, &limit, N_("Show N types per step (default 10, 0 for all)"),
      "N" },
    { "all", 0, 0, G_OPTION_ARG_NONE, &all, N_("Also show the types that shrank"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    HT_FILTER_ENTRIES,
    { NULL }
  };
  int code = 0;
  if (!parse_options (entries, _("REC [A B]"),
                      _("Live blocks per type between snapshots, like objgraph's show_growth(); "
                        "between each snapshot and the next unless A and B are given.  A "
                        "block's type is its heaptrail_tag, else the function that allocated it."),
                      &argc, &argv, 1, 3, &code))
    return code;
  if (argc == 3)
    return fail (EXIT_USAGE, NULL, _("growth takes two snapshots or none"));
  if (limit < 0)
    return fail (EXIT_USAGE, NULL, _("-n takes a number of groups, 0 for all"));
  g_autoptr (HtDb) db = open_recording (argv[1], &code);
  if (!db)
    return code;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) steps = g_ptr_array_new_with_free_func (g_free);
  if (argc == 4)
    {
      g_ptr_array_add (steps, g_strdup (argv[2]));
      g_ptr_array_add (steps, g_strdup (argv[3]));
    }
  else
    {
      g_autoptr (GPtrArray) snaps = ht_query_snapshots (db, &error);
      if (!snaps)
        return fail (exit_code_for (error), argv[1], "%s", error->message);
      for (guint i = 0; i < snaps->len; i++)
        if (g_str_equal (((HtSnapshotInfo *) snaps->pdata[i])->kind, "snapshot")
            || g_str_equal (((HtSnapshotInfo *) snaps->pdata[i])->kind, "end"))
          g_ptr_array_add (steps, g_strdup (((HtSnapshotInfo *) snaps->pdata[i])->label));
      /* the program took no snapshot of its own: from the first one there is to the end,
       * and say so, rather than print nothing */
      if (steps->len < 2 && snaps->len >= 2)
        {
          const HtSnapshotInfo *first = snaps->pdata[0];
          g_ptr_array_insert (steps, 0, g_strdup (first->label));
          if (!json)
            printf (_("The program took no snapshots: growth from the first one, %s at %.3f s, "
                      "to the end.\n"),
                    first->label, first->time_s);
        }
    }
  g_autoptr (JsonBuilder) b = json ? json_builder_new () : NULL;
  if (b)
    json_builder_begin_array (b);
  for (guint i = 0; i + 1 < steps->len; i++)
    {
      const char *from = steps->pdata[i], *to = steps->pdata[i + 1];
      HtTopOptions filters = { 0 };
      apply_filters (&filters);
      g_autoptr (GPtrArray) rows = ht_query_growth (db, from, to, &filters, &error);
      if (!rows)
        return fail (exit_code_for (error), argv[1], "%s", error->message);
      if (b)
        {
          json_builder_begin_object (b);
          JSON_STR (b, "a", from);
          JSON_STR (b, "b", to);
          json_builder_set_member_name (b, "types");
          json_builder_begin_array (b);
          for (guint k = 0; k < rows->len; k++)
            {
              HtGrowth *g = rows->pdata[k];
              json_builder_begin_object (b);
              JSON_STR (b, "type", g->type);
              JSON_INT (b, "count", g->count_b);
              JSON_INT (b, "delta", g->count_b - g->count_a);
              JSON_INT (b, "bytes", g->bytes_b);
              JSON_INT (b, "bytes_delta", g->bytes_b - g->bytes_a);
              json_builder_end_object (b);
            }
          json_builder_end_array (b);
          json_builder_end_object (b);
          continue;
        }
      if (steps->len > 2)
        printf ("%s%s -> %s\n", i ? "\n" : "", from, to);
      print_growth (rows, limit, all, from, to);
    }
  if (b)
    {
      json_builder_end_array (b);
      print_json (b);
    }
  return EXIT_OK;
}

/* Asks a recorded process for a snapshot by leaving a request file (with the label) that
 * its recorder looks for every 10 ms; no signal is sent, so the program's blocking calls
 * are not interrupted (see ht-rec-sampler.c, serve_snapshot_request). */
