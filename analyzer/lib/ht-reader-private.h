/* ht-reader-private.h - what ht-reader.c (the merge) and ht-reader-decode.c share. */
#pragma once

#include "ht-reader.h"

G_BEGIN_DECLS

/* An ALLOC among a stream's last HT_AGE_WINDOW ones, for FREE_AGE. */
typedef struct
{
  guint64 ptr;
  guint64 cls; /* its reuse class */
} HtAllocSeen;

/* A stream's pointer state (ht-format.h): what its chunks name pointers by. */
typedef struct
{
  guint64 last_ptr;
  guint64 allocs;  /* ALLOCs since the state started */
  guint64 next_ptr; /* where the previous ALLOC's chunk ends */
  GArray *ring;    /* HtAllocSeen: grows to HT_AGE_WINDOW, then ALLOC k is at (k - 1) % it */
  guint64 frees;   /* FREEs since the state started */
  guint64 *freed;  /* HT_FREED_WINDOW pointers, FREE k's at (k - 1) % it; NULL until one */
  HtLiveWindow *live; /* format 9: which ALLOCs of the ring are live; NULL until one */
  guint version;     /* of the log; 0 until the state first started */
  guint64 recent[HT_RECENT_SLOTS];
  HtReuseStacks reuse;
} HtPtrState;

/* A queued event, 32 bytes: ALLOC, FREE and UNFREE (nearly all of a log) as they are, any
 * other kind as its HtEvent, allocated and owned by the queue.  Between two SYNC marks the
 * reader holds every stream's events: an HtEvent each (88 bytes) made an import of four
 * busy threads 2.5 times larger. */
typedef struct
{
  guint64 stamp;
  guint64 ptr; /* ALLOC, FREE, UNFREE: the block; any other: (HtEvent *) */
  guint64 size; /* ALLOC */
  guint32 node; /* ALLOC */
  guint8 tag;
} HtQueued;

G_GNUC_INTERNAL void ht_queued_push (GArray *queue, HtEvent *e);
/* The event, the queue's copy given up (`stream` the queue's): the entry is then behind
 * the queue's head, never read or cleared again. */
G_GNUC_INTERNAL void ht_queued_take (HtQueued *q, guint32 stream, HtEvent *out);
G_GNUC_INTERNAL void ht_queued_clear (HtQueued *q);

typedef struct
{
  guint32 id;
  HtPtrState ptrs;
  GArray *events; /* HtQueued */
  guint head;
  guint64 last_stamp;
  int heap_pos; /* index in the heap, -1 when not in it */
} HtStream;

/* Decodes a complete chunk payload of stream `s` into its queue (SYNC moves *watermark and
 * is not queued).  `version`: the log's format. */
G_GNUC_INTERNAL gboolean ht_stream_decode (HtStream *s, guint version, const HtChunkHeader *h,
                                           const guint8 *payload, gsize chunk_offset,
                                           guint64 *watermark, GError **error);
/* A command line's NUL-separated arguments. */
G_GNUC_INTERNAL GStrv split_cmdline (const char *cmd, gsize len);

G_END_DECLS
