/* fixture-api.c - a program using heaptrail.h: snapshots, a scope, pause and resume.
 *
 * It prints what heaptrail must find (JSON, written with snprintf + write, which do not
 * allocate).  Built twice by tests/CMakeLists.txt: as is, and with HT_PAD, which adds a
 * function before main so every address moves while every line stays where it is; the two
 * recordings must still compare line by line.
 */
#include <heaptrail.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *a[100], *b[50], *c[30], *d[40];

#ifdef HT_PAD
__attribute__ ((noinline, used)) int
ht_pad (int x)
{
  volatile int v[64];
  for (int i = 0; i < 64; i++)
    v[i] = x * i + (x ^ i) * 3 + (i << 2) - (x >> 1);
  return v[x & 63] + v[(x >> 3) & 63] + v[(x >> 5) & 63] + v[(x >> 7) & 63];
}
#endif

int
main (void)
{
  heaptrail_snapshot ("start");
  // clang-format off
  for (int i = 0; i < 100; i++) a[i] = malloc (64); const int la = __LINE__;
  // clang-format on
  int lb = 0, lc = 0;
  HEAPTRAIL_SCOPE ("work")
  {
    // clang-format off
    for (int i = 0; i < 50; i++) b[i] = malloc (128); lb = __LINE__;
    for (int i = 0; i < 30; i++) c[i] = malloc (256); lc = __LINE__;
    // clang-format on
    for (int i = 0; i < 30; i++)
      free (c[i]);
  }
  heaptrail_pause ();
  // clang-format off
  for (int i = 0; i < 40; i++) d[i] = malloc (32); const int ld = __LINE__;
  // clang-format on
  heaptrail_resume ();
  for (int i = 0; i < 100; i += 2)
    free (a[i]);
  heaptrail_snapshot ("after-free");

  char buf[512];
  int n = snprintf (buf, sizeof buf,
                    "{\"recording\": %d, \"la\": %d, \"lb\": %d, \"lc\": %d, \"ld\": %d}\n",
                    heaptrail_is_recording (), la, lb, lc, ld);
  return write (1, buf, (size_t) n) == n ? 0 : 1;
}
