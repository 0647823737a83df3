/* preload-count.c - counts the calls that reach glibc's allocator.  Preloaded after
 * libheaptrail.so (LD_PRELOAD=libheaptrail.so:preload-count.so), it is what the recorder
 * forwards to, so it sees every call of the program and every one the recorder, or a
 * library it calls, makes on its own.  At exit it appends the count to $COUNT_FILE.
 * e2e_recorder_allocates_nothing compares it with the program run under this alone. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

extern void *__libc_malloc (size_t);
extern void __libc_free (void *);
extern void *__libc_calloc (size_t, size_t);
extern void *__libc_realloc (void *, size_t);
extern void *__libc_memalign (size_t, size_t);

static _Atomic unsigned long calls;

void *
malloc (size_t n)
{
  calls++;
  return __libc_malloc (n);
}

void
free (void *p)
{
  if (p)
    calls++;
  __libc_free (p);
}

void *
calloc (size_t a, size_t b)
{
  calls++;
  return __libc_calloc (a, b);
}

void *
realloc (void *p, size_t n)
{
  calls++;
  return __libc_realloc (p, n);
}

void *
memalign (size_t align, size_t n)
{
  calls++;
  return __libc_memalign (align, n);
}

void *
aligned_alloc (size_t align, size_t n)
{
  calls++;
  return __libc_memalign (align, n);
}

int
posix_memalign (void **out, size_t align, size_t n)
{
  calls++;
  void *p = __libc_memalign (align, n);
  if (!p)
    return ENOMEM;
  *out = p;
  return 0;
}

__attribute__ ((destructor)) static void
report (void)
{
  const char *path = getenv ("COUNT_FILE");
  int fd = path ? open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
  if (fd < 0)
    return;
  char line[32];
  int len = snprintf (line, sizeof line, "%lu\n", (unsigned long) calls);
  if (len > 0)
    (void) !write (fd, line, (size_t) len);
  close (fd);
}
