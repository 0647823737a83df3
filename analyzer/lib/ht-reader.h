/* ht-reader.h - reads a heaptrail log and yields its events in global stamp order. */
#pragma once

#include <glib.h>

#include "ht-format.h"

G_BEGIN_DECLS

typedef struct _HtReader HtReader;

typedef struct
{
  guint32 pid, ppid;
  guint clock;        /* HT_CLOCK_* */
  guint stamp_shift;  /* stamps are the clock's value >> stamp_shift */
  guint max_frames;
  guint64 start_unix_ns;
  guint64 start_stamp;
  gboolean attached;  /* heaptrail attach: the process ran before the recording began */
  char *exe;          /* executable path, as the recorder saw it */
  GStrv argv;         /* command line */
} HtLogInfo;

typedef struct
{
  char *path;
  guint64 bias;
  char *build_id;   /* lowercase hex, "" when none */
  guint nsegments;
  guint64 *segments; /* nsegments x (start, size), unbiased */
} HtModuleInfo;

typedef struct
{
  HtRecordTag tag;
  guint32 stream;
  guint64 stamp;
  union
  {
    struct { guint64 ptr, size; guint32 node; } alloc;      /* ALLOC */
    struct { guint64 ptr; } free;                          /* FREE, UNFREE */
    struct { guint32 id, parent; guint64 ip; } node;       /* TRACE_NODE */
    struct { guint64 tid; } thread;                        /* THREAD */
    struct { guint64 mono_ns, rss, recorder, recorder_time; } sample; /* SAMPLE */
    struct { gboolean new_map; HtModuleInfo *info; } module; /* MODULE; info owned by the event */
    struct { guint64 reason; } end;                        /* END */
    struct { guint64 count; } lost;                        /* LOST */
    struct { guint64 mean; } sampling;                     /* SAMPLING: --sample's bytes */
    struct { guint64 calls, bytes; } counted;              /* COUNTED: --sample's exact counts */
    /* FRAMES: owned by the event; functions[i], files[i], lines[i], innermost first */
    struct { guint64 ip; char *module; guint count; char **functions, **files;
             guint *lines; } frames;
    struct { char *label; } snapshot; /* SNAPSHOT; label owned by the event (g_free) */
    struct { guint32 pid; char *exe; GStrv argv; } image; /* IMAGE; strings owned by the event */
    /* CODE: a Python code object; strings and table owned by the event */
    struct { guint32 id; guint32 version, first_line; char *filename, *qualname;
             GBytes *linetable; } code;
    struct { guint64 ptr; char *type; } typetag; /* TAG; type owned by the event (g_free) */
    struct { guint64 ptr, size, word, gc_head; } block; /* BLOCK: a live block and its first
                                    word; PYBLOCK: word is its Python type, gc_head where its
                                    GC header lies */
    struct { guint64 type; char *name; } pytype; /* PYTYPE; name owned by the event */
    struct { char *text; } suppressions; /* SUPPRESSIONS; text owned by the event */
    /* EDGES: `count` x (word index in the source block, target block, offset in target);
     * ROOTS: the same with word indexes from `base`; blocks are numbers within the scan.
     * `items` is owned by the event. */
    struct { guint64 source; guint count; guint64 *items; } edges;
    struct { guint kind; guint64 tid, base; guint count; guint64 *items; } roots;
    struct { guint64 blocks, edges, root_words, heap_bytes, root_bytes, stopped, missed,
             duration_ns, flags; } scan;
  };
} HtEvent;

/* Frees what an event owns (module info, label, type, edge and root lists). */
void ht_event_clear (HtEvent *event);

HtReader *ht_reader_open (const char *path, GError **error);
void ht_reader_free (HtReader *reader);
const HtLogInfo *ht_reader_info (HtReader *reader);

/* Next event in stamp order.  Returns FALSE at the end (error unset) or on a corrupt log
 * (error set).  Events hand what they own to the caller: ht_event_clear() frees it. */
gboolean ht_reader_next (HtReader *reader, HtEvent *event, GError **error);

/* Progress: bytes consumed and total. */
guint64 ht_reader_offset (HtReader *reader);
guint64 ht_reader_size (HtReader *reader);

/* NULL, or why the log ended early ("truncated at byte N of M: ..."); set once the last
 * event was returned. */
const char *ht_reader_warning (HtReader *reader);

void ht_module_info_free (HtModuleInfo *info);

gboolean ht_log_looks_like_log (const char *path);

/* The stamp of the last control record a log holds (its end, or its last sample when the
 * program was killed), found without reading the whole log: chunk headers are walked and
 * only the last control chunk is decoded.  0 when there is none. */
guint64 ht_reader_last_stamp (HtReader *reader);

/* Nanoseconds per stamp unit, from the header's start and the last SAMPLE of the log
 * (found like ht_reader_last_stamp); 0 when the log is too short to tell. */
double ht_reader_ns_per_stamp (HtReader *reader);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HtReader, ht_reader_free)

G_END_DECLS
