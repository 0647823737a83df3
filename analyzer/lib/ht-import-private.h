/* ht-import-private.h - what the importer's files share: its state (HtImport) and the
 * figures it keeps per trace, per thread, per snapshot and per heap-graph scan.
 *
 * ht-import.c        the pass over the events
 * ht-import-db.c     writing the database: meta, sites, snapshots, the timeline
 * ht-import-time.c   each trace's figures per time bucket, so that a time range is a query
 * ht-import-graph.c  record --graph: the scans' blocks, edges and roots, their memcheck
 *                    classes and dominators, and their tables in the database
 * ht-import-skew.c   events held for the skew of time stamp counters between CPUs
 */
#pragma once

#include <sqlite3.h>

#include "ht-blockmap.h"
#include "ht-db.h"
#include "ht-graph.h"
#include "ht-import.h"
#include "ht-reader.h"
#include "ht-symbols.h"

G_BEGIN_DECLS

#define MAX_NODE_ID (1u << 26)

/* A trace's allocations made in one time bucket, and what became of them (temporary,
 * short-lived, live at the peak and at the end).  Summed over the buckets of a range, they
 * answer "what was allocated between FROM and TO" without importing again. */
typedef struct
{
  guint32 bucket; /* (stamp - origin) >> span_shift */
  guint32 peak_epoch;
  guint64 alloc_count, alloc_bytes, temporary, temporary_bytes, short_lived, short_lived_bytes;
  gint64 live_count, live_bytes;
  gint64 peak_count, peak_bytes;
} HtSpan;

typedef struct
{
  guint32 parent;
  gint32 module; /* symbolizer index, -1 unknown */
  guint64 ip;
  guint64 alloc_count, alloc_bytes, temporary, temporary_bytes, short_lived, short_lived_bytes;
  gint64 live_count, live_bytes;
  gint64 peak_count, peak_bytes;
  gint64 tagged_count, tagged_bytes; /* of the live ones, those with a heaptrail_tag */
  guint32 peak_epoch;
  gboolean defined;
  HtSpan *spans; /* by bucket, oldest first */
  guint32 n_spans, spans_cap;
} HtNode;

typedef struct
{
  guint64 start, end;
  guint module;
} HtMapRange;

typedef struct
{
  guint64 last_alloc; /* for temporaries */
  HtBlock last_freed; /* for UNFREE */
  guint64 tid;
  guint64 alloc_count, alloc_bytes, temporary, frees; /* the thread's own figures */
} HtStreamState;

#define SIZE_BUCKETS 49 /* [0], [1], [2,3], [4,7] ... up to 2^47 and above */

typedef struct
{
  guint64 stamp, mono_ns, rss, recorder, heap, recorder_time;
} HtSample;

typedef struct
{
  guint32 node;
  gint64 count, bytes, tagged_count, tagged_bytes;
} HtSnapEntry;

typedef struct
{
  gint64 count, bytes;
} HtTally;

/* One heap scan of record --graph: the BLOCK, EDGES and ROOTS records up to its SCAN. */
typedef struct
{
  guint64 addr, size;
  guint32 trace; /* 0 when the block is unknown to the import (allocated while paused) */
  gint32 type;   /* type id (tag or C++ class), -1 none */
  guint8 gc_head; /* a Python object's GC header: its offset in the block + 1; 0 none */
  guint64 stamp;  /* when it was allocated; 0 unknown */
} HtScanBlock;

typedef struct
{
  guint32 src, dst;
  guint64 word, offset;
  gboolean gc_link; /* a word of a Python object's GC header: the collector's list */
} HtScanEdge;

typedef struct
{
  guint kind; /* HT_ROOT_* */
  guint32 dst;
  guint64 tid, addr, offset;
} HtScanRoot;

typedef struct
{
  GArray *blocks; /* HtScanBlock, in address order */
  GArray *edges;  /* HtScanEdge */
  GArray *roots;  /* HtScanRoot */
  gboolean closed; /* its SCAN record was read */
  guint64 root_words, heap_scanned, root_scanned, stopped, missed, duration_ns, flags;
  guint8 *reach;     /* results, once closed */
  gint64 *idom;
  guint64 *retained;
} HtScan;


