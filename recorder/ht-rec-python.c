/* ht-rec-python.c - CPython programs, recorded as Python developers expect.
 *
 * CPython serves objects of up to 512 bytes from its own arenas (pymalloc), so a recording
 * would see 256 KiB arenas rather than objects.  When the program is a CPython interpreter
 * (the executable is python3.X, or a libpython is loaded: an embedding program) and the
 * user has not chosen an allocator, PYTHONMALLOC=malloc makes every object a malloc block,
 * as memray and valgrind's users do by hand.  The variable goes into a slot of `environ`
 * the recorder's own variables left free (ht-rec-env.c), so nothing is allocated.  The
 * `heaptrail` Python module (python/heaptrail.py, beside the recorder) joins PYTHONPATH.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ht-rec-private.h"

/* "python", "python3", "python3.11", "python3.11d": a CPython executable's name. */
static bool
is_python_name (const char *base)
{
  if (strncmp (base, "python", 6) != 0)
    return false;
  for (const char *p = base + 6; *p; p++)
    if (!((*p >= '0' && *p <= '9') || *p == '.' || *p == 'd' || *p == 'm' || *p == 't'))
      return false;
  return true;
}

static int
find_libpython (struct dl_phdr_info *info, size_t size, void *data)
{
  (void) size;
  const char *name = info->dlpi_name;
  const char *base = name ? strrchr (name, '/') : NULL;
  base = base ? base + 1 : name;
  if (base && strncmp (base, "libpython3", 10) == 0)
    {
      *(bool *) data = true;
      return 1;
    }
  return 0;
}

bool
ht_rec_is_cpython (void)
{
  char exe[4096];
  ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
  exe[n > 0 ? n : 0] = 0;
  const char *base = strrchr (exe, '/');
  if (is_python_name (base ? base + 1 : exe))
    return true;
  bool found = false;
  dl_iterate_phdr (find_libpython, &found);
  return found;
}

/* `import heaptrail` works in every recorded interpreter: the python/ directory beside
 * libheaptrail.so goes at the end of PYTHONPATH (the user's entries first), in a static
 * buffer, so nothing is allocated. */
static void
add_module_path (void)
{
  Dl_info self;
  if (!dladdr ((void *) add_module_path, &self) || !self.dli_fname)
    return;
  char dir[4096];
  const char *slash = strrchr (self.dli_fname, '/');
  int dir_len = slash ? (int) (slash - self.dli_fname) : 0;
  int d = snprintf (dir, sizeof dir, "%.*s/python", dir_len, self.dli_fname);
  if (d < 0 || (size_t) d >= sizeof dir || access (dir, R_OK) != 0)
    return;
  static char entry[8192];
  const char *user = getenv ("PYTHONPATH");
  for (const char *u = user; u && *u;)
    {
      size_t len = strcspn (u, ":");
      if (len == (size_t) d && memcmp (u, dir, len) == 0)
        return; /* there already */
      u += len + (u[len] == ':');
    }
  int n = snprintf (entry, sizeof entry, "PYTHONPATH=%s%s%s", user ? user : "",
                    user && *user ? ":" : "", dir);
  if (n < 0 || (size_t) n >= sizeof entry)
    return;
  if (user)
    ht_rec_env_replace ("PYTHONPATH", entry);
  else
    ht_rec_env_add (entry);
}

/* Called once the recorder's variables are out of `environ`: PYTHONMALLOC=malloc for a
 * CPython program, unless the user set PYTHONMALLOC, with one line on stderr; and the
 * heaptrail module on its path. */
void
ht_rec_python_setup (void)
{
  if (!ht_rec_is_cpython ())
    return;
  add_module_path ();
  if (getenv ("PYTHONMALLOC"))
    return;
  static char setting[] = "PYTHONMALLOC=malloc";
  if (!ht_rec_env_add (setting))
    return;
  static const char msg[] = "heaptrail: CPython: PYTHONMALLOC=malloc, so that every object is "
                            "a malloc block (set PYTHONMALLOC to choose another allocator)\n";
  (void) !write (2, msg, sizeof msg - 1);
}
