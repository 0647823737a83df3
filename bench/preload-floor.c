/* preload-floor.c - the floor of any LD_PRELOAD allocation recorder: malloc, free, calloc
 * and realloc interposed and forwarded to glibc through pointers dlsym gave, as
 * libheaptrail.so forwards them, and nothing else.  What a program pays for this alone is
 * what --sample cannot go under.
 *
 *   cc -O2 -shared -fPIC bench/preload-floor.c -o /tmp/floor.so -ldl
 *   PYTHONMALLOC=malloc LD_PRELOAD=/tmp/floor.so python3 ...
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

extern void *__libc_malloc (size_t);
extern void __libc_free (void *);
extern void *__libc_calloc (size_t, size_t);
extern void *__libc_realloc (void *, size_t);

static void *(*next_malloc) (size_t);
static void (*next_free) (void *);
static void *(*next_calloc) (size_t, size_t);
static void *(*next_realloc) (void *, size_t);

__attribute__ ((constructor)) static void
init (void)
{
  next_malloc = dlsym (RTLD_NEXT, "malloc");
  next_free = dlsym (RTLD_NEXT, "free");
  next_calloc = dlsym (RTLD_NEXT, "calloc");
  next_realloc = dlsym (RTLD_NEXT, "realloc");
}

/* before init (dlsym itself allocates), glibc's own entry points */
void *
malloc (size_t n)
{
  return next_malloc ? next_malloc (n) : __libc_malloc (n);
}

void
free (void *p)
{
  if (next_free)
    next_free (p);
  else
    __libc_free (p);
}

void *
calloc (size_t a, size_t b)
{
  return next_calloc ? next_calloc (a, b) : __libc_calloc (a, b);
}

void *
realloc (void *p, size_t n)
{
  return next_realloc ? next_realloc (p, n) : __libc_realloc (p, n);
}
