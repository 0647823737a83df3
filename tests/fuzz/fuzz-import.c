/* fuzz-import.c - libFuzzer target over the log reader and the importer's analysis.
 *
 * Each input is written to a file and imported without writing a database (dry run): the
 * reader, the stream merge, every record's handling, module maps and snapshots are all
 * exercised.  Whatever the input, the import must return (an error is fine), never crash,
 * hang, leak or trip a sanitizer.
 *
 *   bench/fuzz SECONDS          builds with clang and runs it; seeds in tests/fuzz/corpus
 */
#include <glib/gstdio.h>
#include <stdint.h>
#include <unistd.h>

#include "ht-import.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static char *path;
  if (!path)
    path = g_strdup_printf ("%s/heaptrail-fuzz-%d.htr", g_get_tmp_dir (), (int) getpid ());
  if (!g_file_set_contents (path, (const char *) data, (gssize) size, NULL))
    return 0;
  HtImportOptions options = { .dry_run = TRUE, .auto_snapshots = 3 };
  GError *error = NULL;
  ht_import (path, "/nonexistent", &options, &error);
  g_clear_error (&error);
  g_free (options.warnings);
  return 0;
}
