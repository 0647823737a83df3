/* ht-rec-private.h - what the recorder's files share.
 *
 * ht-rec-hooks.c  the interposed allocation functions; knows nothing of the log
 * ht-rec-events.c what an allocation, a free, a failed realloc or a tag writes (hot path)
 * ht-rec-lifecycle.c when the recording starts and ends: constructor, fork, exit, signals
 * ht-rec-attach.c  heaptrail attach: GOT entries of a running process pointed at the hooks
 * ht-rec-file.c   the log file: opened, header written, chunks appended
 * ht-rec-stream.c per-thread record buffers and the control stream; ht-encoder.h encodes
 * ht-rec-threads.c the thread registry (one stream and stack cache per thread)
 * ht-rec-sampler.c the recorder's 10 ms ticks: samples, flushes, snapshot requests
 * ht-rec-sampling.c record --sample: which allocations are recorded, and their frees
 * ht-rec-trace.c  stack capture, the trace tree, the module map
 * ht-rec-unwind.c native stacks: libunwind, and the slots that let a stack be reused
 * ht-rec-live.c   the live-block table of --graph, kept by the log's writer
 * ht-rec-scan.c   the heap scan of --graph, at snapshots and at exit
 * ht-rec-zstd.c   chunk compression with libzstd (linked in statically)
 * ht-rec-process.c hooks on exec, _exit, abort, dlclose and on calls that could close or
 *                 take over the log's file descriptor
 * ht-rec-signals.c the recorder's signal handlers (fatal signals' end mark, SIGUSR2), and
 *                 sigaction/signal interposed so that the program never sees them
 * ht-rec-env.c    the program's environment given back; the one an exec'd image gets
 * ht-rec-python.c CPython: PYTHONMALLOC, Python frames, Python types for --graph
 * ht-rec-clock.c  the stamps' clock; ht-rec-mem.c the recorder's mmap'd memory;
 * ht-rec-program.c the program's path, arguments and own suppressions
 * ht-rec-world.c  stopping the other threads for a scan; the process's mappings
 * ht-rec-tracer.c stopping them with ptrace instead, where allowed (no handler runs)
 *
 * The hooks talk to the engine only through ht_rec_on_alloc / ht_rec_on_free /
 * ht_rec_on_unfree, each called with the thread's recursion guard already held.
 */
#pragma once

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ht-encoder.h"
#include "ht-format.h"

#define HT_REC_HIDDEN __attribute__ ((visibility ("hidden")))
#define HT_REC_LIKELY(x) __builtin_expect (!!(x), 1)
#define HT_REC_UNLIKELY(x) __builtin_expect (!!(x), 0)

#define HT_REC_MAX_FRAMES 255
#define HT_REC_BUFFER_SIZE (256u * 1024u) /* bytes of raw entries per stream buffer */
#define HT_REC_TRACE_CACHE 4096          /* per-thread (parent, ip) -> node cache slots */
#define HT_REC_TIMING_EVERY 256          /* one event in 256 measures the recorder's cost */

/* One output stream: a thread's, the control stream, or the shared stream of threads
 * that already ran their exit destructor.  `lock` is uncontended except when the
 * sampler flushes, so the hot path pays one atomic exchange. */
typedef struct HtRecStream
{
  atomic_int lock;     /* between writers that are not the owner (see ht-rec-stream.c) */
  _Atomic int busy;    /* the owning thread is writing to it */
  _Atomic int flush_request; /* another thread wants it: the owner waits */
  bool owned;          /* a thread's own stream (not the control or the shared one) */
  uint32_t id;
  uint64_t last_stamp; /* the stamp of the stream's latest record */
  size_t len;          /* bytes of raw entries in buf, after the header's room */
  uint32_t tick;       /* events seen; every 256th is timed */
  uint32_t solo_run;   /* exact stamps in a row since this stream last saw another writer */
  bool busy_clock;     /* solo, its last clock reading was within HT_SOLO_STAMP_UNITS of the
                          stamp before: the next events may skip reading (ht_rec_event_stamp) */
  _Atomic uint64_t spent; /* estimated stamp units spent recording this stream's events */
  struct HtRecStream *next;
  uint8_t *buf; /* room for a chunk header, then HT_REC_BUFFER_SIZE bytes of raw entries */
  /* the stream's encoder: only the writer of the queue uses it, on its own cache lines so
   * that the writer's stores do not slow down the owner's */
  _Alignas (64) HtEncoder enc;
  uint64_t live_stamp; /* with --graph, the writer's: the stream's latest stamp replayed (a
                          stream never goes back in time) */
  uint64_t live_freed_size; /* ... and the size of the block its latest FREE freed */
} HtRecStream;

/* What a stream's buffer holds: raw entries, 8-byte aligned, each a header and the row bytes
 * of its record (aux of them, padded to 8), which the writer of the queue encodes
 * (ht-encoder.h) and compresses on its own thread (the keeper).  The program's thread only
 * stores. */
enum
{
  HT_RAW_ALLOC = 1,  /* ALLOC: stamp, ptr, size, node in aux; no row bytes */
  HT_RAW_PTR = 2,    /* a record with a pointer (FREE, UNFREE, TAG): stamp, ptr, row bytes */
  HT_RAW_RECORD = 3, /* any other record: stamp, row bytes */
};

typedef struct
{
  uint8_t kind;   /* HT_RAW_* */
  uint8_t tag;    /* the record's tag (HT_RAW_PTR, HT_RAW_RECORD) */
  uint16_t unused;
  uint32_t aux;   /* ALLOC: the trace node; otherwise bytes of row that follow the header */
  uint64_t stamp;
  uint64_t ptr;   /* ALLOC and HT_RAW_PTR only: a RECORD's row starts here */
  uint64_t size;  /* ALLOC only: a PTR's row starts here */
} HtRawEntry;

