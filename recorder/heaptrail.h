/* heaptrail.h - what a program can tell the heaptrail recorder.
 *
 * A program built with this header needs no library to link: the recorder's entry points
 * are weak references, and the inline functions below call them only when the recorder is
 * loaded (under `heaptrail record`, or with libheaptrail.so in LD_PRELOAD).  Without it,
 * every call does nothing and the program runs unchanged.  `pkg-config --cflags heaptrail`.
 */
#ifndef HEAPTRAIL_H
#define HEAPTRAIL_H

#ifdef __cplusplus
extern "C" {
#endif

#define HEAPTRAIL_API_VERSION 2

/* heaptrail_tag only records the address: tell GCC the memory is not read, or it warns
 * about tagging a block before filling it. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#define HEAPTRAIL_ADDRESS_ONLY_(n) __attribute__ ((access (none, n)))
#else
#define HEAPTRAIL_ADDRESS_ONLY_(n)
#endif

/* Entry points of libheaptrail.so; call the heaptrail_* wrappers instead. */
extern void heaptrail_rec_pause (void) __attribute__ ((weak));
extern void heaptrail_rec_resume (void) __attribute__ ((weak));
extern int heaptrail_rec_is_recording (void) __attribute__ ((weak));
extern void heaptrail_rec_snapshot (const char *label) __attribute__ ((weak));
extern void heaptrail_rec_tag (const void *ptr, const char *type) __attribute__ ((weak))
HEAPTRAIL_ADDRESS_ONLY_ (1);

/* Names the type of the block at PTR (as returned by malloc & co), like objgraph's type
 * names: `heaptrail growth` counts live blocks per type between snapshots.  Untagged
 * blocks count under the function that allocated them.  A tag lasts until the block is
 * freed or reallocated.  Type names longer than 255 bytes are cut. */
HEAPTRAIL_ADDRESS_ONLY_ (1) static inline void
heaptrail_tag (const void *ptr, const char *type)
{
  if (heaptrail_rec_tag)
    heaptrail_rec_tag (ptr, type);
}

/* Takes a snapshot of the live heap, like tracemalloc.take_snapshot(): the analyzer can
 * then report it (`heaptrail top REC --at LABEL`) and compare two of them
 * (`heaptrail diff REC A B`).  Labels longer than 255 bytes are cut. */
static inline void
heaptrail_snapshot (const char *label)
{
  if (heaptrail_rec_snapshot)
    heaptrail_rec_snapshot (label);
}

/* HEAPTRAIL_SCOPE ("parse") { ... } takes the snapshots "parse:before" and "parse:after"
 * around the block (the C counterpart of a decorator); `heaptrail diff REC parse:before
 * parse:after` shows what the block left behind.  LABEL must be a string literal.  Leaving
 * the block with break, goto or return skips the second snapshot. */
#define HEAPTRAIL_SCOPE(label)                                                               \
  for (int heaptrail_scope_once_ = (heaptrail_snapshot (label ":before"), 1);               \
       heaptrail_scope_once_; heaptrail_scope_once_ = (heaptrail_snapshot (label ":after"), 0))

/* Stops recording allocations, in every thread, until the matching heaptrail_resume().
 * Frees are still recorded, so blocks allocated before the pause are not reported as
 * leaked.  Pauses nest. */
static inline void
heaptrail_pause (void)
{
  if (heaptrail_rec_pause)
    heaptrail_rec_pause ();
}

static inline void
heaptrail_resume (void)
{
  if (heaptrail_rec_resume)
    heaptrail_rec_resume ();
}

/* Nonzero when the recorder is loaded and recording. */
static inline int
heaptrail_is_recording (void)
{
  return heaptrail_rec_is_recording ? heaptrail_rec_is_recording () : 0;
}

#ifdef __cplusplus
}
#endif

#endif /* HEAPTRAIL_H */
