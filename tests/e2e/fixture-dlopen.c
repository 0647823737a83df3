/* fixture-dlopen.c - opens a few of Debian's libraries in turn with dlopen, as a program
 * with plug-ins does; everything the loader allocates for them is the program's to see.
 * (Not liblzma: libunwind, which the recorder uses, already loads it, so ld.so would do
 * less for it under the recorder than alone.) */
#include <dlfcn.h>
#include <stdio.h>

int
main (void)
{
  static const char *const libs[] = { "libz.so.1", "libbz2.so.1.0", "libexpat.so.1",
                                      "libsqlite3.so.0", "libpcre2-8.so.0" };
  int opened = 0;
  for (unsigned i = 0; i < sizeof libs / sizeof libs[0]; i++)
    if (dlopen (libs[i], RTLD_NOW))
      opened++;
    else
      printf ("not opened: %s\n", libs[i]);
  printf ("opened %d libraries\n", opened);
  return 0;
}