#define HT_RAW_ALLOC_BYTES 32
#define HT_RAW_PTR_HEAD 24
#define HT_RAW_RECORD_HEAD 16
#define HT_RAW_PAD(n) (((n) + 7) & ~(size_t) 7)

typedef struct
{
  uint32_t parent;
  uint32_t node;
  uintptr_t ip;
} HtRecTraceSlot;

/* A Python code object's id, and what identifies the object (ht-rec-python.c). */
typedef struct
{
  uintptr_t code, linetable, filename, qualname;
  uint32_t id;
} HtRecPyCode;

#define HT_REC_PY_CACHE 256 /* per-thread code object cache slots */

/* A Python frame at an instruction, as a thread's capture met it lately, and what it
 * recorded of it (ht-rec-python.c). */
typedef struct
{
  uintptr_t frame, code, instr, linetable;
  uintptr_t pseudo; /* its pseudo return address: HT_FRAME_PYTHON, code id, offset */
  uint8_t owner;
} HtRecPyFrame;

#define HT_REC_PY_FRAMES_BITS 5 /* per-thread sets of frames kept: 32 of 2, by a hash of
                                    frame and instr */

/* A confirmed frame size (ht-rec-unwind.c), in a thread's cache of them. */
typedef struct
{
  uintptr_t ip;
  uint32_t size;
} HtRecFrameSize;

#define HT_REC_SIZE_CACHE 512 /* per-thread frame size cache slots */

/* A step of a walk up the native stack (ht-rec-unwind.c): the return address `ip` found
 * at `slot` puts its caller's at `next`.  A thread keeps the steps it took lately in a
 * small table, which the next walks through the same frames find without a lookup. */
typedef struct
{
  uintptr_t slot, ip, next;
} HtRecStep;

#define HT_REC_STEPS 256 /* per-thread step slots, by a hash of (slot, ip) */

/* A stack seen lately, innermost frame first, and the trace node naming it
 * (ht-rec-trace.c); two cache lines. */
#define HT_REC_MEMO_FRAMES 15
typedef struct
{
  uint32_t node; /* 0: empty */
  uint32_t depth;
  uintptr_t ips[HT_REC_MEMO_FRAMES];
} HtRecStackMemo;

#define HT_REC_MEMO 64 /* per-thread stacks remembered with their nodes */

/* What the hooks read and write on every call, in one thread-local block: its offset from
 * the thread pointer is loaded once a hook (one GOT entry), not once a variable. */
typedef struct
{
  /* the recursion guard: 0 when free, else held, and then either 1 or the address of the
   * slot holding the hook's return address into the program (ht-rec-hooks.c) */
  uintptr_t guard;
  /* record --sample (ht-rec-sampling.c): bytes to the next recorded allocation, counted
   * down; its value when this countdown started; the allocations and the bytes before this
   * countdown that the thread made since it last wrote COUNTED.  The bytes counted are
   * sample_bytes + sample_start - sample_left: the countdown counts them, one subtraction. */
  int64_t sample_left;
  int64_t sample_start;
  uint64_t sample_calls;
  uint64_t sample_bytes;
} HtRecHot;

/* record --sample: allocations and bytes counted, recorded or not. */
typedef struct
{
  uint64_t calls, bytes;
} HtRecCounted;

static inline HtRecCounted
ht_rec_hot_counted (const volatile HtRecHot *h)
{
  return (HtRecCounted){ h->sample_calls,
                         h->sample_bytes + (uint64_t) (h->sample_start - h->sample_left) };
}

/* Per-thread state, mmap'd on the thread's first recorded event. */
typedef struct HtRecThread
{
  HtRecStream stream;
  /* what every capture reads, together, before the larger caches */
  struct HtRecThread *next_free;
  int depth;                /* frames in prev_ips */
  uint32_t generation;      /* trace tree generation the caches belong to */
  int nat_n;                /* frames in nat_ips (0: none kept) */
  int nat_kept;             /* outer frames the last ht_rec_unwind kept from the one before */
  bool plain;               /* prev_ips holds the last native stack as ht_rec_unwind gave it */
  uint32_t sizes_epoch;     /* ht-rec-unwind.c's, when sizes and steps were right */
  uintptr_t stack_top;      /* 0 not known yet, 1 unknown */
  uintptr_t self;           /* pthread_self () of the thread it serves */
  volatile HtRecHot *hot;   /* its thread's ht_rec_hot */
  HtRecStep steps[HT_REC_STEPS];                /* steps taken lately */
  HtRecPyFrame pyframes[2 << HT_REC_PY_FRAMES_BITS]; /* Python frames met lately */
  uintptr_t prev_ips[HT_REC_MAX_FRAMES + 1];    /* last stack, outermost first */
  uint32_t prev_nodes[HT_REC_MAX_FRAMES + 1];
  HtRecStackMemo memo[HT_REC_MEMO];             /* stacks seen lately, by a hash of them */
  HtRecFrameSize sizes[HT_REC_SIZE_CACHE];      /* confirmed frame sizes, recently used */
  HtRecPyCode pycodes[HT_REC_PY_CACHE];
  HtRecTraceSlot cache[HT_REC_TRACE_CACHE];
  uintptr_t nat_ips[HT_REC_MAX_FRAMES + 16];    /* last native stack, outermost first */
  uintptr_t nat_slots[HT_REC_MAX_FRAMES + 16];  /* where each return address lay */
} HtRecThread;

typedef enum
{
  HT_REC_OFF = 0,    /* not started, disabled, failed, or finished: hooks pass through */
  HT_REC_ON = 1,     /* recording */
} HtRecState;

