/* cli-print.c - the tracemalloc-style text the grouping commands share: a group, its traceback and source lines. */
#include <stdio.h>

#include "ht-cli.h"

gboolean
parse_group (const char *by, HtGroupBy *out)
{
  static const char *const names[] = { "line", "function", "file", "traceback", "type" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_strcmp0 (by, names[i]) == 0 || (i == 0 && g_strcmp0 (by, "lineno") == 0)
        || (i == 2 && g_strcmp0 (by, "filename") == 0))
      {
        *out = (HtGroupBy) i;
        return TRUE;
      }
  return FALSE;
}

/* Prints a source line the way Python's traceback does, when the file is readable. */
void
print_source_line (const char *file, guint line)
{
  if (!file || line == 0)
    return;
  FILE *f = fopen (file, "r");
  if (!f)
    return;
  char buf[4096];
  guint n = 0;
  while (fgets (buf, sizeof buf, f))
    if (++n == line)
      {
        g_strstrip (buf);
        if (*buf)
          printf ("    %s\n", buf);
        break;
      }
  fclose (f);
}

/* A stack the way Python prints a traceback: oldest call first, with its source line. */
void
print_traceback (GPtrArray *frames)
{
  for (guint j = frames->len; j-- > 0;)
    {
      HtLocation *l = frames->pdata[j];
      g_autofree char *path = ht_display_path (l->file);
      if (l->file)
        printf ("  File \"%s\", line %u, in %s\n", path, l->line, l->function);
      else
        printf ("  in %s\n", l->function);
      print_source_line (l->file, l->line);
    }
}

/* tracemalloc's Statistic line: "f.c:42: size=126 KiB, count=2002, average=64 B" */
void
print_stat (const HtStat *s)
{
  g_autofree char *size = ht_format_size ((double) s->size, FALSE);
  printf ("%s: size=%s, count=%" G_GUINT64_FORMAT, s->key, size, s->count);
  if (s->count)
    {
      g_autofree char *avg = ht_format_size ((double) s->size / (double) s->count, FALSE);
      printf (", average=%s", avg);
    }
  /* a sampled recording's estimate, with its standard deviation (0 for blocks far larger
   * than the rate: each of them was recorded) */
  if (sample_bytes > 0)
    {
      g_autofree char *pm = ht_format_size (
          ht_sample_deviation ((double) s->size, (double) s->count, (double) sample_bytes), FALSE);
      printf (", ±%s", pm);
    }
  printf ("\n");
}
