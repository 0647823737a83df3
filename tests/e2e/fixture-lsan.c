/* fixture-lsan.c - a program that names the leak it knows of with LeakSanitizer's
 * convention, __lsan_default_suppressions(); another leak stays reported. */
#include <stdio.h>
#include <stdlib.h>

__attribute__ ((noinline)) static void *
known_cache (void)
{
  return malloc (77);
}

__attribute__ ((noinline)) static void *
real_leak (void)
{
  return malloc (55);
}

const char *__lsan_default_suppressions (void);

const char *
__lsan_default_suppressions (void)
{
  return "# the cache lives as long as the program\nleak:known_cache\n";
}

int
main (void)
{
  void *volatile a = known_cache ();
  void *volatile b = real_leak ();
  a = b = NULL;
  printf ("two leaks, one known\n");
  return 0;
}