extern HT_REC_HIDDEN _Atomic int ht_rec_state;
/* Pauses and --sample in one word, so that the sampled hooks read both in one test:
 * HT_REC_MODE_SAMPLE is set once --sample's hooks may run (ht_rec_sampling_init), and each
 * heaptrail_rec_pause() not yet resumed adds HT_REC_MODE_PAUSE. */
extern HT_REC_HIDDEN _Atomic uintptr_t ht_rec_mode;
#define HT_REC_MODE_SAMPLE ((uintptr_t) 1)
#define HT_REC_MODE_PAUSE ((uintptr_t) 2)

static inline bool
ht_rec_is_paused (void)
{
  return atomic_load_explicit (&ht_rec_mode, memory_order_relaxed) >= HT_REC_MODE_PAUSE;
}

extern HT_REC_HIDDEN int ht_rec_max_frames;

/* ht-rec-hooks.c */
HT_REC_HIDDEN bool ht_rec_hooks_resolve (void);
HT_REC_HIDDEN bool ht_rec_guard_enter (void);
extern HT_REC_HIDDEN __thread HtRecHot ht_rec_hot __attribute__ ((tls_model ("initial-exec")));
HT_REC_HIDDEN void ht_rec_guard_leave (void);
HT_REC_HIDDEN void ht_rec_guard_forever (void);

/* ht-rec-attach.c, and lifecycle's part of it */
extern HT_REC_HIDDEN bool ht_rec_attached;
HT_REC_HIDDEN bool ht_rec_start_attached (const char *log);
HT_REC_HIDDEN void ht_rec_end_attached (void);
HT_REC_HIDDEN void ht_rec_attach_refresh (void);

/* ht-rec-lifecycle.c */
HT_REC_HIDDEN void ht_rec_init (void);
HT_REC_HIDDEN void ht_rec_before_leaving (uint64_t reason);
HT_REC_HIDDEN void ht_rec_before_dying (int sig);
HT_REC_HIDDEN bool ht_rec_follows_exec (void);
HT_REC_HIDDEN const char *const *ht_rec_continue_vars (void);

/* ht-rec-events.c */
HT_REC_HIDDEN void ht_rec_on_alloc (void *ptr, size_t size);
HT_REC_HIDDEN void ht_rec_on_alloc_counted (void *ptr, size_t size);
HT_REC_HIDDEN void ht_rec_on_free (void *ptr);
HT_REC_HIDDEN void ht_rec_on_unfree (void *ptr);
HT_REC_HIDDEN void ht_rec_on_tag (const void *ptr, const char *type);

/* ht-rec-sampling.c */
extern HT_REC_HIDDEN uint64_t ht_rec_sample_mean;
extern HT_REC_HIDDEN _Atomic uintptr_t ht_rec_sample_filter;
HT_REC_HIDDEN bool ht_rec_sampling_init (uint64_t mean);
HT_REC_HIDDEN void ht_rec_sampling_put_counted (HtRecStream *s, uint64_t stamp);
HT_REC_HIDDEN void ht_rec_sampling_put_counted_all (void);
HT_REC_HIDDEN void ht_rec_sampling_forget_counted (void);
HT_REC_HIDDEN bool ht_rec_sampling_take (uintptr_t ptr, size_t size);
HT_REC_HIDDEN bool ht_rec_sampling_release (uintptr_t ptr);
HT_REC_HIDDEN bool ht_rec_sampling_unrelease (uintptr_t ptr);
HT_REC_HIDDEN void ht_rec_sampling_lock (void);
HT_REC_HIDDEN void ht_rec_sampling_unlock (void);

/* --sample's fast paths, taken by the hooks before anything else.
 *
 * The filter of recorded blocks is a bit a bucket, 4,096 buckets (512 bytes, 8 cache lines)
 * at first and four times as many each time the recorded blocks alive pass 1/32 of them, so
 * that it stays in the L1 cache of a program whose frees would otherwise miss it, and false
 * hits stay under 3%.  ht_rec_sample_filter holds the bitmap's address (page-aligned) and,
 * in its low bits, the shift that makes a hash a bucket: one load gives both. */
#define HT_REC_SAMPLE_FILTER_SHIFT_MASK UINT64_C (63)

static inline size_t
ht_rec_sample_bucket (uintptr_t ptr, unsigned shift)
{
  return (size_t) (((ptr >> 4) * UINT64_C (0x9E3779B97F4A7C15)) >> shift);
}

/* Counts an allocation down; true when it is not recorded (the common case).  Every
 * allocation that comes here is counted, so that the totals are exact (COUNTED): one
 * addition for the calls, and the countdown itself for the bytes. */
static inline bool
ht_rec_sampling_skips (size_t size)
{
  HtRecHot *h = &ht_rec_hot;
  h->sample_calls++;
  return HT_REC_LIKELY ((h->sample_left -= (int64_t) size) > 0); /* else sampling_take */
}

/* Takes back ht_rec_sampling_skips() for an allocation that failed (its countdown then
 * goes on), so that the totals count only the blocks the program got. */
static inline void
ht_rec_sampling_uncount (size_t size)
{
  HtRecHot *h = &ht_rec_hot;
  h->sample_calls--;
  h->sample_left += (int64_t) size;
}

/* False when ptr is certainly not a recorded block: its bucket's bit is clear.  The
 * acquire pairs with the filter's growth: a block recorded after it is in the new bitmap,
 * and whoever frees that block got it after the growth was published. */
static inline bool
ht_rec_sampling_may_hold (uintptr_t ptr)
{
  uintptr_t f = atomic_load_explicit (&ht_rec_sample_filter, memory_order_acquire);
  const _Atomic uint64_t *map = (const _Atomic uint64_t *) (f & ~(uintptr_t) 4095);
  size_t b = ht_rec_sample_bucket (ptr, (unsigned) (f & HT_REC_SAMPLE_FILTER_SHIFT_MASK));
  return (atomic_load_explicit (&map[b / 64], memory_order_relaxed) >> (b % 64)) & 1;
}