/* A snapshot of the live heap: explicit (heaptrail_snapshot), the peak, the end. */
typedef struct
{
  char *label;
  const char *kind; /* "snapshot", "peak", "end" */
  guint64 stamp;
  guint64 bytes, blocks;
  GArray *entries; /* HtSnapEntry, traces with live blocks */
  GArray *types;   /* HtTally by type id (not for the peak) */
  HtScan *scan;    /* the heap graph at this snapshot (record --graph), or NULL */
} HtSnap;


typedef struct
{
  HtReader *reader;
  HtSymbolizer *symbols;
  HtBlockMap blocks;
  GArray *nodes;            /* HtNode, by id */
  GPtrArray *modules;       /* HtModuleInfo*, by symbolizer index */
  GHashTable *module_index; /* "path\nbias\nbuild-id" -> index+1 */
  GPtrArray *maps;          /* GArray of HtMapRange, one per module map, oldest first */
  gboolean map_sorted;
  GHashTable *streams; /* stream id -> HtStreamState */
  GPtrArray *finished_threads; /* HtStreamState of threads whose stream was reused */
  HtStreamState *last_state; /* the previous event's, since events come in runs per stream */
  guint32 last_state_id;
  GArray *samples;     /* HtSample */
  GPtrArray *snapshots; /* HtSnap, in the order taken */
  guint64 *auto_at;     /* stamps of the evenly spaced snapshots still to take */
  guint auto_count, auto_next;
  GHashTable *type_ids; /* type name -> id + 1 */
  GPtrArray *type_names; /* by id */
  GArray *type_live;    /* HtTally by type id */
  GHashTable *tagged;   /* live tagged block address -> type id + 1 */
  GHashTable *class_names; /* vtable symbol -> class name */
  GHashTable *word_class;  /* first word -> class name, or "" */
  GHashTable *labels;   /* snapshot labels in use */
  GString *warnings;
  HtScan *scan;         /* the scan being read, or a closed one waiting for its snapshot */

  guint64 heap_bytes, heap_blocks;
  guint64 peak_bytes, peak_blocks, peak_stamp;
  guint32 peak_epoch;
  guint64 alloc_calls, free_calls, unmatched_frees, temporary, total_bytes, short_lived;
  guint64 sample_mean;     /* record --sample's bytes; 0 when every allocation was recorded */
  GHashTable *frame_sets;  /* ip -> HtFrameSet: frames a converter symbolized (FRAMES) */
  guint64 sampled_allocs;  /* ALLOC records read (the allocations themselves when exact) */
  guint64 counted_calls, counted_bytes; /* --sample: what COUNTED records say, exactly */
  double short_lived_ms;
  guint64 short_lived_stamps; /* the same, in stamp units */
  guint64 span_origin;  /* the stamp time buckets count from */
  guint span_shift;      /* a bucket is 2^span_shift stamps wide; widened as the run goes on */
  guint64 span_total;    /* HtSpan kept over all traces */
  guint64 size_count[SIZE_BUCKETS], size_bytes[SIZE_BUCKETS];
  guint64 lost, threads, last_stamp, end_stamp, end_reason, end_marks;
  guint64 defined_nodes; /* TRACE_NODE records seen: bounds the ids events may use */
  gboolean ended;
  GHashTable *codes; /* Python code object id -> HtPyCodeInfo */
  GHashTable *py_types; /* Python type object address -> __name__ (PYTYPE) */
  char *program_suppressions; /* __lsan_default_suppressions() of the program */
  /* exec: the program that ran last (IMAGE), and the ones before it */
  char *image_exe;
  GStrv image_argv;
  GString *exec_chain; /* "sh → env → python3.11" */
  guint64 exec_released_blocks, exec_released_bytes;
  /* Time stamp counters of two CPUs can disagree by a stamp unit or two (measured on a VM:
   * up to 96 cycles), so a block handed to another thread and freed at once can come out
   * of the merge freed just before it was allocated, or an address freed and at once got
   * back by another thread allocated just before its free.  Such an event (HtEvent, ALLOC
   * or FREE) waits here, up to skew_stamps, for the one it belongs after (ht-import.c). */
  GArray *parked;
  guint64 skew_stamps; /* 0: the clock is one for all CPUs (CLOCK_MONOTONIC) */
} HtImport;

