/* ht-text.c - text for people: source paths and locations (sizes are in ht-size.c). */

#include "ht-query-private.h"

char *
ht_display_path (const char *file)
{
  if (!file)
    return NULL;
  g_autofree char *cwd = g_get_current_dir ();
  gsize n = strlen (cwd);
  if (strncmp (file, cwd, n) == 0 && file[n] == '/')
    return g_strdup (file + n + 1);
  return g_strdup (file);
}

char *
ht_location_format (const HtLocation *loc)
{
  if (loc->file)
    {
      g_autofree char *path = ht_display_path (loc->file);
      return g_strdup_printf ("%s:%u", path, loc->line);
    }
  return g_strdup (loc->function);
}

