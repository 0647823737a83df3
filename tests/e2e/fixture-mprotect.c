/* fixture-mprotect.c - a program that makes part of its heap unreadable.
 *
 * A page-aligned block of three pages stays reachable from a global; the only pointer to a
 * 100-byte block lies in its middle page, which the program then protects PROT_NONE.  A
 * heap scan must not fault on it: the program's output and exit status stay the same, and
 * the 100 bytes are lost (nothing readable points to them), as valgrind says too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char *pages;
static void *kept;

int
main (void)
{
  long page = sysconf (_SC_PAGESIZE);
  if (posix_memalign ((void **) &pages, (size_t) page, 3 * (size_t) page) != 0)
    return 1;
  memset (pages, 0, 3 * (size_t) page);
  void *hidden = malloc (100);
  memcpy (pages + page, &hidden, sizeof hidden);
  hidden = NULL;
  kept = malloc (200);
  if (mprotect (pages + page, (size_t) page, PROT_NONE) != 0)
    return 2;
  printf ("protected one page of a block\n");
  return 0;
}
