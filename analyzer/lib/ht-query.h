/* ht-query.h - the questions both faces (CLI and GUI) ask of a recording. */
#pragma once

#include <glib.h>

#include "ht-db.h"
#include "ht-size.h"

G_BEGIN_DECLS

typedef enum
{
  HT_GROUP_LINE,
  HT_GROUP_FUNCTION,
  HT_GROUP_FILE,
  HT_GROUP_TRACEBACK,
  HT_GROUP_TYPE, /* the block's tag or C++ class, else its function (retained only) */
} HtGroupBy;

typedef struct
{
  HtGroupBy by;
  gboolean cumulative;  /* count every frame of a stack, not only the innermost */
  gboolean allocations; /* every allocation of the run instead of the live blocks at `at` */
  const char *at;       /* snapshot label: "peak" (default) or "end" */
  gboolean untagged;    /* leave out blocks that carry a heaptrail_tag */
  gboolean temporary;   /* temporary allocations over the run instead of the live blocks */
  gboolean short_lived; /* short-lived allocations over the run (meta short_lived_ms) */
  /* retained size in the heap graph at `at` (default: the end's, else the latest one):
   * what freeing the group's blocks would free; count is the group's blocks */
  gboolean retained;
  /* recursion folded: where a function calls itself again (directly or through others),
   * the stack goes back to its first call, so a 40-deep recursion is one frame */
  gboolean fold_recursion;
  /* leaks: memcheck's leak heuristics to apply (HT_HEUR_*) when `heuristics_given`; else
   * the recording's classes, which apply all of them, as valgrind does by default */
  gboolean heuristics_given;
  guint heuristics;
  /* tracemalloc's Filter: globs on the source file or module (the full path, or its base
   * name when the glob has no '/') of a stack's innermost frame, the one that called the
   * allocator.  NULL-terminated, or NULL.  A stack passes when it matches an include (if
   * any are given) and no exclude. */
  const char *const *include;
  const char *const *exclude;
  /* a time range, in seconds from the start: only the allocations made between them count
   * (with `at`, those of them live at the peak or the end), summed over the time buckets
   * written at import that the range overlaps (ht_query_time_range says which span that
   * is); the whole run when time_to_s <= time_from_s */
  double time_from_s, time_to_s;
} HtTopOptions;

/* The span the time buckets overlapping [from, to] cover (seconds from the start), and the
 * width of a bucket; FALSE if no bucket does (the range lies after the end) or the database
 * has none. */
gboolean ht_query_time_range (HtDb *db, double from, double to, double *span_from,
                              double *span_to, double *bucket_s, GError **error);

typedef struct
{
  char *function; /* never NULL: "module+0xoffset" when unknown */
  char *file;     /* NULL without debug info */
  guint line;
  char *module;   /* path of the object the code is in; NULL when unknown */
} HtLocation;

typedef struct
{
  char *key;            /* what the group is: "file.c:12", "function", "file.c" */
  char *match;          /* what identifies it across recordings (for a traceback, its frames) */
  guint64 size;
  guint64 count;
  GPtrArray *traceback; /* HtLocation*, innermost first: the group's (first) stack */
  gint reach;           /* leaks with a heap graph: its HtReach; else -1 */
} HtStat;

/* One group of Snapshot.compare_to(): B's figures and their change since A. */
typedef struct
{
  HtStat *stat; /* B's (size and count 0 when the group is gone in B) */
  gint64 size_diff;
  gint64 count_diff;
} HtStatDiff;

/* tracemalloc's compare_to: groups of snapshot `a` in `db_a` against those of `b` in
 * `db_b` (the same database for two snapshots of one run), matched by location, never by
 * internal ids, so two builds of a program compare.  Sorted like tracemalloc: by the
 * absolute size difference, then size, count difference, count.  Returns HtStatDiff*. */
GPtrArray *ht_query_diff (HtDb *db_a, const char *a, HtDb *db_b, const char *b,
                          const HtTopOptions *options, GError **error);

typedef struct
{
  gint64 id;
  char *label;
  char *kind; /* snapshot, peak, end */
  double time_s;
  gint64 heap_bytes, heap_blocks;
} HtSnapshotInfo;

typedef struct
{
  char *type;
  gint64 count_a, count_b, bytes_a, bytes_b;
} HtGrowth;

