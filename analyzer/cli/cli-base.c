/* cli-base.c - what the launcher and the full CLI share (ht-cli-base.h): errors, and the
 * files installed beside the executable.  GLib alone. */
#include <stdio.h>

#include "ht-cli-base.h"

const char *prog_name = "heaptrail";

int
fail (int code, const char *file, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (file)
    fprintf (stderr, "%s: %s: %s\n", prog_name, file, msg);
  else
    fprintf (stderr, "%s: %s\n", prog_name, msg);
  return code;
}

/* The install layout comes first, then the build tree, so both stay relocatable.  Each
 * executable is built with the paths from where it is installed (HT_*_FROM_INSTALL). */
char *
find_beside_self (const char *const *relative, guint n, GFileTest test)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  if (!self)
    return NULL;
  g_autofree char *dir = g_path_get_dirname (self);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *p = g_build_filename (dir, relative[i], NULL);
      g_autofree char *c = g_canonicalize_filename (p, NULL);
      if (g_file_test (c, test))
        return g_steal_pointer (&c);
    }
  return NULL;
}

char *
find_recorder (void)
{
  const char *env = g_getenv ("HEAPTRAIL_RECORDER");
  if (env && *env)
    return g_strdup (env);
  const char *const candidates[] = { HT_RECORDER_FROM_INSTALL, HT_RECORDER_FROM_BUILD };
  return find_beside_self (candidates, G_N_ELEMENTS (candidates), G_FILE_TEST_IS_REGULAR);
}

void
setup_gettext (void)
{
  const char *const candidates[] = { HT_LOCALEDIR_FROM_INSTALL, HT_LOCALEDIR_FROM_BUILD };
  g_autofree char *dir = find_beside_self (candidates, G_N_ELEMENTS (candidates),
                                           G_FILE_TEST_IS_DIR);
  if (dir)
    bindtextdomain (GETTEXT_PACKAGE, dir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
}
