/* cmd-snapshots.c - heaptrail snapshots REC: the snapshots of a recording. */
#include <stdio.h>

#include "ht-cli.h"

int
cmd_snapshots (int argc, char **argv)
{
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    { NULL }
  };
  int code = 0;
  if (!parse_options (entries, "REC", _("The snapshots of a recording: label, time, live size."),
                      &argc, &argv, 1, 1, &code))
    return code;
  g_autoptr (HtDb) db = open_recording (argv[1], &code);
  if (!db)
    return code;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) snaps = ht_query_snapshots (db, &error);
  if (!snaps)
    return fail (exit_code_for (error), argv[1], "%s", error->message);
  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_array (b);
      for (guint i = 0; i < snaps->len; i++)
        {
          HtSnapshotInfo *s = snaps->pdata[i];
          json_builder_begin_object (b);
          JSON_STR (b, "label", s->label);
          JSON_STR (b, "kind", s->kind);
          JSON_DBL (b, "time_s", s->time_s);
          JSON_INT (b, "size", s->heap_bytes);
          JSON_INT (b, "count", s->heap_blocks);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      print_json (b);
      return EXIT_OK;
    }
  int width = 5;
  for (guint i = 0; i < snaps->len; i++)
    width = MAX (width, (int) g_utf8_strlen (((HtSnapshotInfo *) snaps->pdata[i])->label, -1));
  printf ("%-*s  %10s  %10s  %10s\n", width, _("label"), _("time"), _("size"), _("count"));
  for (guint i = 0; i < snaps->len; i++)
    {
      HtSnapshotInfo *s = snaps->pdata[i];
      g_autofree char *size = ht_format_size ((double) s->heap_bytes, FALSE);
      int pad = width - (int) g_utf8_strlen (s->label, -1) + (int) strlen (s->label);
      printf ("%-*s  %9.3fs  %10s  %10lld\n", pad, s->label, s->time_s, size,
              (long long) s->heap_blocks);
    }
  return EXIT_OK;
}