/* A Python code object from a CODE record. */
typedef struct
{
  char *filename, *qualname;
  int first_line;
  GBytes *linetable;
} HtPyCodeInfo;

/* ht-import-graph.c */
G_GNUC_INTERNAL void scan_free (HtScan *sc);
G_GNUC_INTERNAL void on_block (HtImport *im, const HtEvent *e);
G_GNUC_INTERNAL gboolean on_edges (HtImport *im, const HtEvent *e, GError **error);
G_GNUC_INTERNAL gboolean on_roots (HtImport *im, const HtEvent *e, GError **error);
G_GNUC_INTERNAL void on_scan (HtImport *im, const HtEvent *e);
G_GNUC_INTERNAL HtScan * take_scan (HtImport *im);
G_GNUC_INTERNAL gboolean write_graph (HtImport *im, sqlite3 *db, gint64 snapshot, const HtScan *sc, GError **error);

/* ht-import.c */
G_GNUC_INTERNAL void on_tag (HtImport *im, const HtEvent *e);

/* ht-import.c: what heaptrack's files say a frame is (FRAMES records), by address */
typedef struct
{
  guint count;
  HtFrame *frames;
  char **strings; /* what the frames point into */
} HtFrameSet;
/* a snapshot of the live heap now (kind "snapshot", "peak", "end"), and a free label */
G_GNUC_INTERNAL HtSnap *snap_capture (HtImport *im, const char *kind, char *label,
                                      guint64 stamp, gboolean peak);
G_GNUC_INTERNAL char *snap_label (HtImport *im, const char *wanted);

/* ht-import-skew.c: an ALLOC of a live address or a FREE of an unknown one is held
 * (ht_skew_park) for up to skew_stamps; each ht_skew_take_* takes out the held event to
 * apply now, if there is one: one from `e`'s own stream of `e`'s address (before `e`), one
 * from another stream that was waiting for `e` (after it), one older than the skew before
 * `now` (G_MAXUINT64: any).  ht_skew_drop_free: an UNFREE takes back a held FREE. */
G_GNUC_INTERNAL void ht_skew_init (HtImport *im);
G_GNUC_INTERNAL void ht_skew_park (HtImport *im, const HtEvent *e);
G_GNUC_INTERNAL gboolean ht_skew_take_own (HtImport *im, const HtEvent *e, HtEvent *out);
G_GNUC_INTERNAL gboolean ht_skew_take_partner (HtImport *im, const HtEvent *e, HtEvent *out);
G_GNUC_INTERNAL gboolean ht_skew_take_expired (HtImport *im, guint64 now, HtEvent *out);
G_GNUC_INTERNAL gboolean ht_skew_drop_free (HtImport *im, const HtEvent *e);

/* ht-import-time.c: a trace's span for an allocation made now (at `stamp`, the latest
 * event's), the span a block allocated at `stamp` counts in (NULL if none), made current
 * for the peak before it changes; the spans' tables; and their memory returned */
G_GNUC_INTERNAL void spans_init (HtImport *im, double ns_per_stamp);
G_GNUC_INTERNAL HtSpan *span_for_alloc (HtImport *im, HtNode *n, guint64 stamp);
G_GNUC_INTERNAL HtSpan *span_of_block (HtImport *im, HtNode *n, guint64 stamp);
G_GNUC_INTERNAL gboolean write_spans (HtImport *im, sqlite3 *db, GError **error);
G_GNUC_INTERNAL gint64 span_bucket (HtImport *im, guint64 stamp); /* -1 for stamp 0 */
G_GNUC_INTERNAL void spans_free (HtImport *im);

/* ht-import-db.c */
G_GNUC_INTERNAL double stamp_seconds (HtImport *im, guint64 stamp);
G_GNUC_INTERNAL gboolean write_database (HtImport *im, sqlite3 *db, const char *log_path,
                                         GError **error);

G_END_DECLS
