/* ht-rec-env.c - the program's environment is its own.
 *
 * `heaptrail record` starts the program with LD_PRELOAD=libheaptrail.so[:THE USER'S] and a
 * few HEAPTRAIL_* variables (HEAPTRAIL_LD_PRELOAD holds the user's LD_PRELOAD, when there
 * was one).  Once the recorder has read them, it takes them out again, in place (no
 * allocation): HEAPTRAIL_* leave `environ`, and LD_PRELOAD gets back the user's value, or
 * leaves too when the user had none.  So the program, and every child it starts that is
 * not followed, sees the environment it would have had without heaptrail, and allocates
 * what it would have allocated.
 *
 * When exec is followed, the exec hooks (ht-rec-process.c) hand the new image an
 * environment of its own: the one the program passed, plus our variables again, built in
 * memory from mmap, and HEAPTRAIL_CONTINUE (with where the ids left off), so that the new
 * image goes on with the same log.  With --follow-fork and --follow-exec together the variables stay in
 * `environ`: a child started by posix_spawn or system() runs glibc's internal execve,
 * which no hook sees, and only the environment can carry the recorder into it.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ht-rec-private.h"

extern char **environ;

#define SAVED_MAX 32
#define SAVED_BYTES 8192

static char saved_text[SAVED_BYTES]; /* "HEAPTRAIL_X=value\0" ... */
static char *saved[SAVED_MAX];       /* our variables, for an exec'd image */
static int saved_count;
static char recorder_path[4096];     /* our entry of LD_PRELOAD */
static size_t slots_freed;           /* entries of `environ` our removed variables left */

static bool
is_ours (const char *entry)
{
  return strncmp (entry, "HEAPTRAIL_", 10) == 0;
}

static bool
is_preload (const char *entry)
{
  return strncmp (entry, "LD_PRELOAD=", 11) == 0;
}

static bool
is_our_library (const char *s, size_t n)
{
  return n >= 15 && memcmp (s + n - 15, "libheaptrail.so", 15) == 0;
}

/* Removes every libheaptrail.so from a LD_PRELOAD value, in place (unless `keep`),
 * remembering the first. */
static void
strip_preload (char *v, bool keep)
{
  char *r = v, *w = v;
  while (*r)
    {
      char *e = r + strcspn (r, ": ");
      size_t n = (size_t) (e - r);
      if (is_our_library (r, n))
        {
          if (!recorder_path[0] && n < sizeof recorder_path)
            memcpy (recorder_path, r, n);
          if (keep)
            return;
        }
      else if (n > 0)
        {
          if (w != v)
            *w++ = ':';
          memmove (w, r, n);
          w += n;
        }
      r = *e ? e + 1 : e;
    }
  *w = 0;
}

/* Keeps a copy of our variables (but the first image's own output name) for exec'd images;
 * `log_dir` is where their logs go. */
static void
save_ours (const char *log_dir)
{
  size_t used = 0;
  saved_count = 0;
  for (char **e = environ; e && *e && saved_count < SAVED_MAX - 1; e++)
    {
      static const char *const not_passed[] = { "HEAPTRAIL_OUTPUT=", "HEAPTRAIL_LD_PRELOAD=",
                                                "HEAPTRAIL_DIR=", "HEAPTRAIL_CONTINUE=",
                                                "HEAPTRAIL_NODE_BASE=",
                                                "HEAPTRAIL_STREAM_BASE=",
                                                "HEAPTRAIL_START_NS=" };
      bool pass = is_ours (*e);
      for (size_t i = 0; pass && i < sizeof not_passed / sizeof not_passed[0]; i++)
        pass = strncmp (*e, not_passed[i], strlen (not_passed[i])) != 0;
      if (!pass)
        continue;
      size_t n = strlen (*e) + 1;
      if (used + n > sizeof saved_text)
        break;
      saved[saved_count++] = memcpy (saved_text + used, *e, n);
      used += n;
    }
  size_t n = strlen (log_dir) + 15;
  if (used + n <= sizeof saved_text && saved_count < SAVED_MAX)
    {
      char *d = saved_text + used;
      memcpy (d, "HEAPTRAIL_DIR=", 14);
      memcpy (d + 14, log_dir, n - 14);
      saved[saved_count++] = d;
    }
}