/* ht-rec-file.c */
HT_REC_HIDDEN void ht_rec_say (const char *msg);
HT_REC_HIDDEN void ht_rec_fail (const char *what, int err);
HT_REC_HIDDEN void ht_rec_close (int fd);
HT_REC_HIDDEN void ht_rec_file_set_dir (void);
HT_REC_HIDDEN const char *ht_rec_file_dir (void);
HT_REC_HIDDEN const char *ht_rec_file_path (void);
HT_REC_HIDDEN bool ht_rec_file_open (bool follow_exec, bool *continuing);
HT_REC_HIDDEN bool ht_rec_file_open_default (void);
HT_REC_HIDDEN bool ht_rec_file_open_path (const char *path);
HT_REC_HIDDEN void ht_rec_file_forget (void);
HT_REC_HIDDEN bool ht_rec_file_write_header (void);
HT_REC_HIDDEN bool ht_rec_file_write_image (void);
HT_REC_HIDDEN bool ht_rec_file_write (const void *data, size_t len);

HT_REC_HIDDEN void ht_rec_file_write_chunk (struct iovec *iov);
HT_REC_HIDDEN int ht_rec_log_fd (void);
HT_REC_HIDDEN void ht_rec_log_fd_move (void);

/* ht-rec-stream.c */
HT_REC_HIDDEN bool ht_rec_streams_init (uint32_t late_id);
HT_REC_HIDDEN void ht_rec_streams_asymmetric_init (void);
HT_REC_HIDDEN HtRecStream *ht_rec_control_stream (void);
HT_REC_HIDDEN HtRecStream *ht_rec_late_stream (void);
HT_REC_HIDDEN void ht_rec_stream_lock_remote (HtRecStream *s);
HT_REC_HIDDEN void ht_rec_stream_unlock_remote (HtRecStream *s);
HT_REC_HIDDEN void ht_rec_stream_wait_owner_turn (HtRecStream *s);
extern HT_REC_HIDDEN bool ht_rec_streams_asymmetric;
HT_REC_HIDDEN uint8_t *ht_rec_stream_reserve_full (HtRecStream *s, size_t need);

/* Room for `need` bytes; a full buffer joins the queue first.  Caller holds the lock. */
static inline uint8_t *
ht_rec_stream_reserve (HtRecStream *s, size_t need)
{
  if (HT_REC_UNLIKELY (s->len + need > HT_REC_BUFFER_SIZE))
    return ht_rec_stream_reserve_full (s, need);
  return s->buf + sizeof (HtChunkHeader) + s->len;
}
HT_REC_HIDDEN bool ht_rec_stream_init (HtRecStream *s);
HT_REC_HIDDEN unsigned ht_rec_stream_enqueue (HtRecStream *s);
HT_REC_HIDDEN void ht_rec_stream_flush (HtRecStream *s);
HT_REC_HIDDEN void ht_rec_streams_write (void);
HT_REC_HIDDEN void ht_rec_streams_write_some (unsigned max);
HT_REC_HIDDEN void ht_rec_streams_wait (uint64_t ns, _Atomic bool *stop);
HT_REC_HIDDEN void ht_rec_streams_wake (void);
HT_REC_HIDDEN void ht_rec_streams_sync_only (void);
HT_REC_HIDDEN void ht_rec_streams_lock (void);
HT_REC_HIDDEN void ht_rec_streams_unlock (bool child);
HT_REC_HIDDEN void ht_rec_stream_drop (HtRecStream *s);
HT_REC_HIDDEN uint8_t *ht_rec_record_begin (HtRecStream *s, uint8_t tag, uint64_t stamp,
                                           size_t need);
HT_REC_HIDDEN uint8_t *ht_rec_ptr_record_begin (HtRecStream *s, uint8_t tag, uint64_t stamp,
                                               uint64_t ptr, size_t need);
HT_REC_HIDDEN void ht_rec_record_end (HtRecStream *s, uint8_t *end);
HT_REC_HIDDEN void ht_rec_streams_reset_encoder (HtRecStream *s, uint64_t base_stamp);
HT_REC_HIDDEN void ht_rec_streams_with_queue (void (*fn) (void));
extern HT_REC_HIDDEN _Atomic uint32_t ht_rec_solo;
HT_REC_HIDDEN uint64_t ht_rec_event_stamp_shared (HtRecStream *s, uint32_t solo, uint64_t now);
HT_REC_HIDDEN void ht_rec_stream_put (HtRecStream *s, uint8_t tag, uint64_t stamp, int n,
                                      uint64_t a, uint64_t b);
HT_REC_HIDDEN void ht_rec_control_put_text (uint8_t tag, const char *text, size_t len);

extern HT_REC_HIDDEN __thread HtRecThread *ht_rec_tls_thread
  __attribute__ ((tls_model ("initial-exec")));

/* A stream is locked by its owning thread on every event: there the lock is a plain store
 * and a load (ht-rec-stream.c says why that is enough), anyone else takes the remote way. */
static inline bool
ht_rec_stream_is_mine (HtRecStream *s)
{
  return s->owned && ht_rec_streams_asymmetric && ht_rec_tls_thread
         && s == (HtRecStream *) ht_rec_tls_thread;
}

/* ht_rec_stream_lock when the caller knows whether the stream is its own (`mine`, as
 * ht_rec_stream_is_mine says), and must say the same to the unlock. */
