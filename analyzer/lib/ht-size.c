/* ht-size.c - sizes as tracemalloc writes them and as users type them, and how far a
 * sampled one may be off.  GLib alone: the lean `heaptrail` launcher (cli/launcher.c)
 * parses record --sample with it too. */
#include <math.h>
#include <string.h>

#include "ht-size.h"

char *
ht_format_size (double size, gboolean sign)
{
  static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
  for (guint i = 0; i < G_N_ELEMENTS (units); i++)
    {
      if (fabs (size) < 100 && i > 0)
        return g_strdup_printf (sign ? "%+.1f %s" : "%.1f %s", size, units[i]);
      if (fabs (size) < 10 * 1024 || i == G_N_ELEMENTS (units) - 1)
        return g_strdup_printf (sign ? "%+.0f %s" : "%.0f %s", size, units[i]);
      size /= 1024;
    }
  g_assert_not_reached ();
}

gboolean
ht_parse_size (const char *text, guint64 *out)
{
  static const char *const units[] = { "", "k", "m", "g", "t" };
  if (!text || !g_ascii_isdigit (*text))
    return FALSE;
  char *end = NULL;
  double value = g_ascii_strtod (text, &end);
  while (*end == ' ')
    end++;
  g_autofree char *unit = g_ascii_strdown (end, -1);
  if (g_str_has_suffix (unit, "ib"))
    unit[strlen (unit) - 2] = 0;
  else if (g_str_has_suffix (unit, "b"))
    unit[strlen (unit) - 1] = 0;
  for (guint i = 0; i < G_N_ELEMENTS (units); i++)
    if (strcmp (unit, units[i]) == 0)
      {
        double bytes = value * (double) (G_GUINT64_CONSTANT (1) << (10 * i));
        if (!(bytes >= 0) || bytes > 4.6e18 || (i == 0 && bytes != (double) (guint64) bytes))
          return FALSE;
        *out = (guint64) bytes;
        return TRUE;
      }
  return FALSE;
}

/* Each block of size S was recorded with probability p = 1 - exp(-S / rate) and stands for
 * 1/p blocks of S/p bytes; over n such blocks the estimate's variance is n S^2 (1 - p) / p. */
double
ht_sample_deviation (double bytes, double count, double rate)
{
  if (rate <= 0 || bytes <= 0 || count <= 0)
    return 0;
  double mean = bytes / count;
  double p = -expm1 (-mean / rate);
  return sqrt (count * (1 - p) / p) * mean;
}
