/* log-writer.h - logs for the analyzer's tests, written with the recorder's encoder
 * (log-writer.c): a file header, then chunks of one stream's records each. */
#pragma once

#include <glib.h>

#include "ht-encoder.h"

typedef struct
{
  GByteArray *file;
  GByteArray *chunk;
  guint32 stream;
  guint64 base;
  HtEncoder *enc; /* the recorder's encoder */
  HtEncoderColumns cols;
  gboolean keep;  /* the encoder (and its pointer state) goes on to the next chunk */
  guint32 flags;  /* the current chunk's flags */
} Writer;

void put_varint (GByteArray *b, guint64 v);
/* The file header: pid 4242, /bin/prog, CLOCK_MONOTONIC stamps from 1000. */
void writer_header (Writer *w);
void chunk_begin (Writer *w, guint32 stream, guint64 base);
/* The columns follow the row (ht_encoder_finish): the chunk's payload is complete. */
void chunk_finish (Writer *w);
void chunk_end (Writer *w);
/* Room for one record at the chunk's end; rec_done() keeps what the encoder wrote. */
guint8 *rec_room (Writer *w);
guint8 rec_done (Writer *w, const guint8 *end);
void rec_stamp (Writer *w, guint8 tag, guint64 stamp);
/* Each returns the record's first byte: its tag, which says the form the encoder chose. */
guint8 rec_alloc (Writer *w, guint64 stamp, guint64 ptr, guint64 size, guint32 node);
guint8 rec_free (Writer *w, guint64 stamp, guint64 ptr);
/* Thread 777 starts, and names trace node 1: one frame in /bin/prog. */
void rec_thread_and_node (Writer *w, guint64 thread_stamp, guint64 node_stamp);
/* `data` in a new temporary file: its path. */
char *write_temp (const guint8 *data, gsize len);