static inline void
ht_rec_stream_lock_as (HtRecStream *s, bool mine)
{
  if (HT_REC_LIKELY (mine))
    {
      atomic_store_explicit (&s->busy, 1, memory_order_relaxed);
      atomic_signal_fence (memory_order_seq_cst);
      if (HT_REC_LIKELY (!atomic_load_explicit (&s->flush_request, memory_order_acquire)))
        return;
      ht_rec_stream_wait_owner_turn (s);
      return;
    }
  ht_rec_stream_lock_remote (s);
}

static inline void
ht_rec_stream_unlock_as (HtRecStream *s, bool mine)
{
  if (HT_REC_LIKELY (mine))
    {
      atomic_signal_fence (memory_order_seq_cst);
      atomic_store_explicit (&s->busy, 0, memory_order_release);
      return;
    }
  ht_rec_stream_unlock_remote (s);
}

static inline void
ht_rec_stream_lock (HtRecStream *s)
{
  ht_rec_stream_lock_as (s, ht_rec_stream_is_mine (s));
}

static inline void
ht_rec_stream_unlock (HtRecStream *s)
{
  ht_rec_stream_unlock_as (s, ht_rec_stream_is_mine (s));
}

/* An ALLOC, FREE or UNFREE, in the stream (its lock held). */
static inline void
ht_rec_raw_alloc (HtRecStream *s, uint64_t stamp, uint64_t ptr, uint64_t size, uint32_t node)
{
  HtRawEntry *r = (HtRawEntry *) ht_rec_stream_reserve (s, HT_RAW_ALLOC_BYTES);
  r->kind = HT_RAW_ALLOC;
  r->aux = node;
  r->stamp = stamp;
  r->ptr = ptr;
  r->size = size;
  s->len += HT_RAW_ALLOC_BYTES;
  s->last_stamp = stamp;
}

static inline void
ht_rec_raw_ptr (HtRecStream *s, uint8_t tag, uint64_t stamp, uint64_t ptr)
{
  HtRawEntry *r = (HtRawEntry *) ht_rec_stream_reserve (s, HT_RAW_PTR_HEAD);
  r->kind = HT_RAW_PTR;
  r->tag = tag;
  r->aux = 0;
  r->stamp = stamp;
  r->ptr = ptr;
  s->len += HT_RAW_PTR_HEAD;
  s->last_stamp = stamp;
}

/* ht-rec-threads.c */
HT_REC_HIDDEN pid_t ht_rec_gettid (void);
HT_REC_HIDDEN bool ht_rec_threads_init (uint32_t base);
HT_REC_HIDDEN uint32_t ht_rec_threads_new_stream_id (void);
HT_REC_HIDDEN uint32_t ht_rec_threads_next_stream_id (void);
HT_REC_HIDDEN HtRecStream *ht_rec_thread_stream_new (void);
extern HT_REC_HIDDEN _Atomic uint32_t ht_rec_threads_streams_given;

/* Whether a single stream has ever carried the program's events (ht-rec-live.c). */
static inline bool
ht_rec_threads_alone (void)
{
  return atomic_load_explicit (&ht_rec_threads_streams_given, memory_order_acquire) <= 1;
}

/* The calling thread's stream, created on its first event. */
static inline HtRecStream *
ht_rec_thread_stream (void)
{
  HtRecThread *t = ht_rec_tls_thread;
  if (HT_REC_LIKELY (t != NULL))
    return &t->stream;
  return ht_rec_thread_stream_new ();
}

/* The same, and in `mine` whether the thread owns it (ht_rec_stream_is_mine), which its
 * events then need not ask twice: a thread's own state holds its own stream. */
static inline HtRecStream *
ht_rec_thread_stream_as (bool *mine)
{
  HtRecThread *t = ht_rec_tls_thread;
  if (HT_REC_UNLIKELY (t == NULL))
    {
      HtRecStream *s = ht_rec_thread_stream_new ();
      *mine = ht_rec_stream_is_mine (s);
      return s;
    }
  *mine = t->stream.owned && ht_rec_streams_asymmetric;
  return &t->stream;
}
HT_REC_HIDDEN uint64_t ht_rec_threads_time (void);
HT_REC_HIDDEN void ht_rec_threads_add_time (uint64_t spent);
HT_REC_HIDDEN void ht_rec_flush_all (uint64_t before);
HT_REC_HIDDEN void ht_rec_flush_all_from (uint64_t before, bool queue_only);
HT_REC_HIDDEN void ht_rec_threads_add_counted (HtRecCounted *sum);
HT_REC_HIDDEN void ht_rec_threads_reset_encoders (void);
HT_REC_HIDDEN void ht_rec_threads_hold (bool on);
HT_REC_HIDDEN void ht_rec_threads_lock (void);
HT_REC_HIDDEN void ht_rec_threads_unlock (void);
HT_REC_HIDDEN HtRecThread *ht_rec_threads_after_fork (void);
HT_REC_HIDDEN void ht_rec_threads_restart (HtRecThread *self);

/* ht-rec-sampler.c */
extern HT_REC_HIDDEN uint64_t ht_rec_start_mono_ns;
HT_REC_HIDDEN void ht_rec_write_sample (uint64_t stamp);
HT_REC_HIDDEN void ht_rec_sampler_on_sigusr2 (int sig);
HT_REC_HIDDEN void ht_rec_sampler_start (void);
HT_REC_HIDDEN void ht_rec_sampler_poll_due (uint64_t stamp);
HT_REC_HIDDEN void ht_rec_sampler_idle_tick (void);
extern HT_REC_HIDDEN _Atomic uint64_t ht_rec_tick_due;