void
ht_rec_env_restore (const char *log_dir, bool keep)
{
  save_ours (log_dir);
  bool had_preload = getenv ("HEAPTRAIL_LD_PRELOAD") != NULL;
  char **w = environ;
  for (char **r = environ; r && *r; r++)
    {
      if (is_preload (*r))
        {
          strip_preload (*r + 11, keep);
          if (!keep && !had_preload && (*r)[11] == 0)
            continue; /* the user had no LD_PRELOAD */
        }
      else if (!keep && is_ours (*r))
        continue;
      *w++ = *r;
    }
  if (w)
    {
      for (char **z = w; *z; z++)
        slots_freed++;
      *w = NULL;
    }
}

/* Adds "NAME=value" (which must live as long as the process) to `environ` without
 * allocating: into the slot a removed variable of ours left, else with putenv (which may
 * allocate; our guard is held, so that is not recorded).  False when it could not. */
bool
ht_rec_env_add (char *entry)
{
  size_t n = 0;
  while (environ && environ[n])
    n++;
  if (environ && slots_freed > 0) /* the array still has the removed entries' room */
    {
      environ[n] = entry;
      environ[n + 1] = NULL;
      slots_freed--;
      return true;
    }
  return putenv (entry) == 0;
}

/* Points NAME's entry of `environ` at `entry` ("NAME=value", living as long as the
 * process). */
void
ht_rec_env_replace (const char *name, char *entry)
{
  size_t len = strlen (name);
  for (char **e = environ; e && *e; e++)
    if (strncmp (*e, name, len) == 0 && (*e)[len] == '=')
      {
        *e = entry;
        return;
      }
}

/* ---------------------------------------------------------------------------------------
 * An environment for an exec'd image that is recorded too
 */
char **
ht_rec_env_for_exec (char *const envp[], size_t *mapped)
{
  *mapped = 0;
  if (!recorder_path[0])
    return NULL;
  size_t n = 0, text = 0;
  const char *user_preload = NULL;
  for (char *const *e = envp; e && *e; e++, n++)
    if (is_preload (*e))
      user_preload = *e + 11;
  if (user_preload)
    text += 2 * strlen (user_preload);
  text += strlen (recorder_path) + 64;
  const char *const *cont = ht_rec_continue_vars ();
  size_t ncont = 0;
  while (cont && cont[ncont])
    ncont++;
  size_t slots = n + (size_t) saved_count + ncont + 3;
  size_t size = slots * sizeof (char *) + text;
  char **out = ht_rec_mmap (size);
  if (!out)
    return NULL;
  char *t = (char *) (out + slots);
  size_t k = 0;
  for (char *const *e = envp; e && *e; e++)
    if (!is_preload (*e) && !is_ours (*e))
      out[k++] = *e;
  /* LD_PRELOAD=recorder[:user's], and the user's alone for the image to restore */
  out[k++] = t;
  t = stpcpy (stpcpy (t, "LD_PRELOAD="), recorder_path);
  if (user_preload && *user_preload)
    t = stpcpy (stpcpy (t, ":"), user_preload);
  t++;
  if (user_preload)
    {
      out[k++] = t;
      t = stpcpy (stpcpy (t, "HEAPTRAIL_LD_PRELOAD="), user_preload) + 1;
    }
  for (int i = 0; i < saved_count; i++)
    out[k++] = saved[i];
  for (size_t i = 0; i < ncont; i++)
    out[k++] = (char *) cont[i];
  out[k] = NULL;
  *mapped = size;
  return out;
}