/* objgraph's show_growth between snapshots a and b: live blocks per type, where a block's
 * type is its heaptrail_tag, else the function that allocated it.  Sorted by the change in
 * count, growth first (HtGrowth*).  `filters` (may be NULL) applies --include / --exclude
 * to the untagged blocks (tagged ones are counted per type, without their stacks). */
GPtrArray *ht_query_growth (HtDb *db, const char *a, const char *b, const HtTopOptions *filters,
                            GError **error);

typedef struct
{
  gint64 min_size, max_size, count, bytes;
} HtSizeBucket;

/* Allocations over the run by size, powers of two (HtSizeBucket, in a GArray). */
GArray *ht_query_size_histogram (HtDb *db, GError **error);

typedef struct
{
  gint64 tid, allocations, bytes, temporary, frees;
} HtThreadStats;

/* Each thread's allocations, bytes, temporary allocations and frees (HtThreadStats in a
 * GArray, most allocations first). */
GArray *ht_query_threads (HtDb *db, GError **error);

/* Every snapshot of a recording, in time order (HtSnapshotInfo*). */
GPtrArray *ht_query_snapshots (HtDb *db, GError **error);

/* The label of the snapshot `at` names: "peak", "end", a label, or a time ("1.5s", the
 * latest snapshot at or before it).  NULL with HT_DB_ERROR_NOT_FOUND when there is none. */
char *ht_query_resolve_at (HtDb *db, const char *at, GError **error);

/* Groups like tracemalloc's Snapshot.statistics(): sorted by size, then count, largest
 * first.  Returns HtStat* (free with g_ptr_array_unref). */
GPtrArray *ht_query_top (HtDb *db, const HtTopOptions *options, GError **error);

/* The heap graph of a snapshot (record --graph). */
typedef struct
{
  gint64 snapshot_id;
  char *label;
  double time_s;
  gint64 blocks, bytes, edges, root_words, heap_scanned, root_scanned;
  gint64 threads_stopped, threads_missed, flags;
  double scan_s; /* the recorder's time for the scan, threads stopped */
} HtGraphInfo;

/* The graph at snapshot `at`, or with `at` NULL the one at the end (else the latest).
 * HT_DB_ERROR_NOT_FOUND, saying how to get one, when there is none. */
gboolean ht_query_graph_info (HtDb *db, const char *at, HtGraphInfo *out, GError **error);
void ht_graph_info_clear (HtGraphInfo *info);
/* The labels of the snapshots that have a heap graph, in time order (NULL-terminated). */
GStrv ht_query_graph_labels (HtDb *db);

/* The live blocks of a snapshot's graph a page at a time, largest retained size first, for
 * lists that show millions of them as they scroll.  One prepared, indexed query. */
typedef struct _HtBlockPages HtBlockPages;
typedef struct
{
  guint64 address, size, retained;
  int reach;      /* HtReach */
  char *type;     /* a C++ or Python class, or NULL */
  gint64 trace_id;
} HtGraphBlock;
HtBlockPages *ht_block_pages_new (HtDb *db, gint64 snapshot_id, GError **error);
/* Up to `limit` blocks from the `offset`-th on (HtGraphBlock, cleared with the array). */
GArray *ht_block_pages_read (HtBlockPages *pages, guint offset, guint limit);
void ht_block_pages_free (HtBlockPages *pages);

typedef struct
{
  char *exe;
  char *command_line;
  gint64 pid;
  double duration_s;
  gint64 allocations, frees, allocated_bytes, temporary, unmatched_frees, short_lived;
  double short_lived_ms;
  gint64 peak_heap_bytes, peak_heap_blocks;
  double peak_time_s;
  gint64 peak_rss_bytes;
  gint64 not_freed_bytes, not_freed_blocks;   /* every block left at the end */
  gint64 leaked_bytes, leaked_blocks;         /* of those, the program's own */
  gint64 suppressed_bytes, suppressed_blocks; /* and the runtime's (built-in suppressions) */
  gint64 recorder_peak_bytes;
  double recorder_time_s; /* time the recorder took, summed over threads (estimated) */
  gint64 threads, lost_events;
  gboolean complete;
  char *end_reason; /* exit, exec, abort, _exit, SIGSEGV ..., incomplete */
  char *exec_chain; /* the programs the process ran, when it executed others: "sh → python3" */
  gint64 exec_released_blocks, exec_released_bytes; /* blocks an exec took away */
  gint64 sample_bytes;        /* record --sample: one allocation per this many bytes, or 0 */
  gint64 sampled_allocations; /* allocations the log holds (all of them when not sampled) */
  gint64 counted_allocations, counted_bytes; /* --sample (format 8 on): every allocation,
                                                counted by the recorder; 0 when not known */
  gboolean attached;          /* heaptrail attach: the process ran before the recording */
  char *warning;
} HtSummary;