/* After a recorded event stamped `stamp`, the guard held: a tick if one is due. */
static inline void
ht_rec_sampler_poll (uint64_t stamp)
{
  if (HT_REC_UNLIKELY (stamp >= atomic_load_explicit (&ht_rec_tick_due, memory_order_relaxed)))
    ht_rec_sampler_poll_due (stamp);
}

/* ht-rec-keeper.c */
HT_REC_HIDDEN bool ht_rec_keeper_start (void);
HT_REC_HIDDEN bool ht_rec_keeper_running (void);
HT_REC_HIDDEN pid_t ht_rec_keeper_tid (void);
HT_REC_HIDDEN void ht_rec_keeper_stop (void);
HT_REC_HIDDEN void ht_rec_keeper_forget (void);
HT_REC_HIDDEN bool ht_rec_sampler_running (void);
HT_REC_HIDDEN void ht_rec_sampler_stop (void);
HT_REC_HIDDEN void ht_rec_sampler_forget (void);
HT_REC_HIDDEN pid_t ht_rec_sampler_tid (void);

/* ht-rec-clock.c.  The invariant TSC is the cheapest global clock.  Stamps drop its low
 * bits (64 cycles, 20-30 ns): finer bits are noise that costs a byte an event in the log
 * (format 6 measured 0.74 B/event of stamps on micro-4t with 16 cycles, 0.50 with 64), and
 * two threads cannot hand a block over within 64 cycles; on equal stamps the reader puts a
 * free first, which is the order of a block freed and then allocated by another thread.
 * A plain rdtsc, not rdtscp + lfence: the fences
 * cost 20% of the recorded run on the micro benchmark, and ordering only needs the free's
 * stamp to come before another thread's stamp of the malloc that gets the block back, which
 * is a trip through the arena's lock, far longer than the few dozen cycles rdtsc can drift
 * within the out-of-order window.  tests/e2e/fixture-threads checks it: stamping after the
 * real free gives hundreds of unmatched frees per run, this gives none in 20 runs. */
#define HT_STAMP_SHIFT_TSC 6
#define HT_STAMP_SHIFT_NS 5
extern HT_REC_HIDDEN bool ht_rec_use_tsc;
HT_REC_HIDDEN void ht_rec_clock_init (bool force_monotonic);
HT_REC_HIDDEN uint64_t ht_rec_mono_ns (void);
HT_REC_HIDDEN uint64_t ht_rec_stamp_fenced (void);

static inline uint64_t
ht_rec_stamp (void)
{
#if defined(__x86_64__)
  if (HT_REC_LIKELY (ht_rec_use_tsc))
    return __builtin_ia32_rdtsc () >> HT_STAMP_SHIFT_TSC;
#endif
  return ht_rec_mono_ns () >> HT_STAMP_SHIFT_NS;
}

/* A system call made with the instruction itself: no errno, no libc (the result is
 * -errno on failure).  The tracer, which shares our memory and thread pointer but is not
 * one of our threads, may make no other kind. */
static inline long
ht_rec_sys (long n, long a, long b, long c, long d, long e)
{
#if defined(__x86_64__)
  long ret;
  register long r10 __asm__ ("r10") = d;
  register long r8 __asm__ ("r8") = e;
  register long r9 __asm__ ("r9") = 0; /* a sixth argument, for mmap's offset */
  __asm__ volatile ("syscall"
                    : "=a"(ret)
                    : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                    : "rcx", "r11", "memory");
  return ret;
#else
  long r = syscall (n, a, b, c, d, e);
  return r < 0 ? -errno : r;
#endif
}

/* A lock of the recorder's own, for what the keeper (ht-rec-keeper.c) shares with the
 * program's threads.  glibc does not know the keeper: while the program has one thread,
 * glibc takes its own locks with plain loads and stores (pthread_mutex_lock too), so
 * whatever the keeper takes is an atomic word here, waited on with futex(2): 0 free, 1
 * held, 2 held with waiters. */
typedef struct
{
  _Atomic uint32_t word;
} HtRecLock;

#define HT_REC_LOCK_INIT { 0 }

HT_REC_HIDDEN void ht_rec_lock_wait (HtRecLock *l);
HT_REC_HIDDEN void ht_rec_futex_wait (_Atomic uint32_t *word, uint32_t while_value, uint64_t ns);
HT_REC_HIDDEN void ht_rec_futex_wake (_Atomic uint32_t *word);

static inline void
ht_rec_lock (HtRecLock *l)
{
  uint32_t free_ = 0;
  if (HT_REC_UNLIKELY (!atomic_compare_exchange_strong_explicit (
        &l->word, &free_, 1, memory_order_acquire, memory_order_relaxed)))
    ht_rec_lock_wait (l);
}

static inline bool
ht_rec_trylock (HtRecLock *l)
{
  uint32_t free_ = 0;
  return atomic_compare_exchange_strong_explicit (&l->word, &free_, 1, memory_order_acquire,
                                                  memory_order_relaxed);
}

static inline void
ht_rec_unlock (HtRecLock *l)
{
  if (HT_REC_UNLIKELY (atomic_exchange_explicit (&l->word, 0, memory_order_release) == 2))
    ht_rec_futex_wake (&l->word);
}

