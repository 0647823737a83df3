/* fixture-known.c - allocations whose counts and bytes per line are known exactly.
 *
 * The program prints, as JSON on stdout, what heaptrail must report for each of its
 * allocation lines: live at the peak, live at the end, and made over the run.  Each
 * allocating statement sits on the same line as the __LINE__ that names it.  Output uses
 * snprintf + write, which allocate nothing, so printing does not disturb the counts.
 *
 * Timeline: A (1000 x 24 B, half freed), B (200 x 1000 B), C (calloc), R (realloc chain),
 * aligned allocators, T (50 temporaries of 4 KiB), then P (3 x 100000 B) makes the peak and
 * is freed.  The peak is therefore right after the third P.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct
{
  const char *name;
  int line;
  long peak_count, peak_bytes, end_count, end_bytes, all_count, all_bytes;
} Expect;

static void *volatile sink;

static void
emit (const Expect *e, int n)
{
  char buf[512];
  int len = snprintf (buf, sizeof buf, "{\"file\": \"%s\", \"sites\": [\n", __FILE__);
  write (1, buf, (size_t) len);
  for (int i = 0; i < n; i++)
    {
      len = snprintf (buf, sizeof buf,
                      "  {\"name\": \"%s\", \"line\": %d, \"peak_count\": %ld, \"peak_bytes\": %ld,"
                      " \"end_count\": %ld, \"end_bytes\": %ld, \"all_count\": %ld,"
                      " \"all_bytes\": %ld}%s\n",
                      e[i].name, e[i].line, e[i].peak_count, e[i].peak_bytes, e[i].end_count,
                      e[i].end_bytes, e[i].all_count, e[i].all_bytes, i + 1 < n ? "," : "");
      write (1, buf, (size_t) len);
    }
  write (1, "]}\n", 3);
}

int
main (void)
{
  static void *a[1000], *b[200], *c[10], *p[3];
  void *r = NULL, *al[5];

  // clang-format off
  for (int i = 0; i < 1000; i++) a[i] = malloc (24); const int la = __LINE__;
  for (int i = 0; i < 200; i++) b[i] = malloc (1000); const int lb = __LINE__;
  for (int i = 0; i < 1000; i += 2) free (a[i]);
  for (int i = 0; i < 10; i++) c[i] = calloc (25, 4); const int lc = __LINE__;
  for (int i = 0; i < 10; i++) r = realloc (r, (size_t) 16 << i); const int lr = __LINE__;
  posix_memalign (&al[0], 64, 200); const int l0 = __LINE__;
  al[1] = aligned_alloc (128, 256); const int l1 = __LINE__;
  al[2] = memalign (256, 300); const int l2 = __LINE__;
  al[3] = valloc (5000); const int l3 = __LINE__;
  al[4] = reallocarray (NULL, 7, 11); const int l4 = __LINE__;
  for (int i = 0; i < 50; i++) { sink = malloc (4096); free (sink); } const int lt = __LINE__;
  for (int i = 0; i < 3; i++) p[i] = malloc (100000); const int lp = __LINE__;
  // clang-format on
  for (int i = 0; i < 3; i++)
    free (p[i]);

  long r_total = 0;
  for (int i = 0; i < 10; i++)
    r_total += 16L << i;
  const Expect e[] = {
    { "A", la, 500, 500 * 24, 500, 500 * 24, 1000, 1000 * 24 },
    { "B", lb, 200, 200 * 1000, 200, 200 * 1000, 200, 200 * 1000 },
    { "C", lc, 10, 10 * 100, 10, 10 * 100, 10, 10 * 100 },
    { "R", lr, 1, 16 << 9, 1, 16 << 9, 10, r_total },
    { "posix_memalign", l0, 1, 200, 1, 200, 1, 200 },
    { "aligned_alloc", l1, 1, 256, 1, 256, 1, 256 },
    { "memalign", l2, 1, 300, 1, 300, 1, 300 },
    { "valloc", l3, 1, 5000, 1, 5000, 1, 5000 },
    { "reallocarray", l4, 1, 77, 1, 77, 1, 77 },
    { "T", lt, 0, 0, 0, 0, 50, 50 * 4096 },
    { "P", lp, 3, 300000, 0, 0, 3, 300000 },
  };
  emit (e, (int) (sizeof e / sizeof e[0]));
  return 0;
}
