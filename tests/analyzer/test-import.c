/* test-import.c - the importer on logs written with the recorder's encoder (log-writer.c):
 * what it puts back in order, and what it still counts. */
#include <glib/gstdio.h>

#include "ht-db.h"
#include "ht-import.h"
#include "log-writer.h"

/* Time stamp counters of two CPUs disagree by a stamp or two: a block handed to another
 * thread and freed at once, and an address freed and got back at once by another thread,
 * can each come out of the merge the wrong way round.  The import puts them back (stamps
 * of a TSC log; 256 cycles of skew, 4 stamps at shift 6), and still counts a free that has
 * no allocation near it, an address handed out twice, and keeps a thread's own order. */
static void
test_import_skew (void)
{
  const guint64 p = 0x7f0000001000, q = 0x7f0000002000, r = 0x7f0000003000,
                t = 0x7f0000004000, u = 0x7f0000005000;
  Writer w = { .file = g_byte_array_new () };
  writer_header (&w);
  HtFileHeader *h = (HtFileHeader *) w.file->data;
  h->clock = HT_CLOCK_TSC;
  h->stamp_shift = 6;

  chunk_begin (&w, 2, 1100);
  rec_thread_and_node (&w, 1101, 1102);
  rec_alloc (&w, 1110, p, 48, 1); /* handed to thread 3, whose free reads a stamp earlier */
  rec_alloc (&w, 1200, q, 64, 1);
  rec_alloc (&w, 1299, q, 64, 1); /* got back from thread 3's free, stamped a stamp later */
  rec_alloc (&w, 1400, t, 32, 1);
  rec_alloc (&w, 1500, t, 32, 1); /* handed out twice, no free anywhere: one lost */
  chunk_end (&w);

  chunk_begin (&w, 3, 1100);
  rec_stamp (&w, HT_REC_THREAD, 1103);
  put_varint (w.chunk, 778);
  rec_free (&w, 1109, p);
  rec_free (&w, 1300, q);
  rec_free (&w, 1350, r); /* never allocated: unmatched */
  rec_free (&w, 1360, u); /* from before the recording, then realloc'ed in place: */
  rec_alloc (&w, 1361, u, 16, 1); /* unmatched, and the new block lives on */
  chunk_end (&w);

  chunk_begin (&w, 0, 1000);
  rec_stamp (&w, HT_REC_SYNC, 1600);
  rec_stamp (&w, HT_REC_END, 1700);
  put_varint (w.chunk, HT_END_EXIT);
  chunk_end (&w);

  g_autofree char *log = write_temp (w.file->data, w.file->len);
  g_byte_array_unref (w.file);
  g_autofree char *db_path = g_strconcat (log, ".db", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (ht_import (log, db_path, NULL, &error));
  g_assert_no_error (error);
  g_autoptr (HtDb) db = ht_db_open (db_path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ht_db_meta_int (db, "allocations"), ==, 6);
  g_assert_cmpint (ht_db_meta_int (db, "frees"), ==, 4);
  /* r's and u's frees, and t's first block */
  g_assert_cmpint (ht_db_meta_int (db, "unmatched_frees"), ==, 3);
  /* left at exit: q's second block, t's second and u's */
  g_assert_cmpint (ht_db_meta_int (db, "leaked_blocks"), ==, 3);
  g_assert_cmpint (ht_db_meta_int (db, "leaked_bytes"), ==, 112);
  g_unlink (db_path);
  g_unlink (log);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/import/tsc-skew", test_import_skew);
  return g_test_run ();
}