/* ht-rec-mem.c */
HT_REC_HIDDEN size_t ht_rec_own_bytes (void);
/* ht-rec-program.c */
HT_REC_HIDDEN size_t ht_rec_program_path (char *out, size_t size);
HT_REC_HIDDEN size_t ht_rec_read_cmdline (char *out, size_t size);
HT_REC_HIDDEN void ht_rec_write_program_suppressions (void);
HT_REC_HIDDEN void *ht_rec_mmap (size_t size);
HT_REC_HIDDEN void *ht_rec_mmap_table (size_t size);
HT_REC_HIDDEN void ht_rec_munmap (void *p, size_t size);
HT_REC_HIDDEN uint32_t ht_rec_trace_next_node (void);
HT_REC_HIDDEN void ht_rec_trace_set_next_node (uint32_t node);
HT_REC_HIDDEN void ht_rec_env_restore (const char *log_dir, bool keep);
HT_REC_HIDDEN bool ht_rec_env_add (char *entry);
HT_REC_HIDDEN void ht_rec_env_replace (const char *name, char *entry);
HT_REC_HIDDEN bool ht_rec_is_cpython (void);
HT_REC_HIDDEN void ht_rec_python_setup (void);
HT_REC_HIDDEN void ht_rec_python_configure (void);
HT_REC_HIDDEN void ht_rec_python_after_fork (HtRecStream *self);
HT_REC_HIDDEN bool ht_rec_python_types_on (void);
HT_REC_HIDDEN uintptr_t ht_rec_python_type_of (uintptr_t block, size_t size,
                                               bool (*readable) (uintptr_t addr, size_t len,
                                                                 void *ctx),
                                               void *ctx);
HT_REC_HIDDEN size_t ht_rec_python_type_name (uintptr_t type, char *out, size_t size);
HT_REC_HIDDEN uint32_t ht_rec_python_gc_head (uintptr_t block, uintptr_t type);
HT_REC_HIDDEN int ht_rec_python_capture (HtRecThread *t, uintptr_t *out, int max);
HT_REC_HIDDEN int ht_rec_python_merge (HtRecStream *s, void *const *native, int n, uintptr_t *out,
                                       int max);
HT_REC_HIDDEN char **ht_rec_env_for_exec (char *const envp[], size_t *mapped);
HT_REC_HIDDEN void ht_rec_signals_init (void (*on_snapshot_request) (int));

/* ht-rec-api.c (exported: heaptrail.h's entry points) */
void heaptrail_rec_snapshot (const char *label);

/* ht-rec-live.c */
HT_REC_HIDDEN void ht_rec_live_init (bool on);
HT_REC_HIDDEN bool ht_rec_live_enabled (void);
HT_REC_HIDDEN void ht_rec_live_replay_alloc (uint32_t stream, uint64_t stamp, uintptr_t ptr,
                                             size_t size);
HT_REC_HIDDEN void ht_rec_live_replay_free (uint32_t stream, uint64_t stamp, uintptr_t ptr,
                                            uint64_t *freed_size);
HT_REC_HIDDEN void ht_rec_live_replay_unfree (uint32_t stream, uint64_t stamp, uintptr_t ptr,
                                              uint64_t *freed_size);
HT_REC_HIDDEN void ht_rec_live_sync (uint64_t stamp);
HT_REC_HIDDEN void ht_rec_live_prefetch (uintptr_t ptr);
typedef struct
{
  uintptr_t ptr;
  size_t size;
} HtRecBlock;
HT_REC_HIDDEN void ht_rec_live_drop_markers (void);
HT_REC_HIDDEN size_t ht_rec_live_count (void);
HT_REC_HIDDEN size_t ht_rec_live_blocks (HtRecBlock *out, size_t max);

/* ht-rec-scan.c */
HT_REC_HIDDEN void ht_rec_live_scan (void (*then) (void *), void *data);
HT_REC_HIDDEN void ht_rec_live_scan_at_exit (void);

/* ht-rec-world.c: stopping the program's threads, and where its roots are */
typedef struct
{
  uintptr_t start, end;
  unsigned flags; /* HT_REC_RANGE_* */
} HtRecRange;

enum
{
  HT_REC_RANGE_LIBC = 1, /* libc's data, where malloc keeps its own pointers */
  HT_REC_RANGE_ANON = 2, /* a mapping of no file (nor [heap], [stack], [vvar]...) */
};

typedef struct
{
  HtRecRange *r;
  size_t n, cap;
} HtRecRanges;

#define HT_REC_REGS 32 /* general registers kept for a thread stopped by ptrace */

typedef struct
{
  pid_t tid;
  _Atomic int state; /* HT_REC_STOP_* */
  uintptr_t sp;      /* lowest live address of its stack: with the signal, the saved
                        registers lie above */
  uintptr_t tp;      /* thread pointer: static TLS is next to it */
  unsigned nregs;    /* stopped by ptrace: its registers, roots too */
  int resig;         /* a signal its stop held back, given back at the detach */
  uintptr_t regs[HT_REC_REGS];
} HtRecStopped;

typedef struct
{
  HtRecStopped *threads; /* mmap'd, fixed capacity: handlers keep pointers into it */
  size_t n, cap;
  size_t stopped, missed;
  int sig;
  bool traced; /* stopped by ht-rec-tracer.c, not by a signal */
} HtRecWorld;

HT_REC_HIDDEN bool ht_rec_world_stop (HtRecWorld *w);
HT_REC_HIDDEN long ht_rec_world_add_threads (HtRecWorld *w, pid_t pid, pid_t self, pid_t sampler,
                                             void (*on_new) (HtRecWorld *w, HtRecStopped *t));
HT_REC_HIDDEN void ht_rec_tracer_configure (void);
HT_REC_HIDDEN bool ht_rec_tracer_stop (HtRecWorld *w);
HT_REC_HIDDEN void ht_rec_tracer_resume (HtRecWorld *w);
HT_REC_HIDDEN void ht_rec_world_resume (HtRecWorld *w);
HT_REC_HIDDEN bool ht_rec_ranges_add (HtRecRanges *r, uintptr_t start, uintptr_t end,
                                     unsigned flags);
