/* replay.c - runs fuzz-import.c's target over files, without libFuzzer: the seed corpus and
 * every crash found so far (tests/fuzz/regressions) are replayed by ctest this way, under
 * ASan and UBSan, with whichever compiler builds the project. */
#include <glib.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
main (int argc, char **argv)
{
  int n = 0;
  for (int i = 1; i < argc; i++)
    {
      g_autoptr (GDir) dir = g_dir_open (argv[i], 0, NULL);
      const char *name;
      while (dir && (name = g_dir_read_name (dir)))
        {
          g_autofree char *path = g_build_filename (argv[i], name, NULL);
          g_autofree char *data = NULL;
          gsize len = 0;
          if (!g_file_get_contents (path, &data, &len, NULL))
            continue;
          LLVMFuzzerTestOneInput ((const uint8_t *) data, len);
          /* and every prefix of it that cuts a chunk, the crash case */
          for (gsize cut = 1; cut < len; cut += 1 + len / 64)
            LLVMFuzzerTestOneInput ((const uint8_t *) data, cut);
          n++;
        }
    }
  g_print ("replayed %d inputs and their prefixes\n", n);
  return n > 0 ? 0 : 1;
}