gboolean ht_query_summary (HtDb *db, HtSummary *out, GError **error);
void ht_summary_clear (HtSummary *s);

typedef struct _HtSuppressions HtSuppressions; /* ht-suppressions.h */

/* What one suppression rule hid. */
typedef struct
{
  char *reason; /* "stdio buffers (glibc)", or "FILE: leak:PATTERN" */
  guint64 bytes, blocks;
} HtSuppressed;

typedef struct
{
  GPtrArray *leaks;  /* HtStat*, grouped by traceback (and class), largest first */
  guint64 bytes, blocks;                     /* reported */
  guint64 suppressed_bytes, suppressed_blocks;
  GArray *suppressed;  /* HtSuppressed, by rule, largest first */
  gboolean classified; /* the recording has a heap graph at exit: reach is set */
  guint64 class_bytes[4], class_blocks[4]; /* by HtReach, suppressed ones left out */
} HtLeaks;

/* Blocks not freed at the end of the recording, grouped by stack, minus the suppressed;
 * `filters` (may be NULL) supplies --include / --exclude, the heuristics and a time range
 * (only the blocks allocated in it).  With a heap graph taken at exit
 * (record --graph) every group is of one memcheck class, definitely lost first. */
gboolean ht_query_leaks (HtDb *db, HtSuppressions *suppressions, const HtTopOptions *filters,
                         HtLeaks *out, GError **error);
void ht_leaks_clear (HtLeaks *leaks);

typedef struct
{
  double time_s;
  gint64 heap_bytes, rss_bytes;
} HtTimePoint;

/* The heap and RSS every 10 ms (HtTimePoint, in a GArray, in time order). */
GArray *ht_query_timeline (HtDb *db, GError **error);

/* A call tree: top-down (callers first, from main down) or bottom-up (allocating functions
 * first, then who called them), over the traces options select (the same rows as
 * ht_query_top: live at `at`, allocations, temporary, short-lived; filters apply).  With
 * options->by HT_GROUP_FUNCTION a node is a function (a flame graph's frames), else a
 * source line. */
typedef struct _HtCallNode HtCallNode;
struct _HtCallNode
{
  const HtLocation *location; /* NULL for the root; owned by the tree */
  guint64 self_bytes, self_count;   /* of traces ending here */
  guint64 total_bytes, total_count; /* of every trace through here */
  GPtrArray *children;              /* HtCallNode*, largest first */
  HtCallNode *parent;
  GHashTable *locations; /* the root's: keeps the shared locations alive */
  GHashTable *index;     /* while building: children by key, once there are many */
};

HtCallNode *ht_query_call_tree (HtDb *db, const HtTopOptions *options, gboolean bottom_up,
                                GError **error);
void ht_call_node_free (HtCallNode *root);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HtCallNode, ht_call_node_free)

/* Names for the traces of a recording: each trace's key frame (the location `top --by
 * line` groups it under) and its traceback.  Loads every location once. */
typedef struct _HtTraceNames HtTraceNames;

HtTraceNames *ht_trace_names_new (HtDb *db, GError **error);
void ht_trace_names_free (HtTraceNames *self);
const HtLocation *ht_trace_names_site (HtTraceNames *self, gint64 trace); /* NULL: unknown */
GPtrArray *ht_trace_names_traceback (HtTraceNames *self, gint64 trace);  /* HtLocation* */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HtTraceNames, ht_trace_names_free)

/* A source path as users want to read it: relative to the current directory when inside
 * it, else as recorded. */
char *ht_display_path (const char *file);
/* A group's key ("/src/proj/a.c:12", "/src/proj/a.c" or a function) with its source path
 * cut to the shortest trailing part no other source file of the recording ends with
 * ("a.c:12", "proj/util.c:3" when another util.c is recorded too): what the windows show,
 * elided in the middle when still too long. */
char *ht_query_display_key (HtDb *db, const char *key);

/* "file:line" (or the function when there is no file) */
char *ht_location_format (const HtLocation *loc);

G_END_DECLS
