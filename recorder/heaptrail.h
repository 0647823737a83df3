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

#define HEAPTRAIL_API_VERSION 1

/* Entry points of libheaptrail.so; call the heaptrail_* wrappers instead. */
extern void heaptrail_rec_pause (void) __attribute__ ((weak));
extern void heaptrail_rec_resume (void) __attribute__ ((weak));
extern int heaptrail_rec_is_recording (void) __attribute__ ((weak));

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