HT_REC_HIDDEN void ht_rec_ranges_free (HtRecRanges *r);
HT_REC_HIDDEN void ht_rec_python_dead_stacks (HtRecRanges *out);
HT_REC_HIDDEN bool ht_rec_rw_mappings (HtRecRanges *out);
HT_REC_HIDDEN bool ht_rec_readable_mappings (HtRecRanges *out);
HT_REC_HIDDEN uintptr_t ht_rec_mapping_end (uintptr_t addr);
HT_REC_HIDDEN bool ht_rec_module_data (HtRecRanges *out, HtRecRanges *self);
/* ht-rec-hooks.c */
HT_REC_HIDDEN void ht_rec_bootstrap_range (uintptr_t *start, uintptr_t *end);
/* ht-rec-mem.c: every mapping the recorder made for itself, read once per scan */
HT_REC_HIDDEN bool ht_rec_own_ranges (HtRecRanges *out);

/* ht-rec-zstd.c */
HT_REC_HIDDEN bool ht_rec_zstd_init (void);
HT_REC_HIDDEN size_t ht_rec_zstd_compress (const void *src, const size_t *ends, int parts,
                                          const uint8_t **out, int *slot);
HT_REC_HIDDEN void ht_rec_zstd_release (int slot);

/* ht-rec-unwind.c */
HT_REC_HIDDEN void ht_rec_unwind_configure (void);
HT_REC_HIDDEN void ht_rec_unwind_init (void);
HT_REC_HIDDEN int ht_rec_unwind (HtRecThread *t, uintptr_t *ips, int max);
HT_REC_HIDDEN int ht_rec_unwind_until (HtRecThread *t, uintptr_t lo, uintptr_t hi,
                                       uintptr_t *ips, int max);
HT_REC_HIDDEN void ht_rec_unwind_report (void);
HT_REC_HIDDEN void ht_rec_unwind_forget (void);
/* HEAPTRAIL_VERIFY_STACKS=1: what the caches of stacks give is checked against what they
 * save recomputing, and the counts printed at exit (tests/e2e: e2e_stack_cache). */
extern HT_REC_HIDDEN bool ht_rec_verify_stacks;
typedef enum
{
  HT_VERIFY_MEMO,     /* a stack named from the thread's memo (ht-rec-trace.c) */
  HT_VERIFY_PY_FRAME, /* a Python frame from the thread's table of them (ht-rec-python.c) */
  HT_VERIFY_KEPT,     /* a stack whose outer part the unwinder kept, not compared again */
  HT_VERIFY_KINDS
} HtVerifyKind;
HT_REC_HIDDEN void ht_rec_verify_count (HtVerifyKind kind, bool same);

/* ht-rec-trace.c */
HT_REC_HIDDEN void ht_rec_trace_init (void);
/* The stamp of an event in the calling thread's own stream `s` (its lock held).  While no
 * other thread writes (ht_rec_solo names this stream; ht-rec-stream.c says how that is
 * known), nothing needs ordering against this thread's events: the event repeats the
 * stream's previous stamp (a delta of 0, which costs nothing once compressed) for up to
 * HT_SOLO_STAMP_UNITS, and the first record after a flush is always stamped afresh (so a
 * SYNC's promise holds).
 *
 * Reading the clock is itself a third of what an event costs (rdtsc takes 10 ns on the
 * machines bench/ runs on), so while the thread is busy (its last clock reading found less
 * than HT_SOLO_STAMP_UNITS since its stamp before) only one event in HT_SOLO_READ_EVERY reads
 * it; the others repeat the stamp.  An inherited stamp is never later than the event's true
 * time, so order holds (ht-rec-stream.c); what it costs is time resolution at the end of a
 * burst: an event may be dated as early as the last reading, at most HT_SOLO_READ_EVERY - 1
 * events back and never before the last flush (the sampler's, every 10 ms).  A thread that
 * sleeps longer is stamped exactly on waking: its buffer was flushed meanwhile. */
#define HT_SOLO_STAMP_UNITS 1024 /* 64 Ki cycles of the TSC, 20-30 us */
#define HT_SOLO_READ_EVERY 16    /* a power of 2: compared with the stream's tick */

static inline uint64_t
ht_rec_event_stamp (HtRecStream *s)
{
  if (HT_REC_LIKELY (s->busy_clock && s->len != 0 && (s->tick & (HT_SOLO_READ_EVERY - 1)) != 0)
      && HT_REC_LIKELY (atomic_load_explicit (&ht_rec_solo, memory_order_relaxed) == s->id))
    return s->last_stamp;
  /* Otherwise the clock first, then the name: a thread that is not alone must take its
   * stamp before it reads ht_rec_solo (ht-rec-stream.c's proof).  Read the other way round,
   * a thread preempted between the two let another claim the name meanwhile and inherit a
   * stamp older than this one's: e2e_threads_handoff_monotonic then found frees before their
   * allocations, 3 runs in 30 beside two busy loops. */
  uint64_t now = ht_rec_stamp ();
  uint32_t solo = atomic_load_explicit (&ht_rec_solo, memory_order_relaxed);
  if (HT_REC_LIKELY (solo == s->id))
    {
      s->busy_clock = now - s->last_stamp < HT_SOLO_STAMP_UNITS;
      return s->busy_clock && s->len != 0 ? s->last_stamp : now;
    }
  s->busy_clock = false;
  return ht_rec_event_stamp_shared (s, solo, now);
}

HT_REC_HIDDEN uint32_t ht_rec_trace_capture (HtRecThread *t);
HT_REC_HIDDEN void ht_rec_modules_write (void);
HT_REC_HIDDEN bool ht_rec_modules_changed (void);
HT_REC_HIDDEN void ht_rec_modules_refresh (void);
HT_REC_HIDDEN void ht_rec_trace_lock_all (void);
HT_REC_HIDDEN void ht_rec_trace_unlock_all (void);
HT_REC_HIDDEN void ht_rec_trace_reset (void);
