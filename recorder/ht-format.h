/* ht-format.h - the heaptrail log format, shared by recorder and analyzer.
 *
 * A log is a fixed file header followed by self-delimiting chunks:
 *
 *   +-------------+---------+---------+-----+
 *   | HtFileHeader| chunk 0 | chunk 1 | ... |      every chunk is written with one write(2)
 *   +-------------+---------+---------+-----+
 *   chunk = HtChunkHeader + payload (records of one stream, see docs/FORMAT.md)
 *
 * Each thread of the recorded program owns a stream (a stream id in the chunk header) and
 * writes its records into a private buffer, so the hot path takes no global lock.  Records
 * are a one-byte tag followed by LEB128 varints; stamps and pointers are delta-encoded
 * against the previous record of the same chunk, so a chunk decodes on its own.  Since
 * format 6 a chunk's payload is split into columns (HtColumn): the tags and the rarer
 * fields, then every stamp, every pointer, every size and every trace node of the chunk
 * apiece, so that zstd sees like next to like.  Stream 0 is the control stream (samples,
 * module maps, sync marks, the end mark).
 *
 * The analyzer merges the thread streams by stamp.  A SYNC record in stream 0 promises
 * that every event stamped before it is already in the file, which bounds how much the
 * reader buffers.  docs/FORMAT.md is the prose specification; this header is the truth.
 *
 * Only C11 and <stdint.h>: the recorder includes this and must stay free of GLib.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define HT_FILE_MAGIC "HTRAIL\r\n" /* 8 bytes; CR LF catch text-mode mangling */
#define HT_FORMAT_VERSION 9 /* 9: split varints, live ages, 256 reuse classes of 16;
                              8: COUNTED; 7: the age column, ALLOC_FREED; 6: columns, FREE_AGE,
                              ALLOC_REUSE; 5: SAMPLING, FRAMES; 4: IMAGE;
                              3: EDGES, ROOTS, SCAN; 2: SAMPLE recorder time, stamp_shift, slots,
                              zstd, SNAPSHOT */
#define HT_FORMAT_VERSION_COLUMNS 6 /* chunks of this version on are split into columns */
#define HT_FORMAT_VERSION_FREED 7 /* ... with the age column, and ALLOC_FREED */
#define HT_FORMAT_VERSION_SPLIT 9 /* ... each column in two parts; FREE_AGE counts live blocks */
#define HT_FORMAT_VERSION_OLDEST 2 /* older logs are refused with a message */
#define HT_CHUNK_MAGIC 0x4b434854u /* "HTCK" little-endian */
#define HT_CHUNK_MAX_PAYLOAD (16u << 20)
#define HT_CONTROL_STREAM 0

/* Chunk flags. */
enum
{
  HT_CHUNK_ZSTD = 1, /* the payload is one zstd frame of records, with content size and
                        checksum */
  HT_CHUNK_CONTINUES = 2, /* the pointer state goes on from the stream's previous chunk
                             (format 6) */
};

/* Clock used for stamps. */
enum
{
  HT_CLOCK_TSC = 1,       /* invariant time stamp counter (rdtscp) */
  HT_CLOCK_MONOTONIC = 2, /* CLOCK_MONOTONIC in nanoseconds */
};

/* All multi-byte fields are little-endian. */
typedef struct __attribute__ ((packed))
{
  char magic[8];           /* HT_FILE_MAGIC */
  uint16_t version;        /* HT_FORMAT_VERSION; readers refuse newer versions */
  uint16_t header_size;    /* sizeof (HtFileHeader); the fixed part only */
  uint32_t pid;            /* recorded process */
  uint32_t ppid;           /* its parent */
  uint8_t clock;           /* HT_CLOCK_* */
  uint8_t max_frames;      /* stack depth limit in effect (1..255) */
  uint8_t stamp_shift;     /* stamps are the clock's value >> stamp_shift */
  uint8_t flags;           /* HT_HEADER_*; zero before format 5 */
  uint64_t start_unix_ns;  /* wall clock at start, for display only */
  uint64_t start_stamp;    /* stamp at start, in the unit of `clock` */
  uint32_t exe_len;        /* bytes of executable path that follow the header */
  uint32_t cmdline_len;    /* bytes of command line that follow it, arguments NUL-separated */
} HtFileHeader;
_Static_assert (sizeof (HtFileHeader) == 48, "HtFileHeader is 48 bytes on disk");

typedef struct __attribute__ ((packed))
{
  uint32_t magic;        /* HT_CHUNK_MAGIC */
  uint32_t payload_size; /* bytes stored after this header, <= HT_CHUNK_MAX_PAYLOAD */
  uint32_t stream;       /* HT_CONTROL_STREAM or a thread's stream id */
  uint32_t flags;        /* HT_CHUNK_*: how the payload is stored; unknown bits are errors */
  uint64_t base_stamp;   /* first record's stamp is a delta from this */
} HtChunkHeader;
_Static_assert (sizeof (HtChunkHeader) == 24, "HtChunkHeader is 24 bytes on disk");

enum
{
  HT_HEADER_ATTACHED = 1, /* heaptrail attach: the process ran before the recording began */
};

/* A chunk's payload since format 9:
 *
 *   row | stamps | pointers | sizes | nodes | ages       (first parts)
 *       | stamps | pointers | sizes | nodes | ages       (more parts)
 *       | 10 x uint32 (bytes of each part, in that order)
 *
 * The row holds each record's tag and every field not named below; "dstamp" fields are in
 * the stamp column, "dptr" / "slot" / "depth" / "index" in the pointer column, "age" in the
 * age column, an ALLOC's size and node in theirs.  A record's fields are read in the order
 * listed, each from its column.  A column's varint is split over its two parts: its first
 * byte in the first part, and when that byte has its high bit set, the rest of the value
 * (the value >> 7) as a varint of its own in the more part.  The first bytes of a column
 * are then alike (small values, a continuation bit) and the more parts hold the high
 * bytes, so each compresses to its own statistics: micro-deep's ages took 1.8 bytes a
 * free in one part, 1.5 in two.
 *
 * Formats 7 and 8 have one part a column (whole varints) and 5 lengths; format 6 has no
 * age column (its ages are in the pointer column) and 4 lengths; before format 6 every
 * field follows its tag in the row.  The trailer's lengths end the payload; the row is
 * what is left before the parts. */
typedef enum
{
  HT_COL_STAMP = 0,
  HT_COL_PTR = 1,
  HT_COL_SIZE = 2,
  HT_COL_NODE = 3,
  HT_COL_AGE = 4, /* format 7 on; a format 6 chunk has its ages in the pointer column */
  HT_COLUMNS = 5,
} HtColumn;
#define HT_PARTS (2 * HT_COLUMNS) /* format 9: the first parts, then the more parts */
#define HT_COLUMN_TRAILER (HT_PARTS * 4)

/* How many columns a chunk of a format version has (0: none, every field in the row). */
static inline int
ht_columns_of (unsigned version)
{
  return version >= HT_FORMAT_VERSION_FREED ? HT_COLUMNS
         : version >= HT_FORMAT_VERSION_COLUMNS ? HT_COLUMNS - 1 : 0;
}

/* How many parts (and trailer lengths) those columns take. */
static inline int
ht_parts_of (unsigned version)
{
  return ht_columns_of (version) * (version >= HT_FORMAT_VERSION_SPLIT ? 2 : 1);
}

/* Record tags.  Fields follow as varints unless stated; "dstamp" is the stamp minus the
 * previous stamp in this chunk (the chunk's base_stamp for the first), "dptr" a zigzag
 * varint of the pointer minus the previous pointer in this chunk (0 before the first). */
typedef enum
{
  /* thread streams */
  HT_REC_ALLOC = 0x01,      /* dstamp, dptr, size, trace node id */
  HT_REC_FREE = 0x02,       /* dstamp, dptr */
  HT_REC_UNFREE = 0x03,     /* dstamp, dptr: a failed realloc; undo this thread's last FREE */
  HT_REC_TRACE_NODE = 0x04, /* dstamp, id, parent id (0 = root), ip: a new trace tree node */
  HT_REC_THREAD = 0x05,     /* dstamp, os tid: this stream now belongs to that thread */
  HT_REC_THREAD_END = 0x06, /* dstamp: the thread exited; the stream id may be reused */
  HT_REC_ALLOC_SLOT = 0x07, /* dstamp, slot (one raw byte < HT_RECENT_SLOTS), size, node:
                               ALLOC of the pointer held in that recent-pointer slot */
  HT_REC_CODE = 0x09,       /* dstamp, id, Py_Version, first line, file name length, bytes,
                               qualified name length, bytes, line table length, bytes: a
                               Python code object, before the first TRACE_NODE naming it */
  HT_REC_TAG = 0x08,        /* dstamp, dptr, length (<= 255), bytes: heaptrail_tag() */
  HT_REC_FREE_AGE = 0x0a,   /* dstamp, age (1..HT_AGE_WINDOW): FREE of the pointer of the
                               stream's age-th latest ALLOC (any form), 1 being the latest
                               (format 6); from format 9 only the ALLOCs no FREE_AGE has
                               freed yet count (see "Pointer state" below) */
  HT_REC_ALLOC_REUSE = 0x0b, /* dstamp, depth, size, node: ALLOC of the pointer that lies
                                `depth` below the top of the reuse stack of the size's
                                class, which it leaves (format 6) */
  HT_REC_ALLOC_NEXT = 0x0c,  /* dstamp, size, node: ALLOC of the pointer where the stream's
                                previous ALLOC's chunk ends (its pointer + ht_chunk_size of
                                its size), as malloc carves a fresh heap (format 6) */
  HT_REC_ALLOC_FREED = 0x0d, /* dstamp, index (1..HT_FREED_WINDOW), size, node: ALLOC of the
                                pointer of the stream's index-th latest FREE (any form), 1
                                being the latest (format 7) */
  HT_REC_FREE_SLOT = 0x80,  /* 0x80 | slot, then dstamp: FREE of the pointer in that slot */
  /* control stream */
  HT_REC_SAMPLE = 0x10,  /* dstamp, monotonic ns since start, rss bytes, recorder bytes,
                            recorder time so far (stamp units, all threads) */
  HT_REC_SYNC = 0x11,    /* dstamp: every record stamped earlier is in the file already */
  HT_REC_MODULE = 0x12,  /* dstamp, flags (HT_MODULE_*), module (see below): one loaded object */
  HT_REC_END = 0x13,     /* dstamp, reason (HT_END_*) */
  HT_REC_LOST = 0x14,    /* dstamp, events dropped by the recorder (e.g. out of memory) */
  HT_REC_SNAPSHOT = 0x15, /* dstamp, label length (<= 255), label bytes: heaptrail_snapshot() */
  HT_REC_BLOCK = 0x16,    /* dstamp, address, size, first word: a live block (--graph), written
                             before the SNAPSHOT or END it belongs to, in address order; the
                             scan's blocks are numbered 0, 1, 2... in that order */
  HT_REC_EDGES = 0x17,    /* dstamp, source block, count (<= HT_SCAN_BATCH), count x
                             (word index delta, zigzag (target block - source block),
                             offset in target): aligned words of a block that point into a
                             live block; word indexes count from the block's start */
  HT_REC_ROOTS = 0x18,    /* dstamp, kind (HT_ROOT_*), thread id (0 for data), base address,
                             count (<= HT_SCAN_BATCH), count x (word index delta, target
                             block, offset in target): root words that point into live blocks */
  HT_REC_SCAN = 0x19,     /* dstamp, blocks, edges, root words, heap bytes scanned, root bytes
                             scanned, threads stopped, threads missed, duration ns, flags
                             (HT_SCAN_*): closes the scan the BLOCK/EDGES/ROOTS before it made */
  HT_REC_PYBLOCK = 0x1b,  /* dstamp, address, size, type address, GC header offset (plain
                             varints): a BLOCK that holds a Python object of that type
                             (record --graph); the two words of its GC header link it into
                             the collector's lists, which are not references */
  HT_REC_PYTYPE = 0x1c,   /* dstamp, type address, name length, name bytes: a Python type's
                             __name__, before the first PYBLOCK of the scan using it */
  HT_REC_SUPPRESSIONS = 0x1d, /* dstamp, length, text: what the program's
                                 __lsan_default_suppressions() returned (at exit) */
  HT_REC_SAMPLING = 0x1e, /* dstamp, mean bytes: record --sample; from here on, an allocation
                             of size S was recorded with probability 1 - exp(-S / mean),
                             and only frees of recorded blocks are written */
  HT_REC_FRAMES = 0x1f,   /* dstamp, ip, module length, bytes, count (1..64), count x
                             (function length, bytes, file length, bytes, line): what the
                             code at trace node address ip is, symbolized already (innermost
                             inlined frame first), before the first TRACE_NODE naming it;
                             written by converters (heaptrack's files), never the recorder */
  HT_REC_COUNTED = 0x20,  /* dstamp, calls, bytes: record --sample; the allocations a thread
                             made since its previous COUNTED, recorded or not, which makes the
                             totals exact (format 8) */
  HT_REC_IMAGE = 0x1a,    /* dstamp, pid, exe length, exe bytes, command line length, command
                             line bytes (NUL-terminated arguments): the process executed a
                             new program, which goes on with this log (instead of a header);
                             the previous image's blocks are gone, a new module map follows */
} HtRecordTag;

#define HT_SCAN_BATCH 100 /* entries per EDGES or ROOTS record at most */

enum
{
  HT_ROOT_DATA = 1,  /* a writable segment of a loaded object (.data, .bss) */
  HT_ROOT_STACK = 2, /* a thread's stack, from its live end up, with its saved registers */
  HT_ROOT_TLS = 3,   /* the mapping of a thread's thread pointer, outside its stack */
  HT_ROOT_ANON = 4,  /* another anonymous mapping of the program (not malloc's, not ours) */
};

enum
{
  HT_SCAN_INCOMPLETE = 1, /* the recorder ran out of memory: edges or roots are missing */
  HT_SCAN_NOT_STOPPED = 2, /* threads could not be stopped (no signal free): not scanned */
  HT_SCAN_PTRACE = 4,      /* threads were stopped with ptrace (no handler ran in them), not
                              with a signal */
};

/* A module inside HT_REC_MODULE:
 *   path length, path bytes, load bias, build-id length, build-id bytes,
 *   segment count, segment count x (start vaddr, size)   -- executable PT_LOADs, unbiased
 * A map is a run of MODULE records, the first flagged HT_MODULE_NEW_MAP; it replaces the
 * previous map.  The recorder writes one at start and whenever objects were loaded or
 * unloaded (checked every 10 ms, and before an unknown address enters the trace tree). */
enum
{
  HT_MODULE_NEW_MAP = 1,
};

/* The outermost "frame" of a stack deeper than max_frames: its innermost max_frames frames
 * follow, the rest were not recorded.  No code lives at this address. */
#define HT_FRAME_CUT ((uintptr_t) 1)

/* memcheck's leak heuristics: an interior pointer that one of them explains counts as a
 * start-pointer (valgrind applies all four by default).  The recorder tests each interior
 * pointer it finds and puts what matched in bits 56-59 of the EDGES / ROOTS offset. */
#define HT_HEUR_SHIFT 56
#define HT_OFFSET_MASK ((UINT64_C (1) << HT_HEUR_SHIFT) - 1)
enum
{
  HT_HEUR_STDSTRING = 1,           /* at +24 of a (length, capacity, refcount) std::string */
  HT_HEUR_LENGTH64 = 2,            /* at +8 of a block whose first word is its size - 8 */
  HT_HEUR_NEWARRAY = 4,            /* at +8 of a new[] array: the count, then the elements */
  HT_HEUR_MULTIPLEINHERITANCE = 8, /* at a second base's vtable pointer */
  HT_HEUR_ALL = 15,
};

/* A Python frame in the trace tree: bit 63 set, the code object's id (CODE) in bits 32-62,
 * the instruction's offset in 2-byte code units from the code's start in bits 0-31. */
#define HT_FRAME_PYTHON ((uintptr_t) 1 << 63)

enum
{
  HT_END_EXIT = 1, /* normal exit: the library's destructor ran */
  HT_END_EXEC = 2, /* the process called exec (if exec failed, the recording goes on) */
  HT_END_ABORT = 3, /* the process called abort */
  HT_END_EXIT_NOW = 4, /* the process called _exit: no destructors, no atexit handlers */
  HT_END_DETACH = 5,   /* heaptrail attach's recording ended; the process runs on */
  HT_END_SIGNAL = 0x100, /* + N: killed by signal N (written by the recorder's handler) */
};

/* ---------------------------------------------------------------------------------------
 * Recent pointers.  Frees mostly hit a block allocated shortly before, and malloc mostly
 * hands out a block freed shortly before, so both sides keep, per chunk, a table of the
 * pointers of recent ALLOC, FREE and UNFREE records, indexed by a hash of the pointer.  A
 * record whose pointer is in its slot names the slot (one byte, or none at all for a
 * FREE) instead of the pointer.  Every pointer-carrying record, in any form, then stores
 * its pointer in its slot and becomes the base of the next pointer delta.
 */
#define HT_RECENT_SLOTS 128

static inline unsigned
ht_recent_slot (uint64_t ptr)
{
  return (unsigned) ((ptr >> 4) ^ (ptr >> 11) ^ (ptr >> 18)) & (HT_RECENT_SLOTS - 1);
}

/* ---------------------------------------------------------------------------------------
 * Pointer state (format 6).  Both sides keep, per stream, what lets a record name a
 * pointer in fewer bytes than its delta:
 *
 *   - the recent-pointer table above;
 *   - where the previous ALLOC's glibc chunk ends (ALLOC_NEXT);
 *   - the stream's last HT_AGE_WINDOW ALLOCs (any form), for FREE_AGE; from format 9,
 *     which of them are still live (HtLiveWindow): an ALLOC enters it live, a FREE_AGE
 *     takes its block out, and its age counts only the live ALLOCs after it.  A block
 *     freed in another form (its encoder had lost it) stays counted on both sides.  With
 *     4,096 blocks in flight that turns an age of mean 4,096 (13.4 bits) into a rank
 *     below 4,096 (12 bits);
 *   - the stream's last HT_FREED_WINDOW FREEs (any form), for ALLOC_FREED (format 7):
 *     malloc carves larger blocks out of chunks freed before, in an order that depends on
 *     the sizes of everything free, but mostly from one freed recently;
 *   - reuse stacks: malloc hands a thread back the block of the same size class that the
 *     thread freed last (glibc's tcache and fastbins are LIFO), so a FREE_AGE pushes its
 *     pointer on the stack of its ALLOC's class (other frees carry no size and push
 *     nothing; a full stack drops its oldest), and an ALLOC whose pointer is on the stack
 *     of its size's class is written as ALLOC_REUSE with its depth (0: the top), which
 *     takes it out.  Format 9 has 256 classes (exact chunk sizes below 2 KiB) of 32
 *     entries: glibc's larger bins reuse a block a few frees deep, and 64 classes of 4
 *     (formats 6 to 8) sent a quarter of micro-deep's reuses to longer forms.
 *
 * A chunk flagged HT_CHUNK_CONTINUES goes on with the state (and the previous pointer) its
 * stream's previous chunk left; any other chunk starts from nothing.
 */
#define HT_AGE_WINDOW 16384 /* FREE_AGE reaches this many ALLOCs back at most */
#define HT_FREED_WINDOW 8192 /* ALLOC_FREED reaches this many FREEs back at most */
#define HT_FREED_WINDOW_8 2048 /* ... before format 9 */
#define HT_REUSE_CLASSES 256 /* format 9; 64 before */
#define HT_REUSE_DEPTH 32    /* format 9; 4 before */
_Static_assert (HT_REUSE_DEPTH <= 255, "a stack's size is a byte");

/* The size of the chunk glibc's malloc carves for a request of `size` bytes on x86-64: the
 * request and its 8-byte header, rounded up to 16, at least 32. */
static inline uint64_t
ht_chunk_size (uint64_t size)
{
  return size + 8 + 15 < 32 ? 32 : (size + 8 + 15) & ~(uint64_t) 15;
}

typedef struct
{
  uint64_t ptr[HT_REUSE_CLASSES][HT_REUSE_DEPTH]; /* [0] the oldest */
  uint8_t n[HT_REUSE_CLASSES];
  uint16_t classes; /* the format's: HT_REUSE_CLASSES, or 64 */
  uint8_t depth;    /* HT_REUSE_DEPTH, or 4 */
  uint8_t class_shift; /* 64 - log2 (classes / 2) */
} HtReuseStacks;

/* Empties the stacks, sized as format `version` has them. */
static inline void
ht_reuse_init (HtReuseStacks *r, unsigned version)
{
  memset (r->n, 0, sizeof r->n); /* entries above n are never read */
  bool v9 = version >= HT_FORMAT_VERSION_SPLIT;
  r->classes = v9 ? HT_REUSE_CLASSES : 64;
  r->depth = v9 ? HT_REUSE_DEPTH : 4;
  r->class_shift = (uint8_t) (64 - __builtin_ctz (r->classes / 2u));
}

/* A size's reuse class: its chunk size exactly in the lower half of the classes (up to
 * 496 bytes with 64 classes, 2,032 with 256), hashed into the upper half above. */
static inline unsigned
ht_reuse_class (const HtReuseStacks *r, uint64_t size)
{
  uint64_t c = ht_chunk_size (size) >> 4;
  unsigned half = r->classes / 2u;
  if (c < half)
    return (unsigned) c;
  return half + (unsigned) ((c * UINT64_C (0x9E3779B97F4A7C15)) >> r->class_shift);
}

static inline void
ht_reuse_push (HtReuseStacks *r, unsigned c, uint64_t ptr)
{
  if (r->n[c] == r->depth)
    {
      memmove (&r->ptr[c][0], &r->ptr[c][1], (r->depth - 1u) * sizeof r->ptr[c][0]);
      r->n[c]--;
    }
  r->ptr[c][r->n[c]++] = ptr;
}

/* How deep `ptr` lies in class c's stack (0: the top), or -1. */
static inline int
ht_reuse_find (const HtReuseStacks *r, unsigned c, uint64_t ptr)
{
  /* from the top: more than half the matches are there, and comparing all 32 entries
   * without a branch cost the writer more than the mispredicted exit */
  for (int i = r->n[c] - 1; i >= 0; i--)
    if (r->ptr[c][i] == ptr)
      return r->n[c] - 1 - i;
  return -1;
}

/* Takes out the pointer `depth` below the top of class c's stack and returns it; 0 when the
 * stack is not that deep. */
static inline uint64_t
ht_reuse_take (HtReuseStacks *r, unsigned c, uint64_t depth)
{
  if (depth >= r->n[c])
    return 0;
  unsigned i = r->n[c] - 1 - (unsigned) depth;
  uint64_t ptr = r->ptr[c][i];
  memmove (&r->ptr[c][i], &r->ptr[c][i + 1], (r->n[c] - 1 - i) * sizeof r->ptr[c][0]);
  r->n[c]--;
  return ptr;
}

/* Which of the stream's last HT_AGE_WINDOW ALLOCs are live (format 9): ALLOC k (counted
 * from 1) at position (k - 1) % HT_AGE_WINDOW, a bit a position, and counts of the live
 * ones in every word of 64 positions and every block of 8 words.  An ALLOC or a FREE_AGE
 * changes a bit and two counts; an age is counted from the latest ALLOC back to the freed
 * one, by word counts and block counts (two words' bits counted), so a block freed soon
 * after its ALLOC (most are) costs a word or two, and one 16,383 ALLOCs back about 45
 * steps.  (A Fenwick tree, 14 steps on every ALLOC and 28 on every FREE, made micro-1t's
 * recording 10% slower.) */
#define HT_LIVE_WORDS (HT_AGE_WINDOW / 64)
#define HT_LIVE_BLOCK 8 /* words a block */
typedef struct
{
  uint64_t live[HT_LIVE_WORDS];
  uint8_t word_count[HT_LIVE_WORDS];             /* live positions in each word */
  uint16_t count[HT_LIVE_WORDS / HT_LIVE_BLOCK]; /* ... in each block */
  uint32_t total;                                /* ... in the window */
} HtLiveWindow;
_Static_assert (HT_AGE_WINDOW % (64 * HT_LIVE_BLOCK) == 0 && HT_AGE_WINDOW <= 65535,
                "the live window is whole blocks, each counted in 16 bits");

static inline void
ht_live_clear (HtLiveWindow *w)
{
  memset (w, 0, sizeof *w);
}

static inline bool
ht_live_is (const HtLiveWindow *w, unsigned pos)
{
  return (w->live[pos / 64] >> (pos % 64)) & 1;
}

/* Flips `pos` (live <-> not), its block's count by `delta` (+1 or -1 to match). */
static inline void
ht_live_flip (HtLiveWindow *w, unsigned pos, int delta)
{
  w->live[pos / 64] ^= UINT64_C (1) << (pos % 64);
  w->word_count[pos / 64] = (uint8_t) (w->word_count[pos / 64] + delta);
  w->count[pos / (64 * HT_LIVE_BLOCK)] = (uint16_t) (w->count[pos / (64 * HT_LIVE_BLOCK)] + delta);
  w->total += (uint32_t) delta;
}

/* The set bits of each byte of x, in that byte.  (Without -mpopcnt, Debian's baseline,
 * __builtin_popcountll is a call into libgcc: 4% of micro-deep's recording.) */
static inline uint64_t
ht_live_byte_counts (uint64_t x)
{
  x -= (x >> 1) & UINT64_C (0x5555555555555555);
  x = (x & UINT64_C (0x3333333333333333)) + ((x >> 2) & UINT64_C (0x3333333333333333));
  return (x + (x >> 4)) & UINT64_C (0x0F0F0F0F0F0F0F0F);
}

static inline unsigned
ht_live_popcount (uint64_t x)
{
  return (unsigned) ((ht_live_byte_counts (x) * UINT64_C (0x0101010101010101)) >> 56);
}

/* Of 8 bytewise counts (each at most 64), the highest byte k whose bytes k..7 count at
 * least *j; *j becomes what it lacks from the bytes above k.  Without a branch: in each
 * byte, the sum of the bytes from it up (bytewise arithmetic never carries), and how many
 * of those sums reach *j. */
static inline unsigned
ht_live_select_byte (uint64_t counts, uint32_t *j)
{
  const uint64_t ones = UINT64_C (0x0101010101010101), highs = ones << 7;
  uint64_t below = counts * ones;                      /* byte k: bytes 0..k */
  uint64_t from = (below >> 56) * ones - (below << 8); /* byte k: bytes k..7 */
  uint64_t reach = ((from | highs) - *j * ones) & highs;
  unsigned k = (unsigned) ((((reach >> 7) * ones) >> 56) - 1);
  *j -= k == 7 ? 0 : (uint32_t) (from >> (8 * (k + 1))) & 0xff;
  return k;
}

/* The position of the j-th highest set bit of x (1 <= j <= its set bits): its byte by the
 * bytes' counts, then its bit by the byte's bits spread one a byte. */
static inline unsigned
ht_live_select_high (uint64_t x, uint32_t j)
{
  const uint64_t ones = UINT64_C (0x0101010101010101);
  unsigned byte = ht_live_select_byte (ht_live_byte_counts (x), &j);
  uint64_t b = (x >> (8 * byte)) & 0xff;
  uint64_t bits = ((((b * ones) & UINT64_C (0x8040201008040201)) + ones * 0x7f) >> 7) & ones;
  return byte * 8 + ht_live_select_byte (bits, &j);
}

/* The live positions of word `word` at or below bit `top`. */
static inline uint64_t
ht_live_upto (const HtLiveWindow *w, unsigned word, unsigned top)
{
  return w->live[word] & (top == 63 ? ~UINT64_C (0) : (UINT64_C (2) << top) - 1);
}

/* Live positions from `lo` to `hi` (lo <= hi, both included): the bits of the two end
 * words, the word counts between, and the block counts where whole blocks lie between. */
static inline uint32_t
ht_live_count (const HtLiveWindow *w, unsigned lo, unsigned hi)
{
  unsigned wl = lo / 64, wh = hi / 64;
  uint64_t from_lo = ~UINT64_C (0) << (lo % 64);
  if (wl == wh)
    return ht_live_popcount (ht_live_upto (w, wh, hi % 64) & from_lo);
  uint32_t n = ht_live_popcount (w->live[wl] & from_lo) + ht_live_popcount (ht_live_upto (w, wh, hi % 64));
  unsigned i = wl + 1;
  for (; i < wh && i % HT_LIVE_BLOCK; i++)
    n += w->word_count[i];
  for (; i + HT_LIVE_BLOCK <= wh; i += HT_LIVE_BLOCK)
    n += w->count[i / HT_LIVE_BLOCK];
  for (; i < wh; i++)
    n += w->word_count[i];
  return n;
}

/* Going down from position `hi` to `lo` (lo <= hi, both included), the *n-th live
 * position; -1, with *n lessened by those seen, when there are fewer. */
static inline int
ht_live_find_down (const HtLiveWindow *w, unsigned lo, unsigned hi, uint32_t *n)
{
  unsigned wl = lo / 64, wh = hi / 64;
  for (unsigned i = wh + 1; i-- > wl;)
    {
      uint64_t bits = i == wh ? ht_live_upto (w, i, hi % 64) : w->live[i];
      if (i == wl)
        bits &= ~UINT64_C (0) << (lo % 64);
      unsigned c = i == wh || i == wl ? ht_live_popcount (bits) : w->word_count[i];
      if (*n <= c)
        return (int) (i * 64 + ht_live_select_high (bits, *n));
      *n -= c;
      /* whole blocks below, at once */
      while (i % HT_LIVE_BLOCK == 0 && i >= wl + HT_LIVE_BLOCK + 1
             && *n > w->count[i / HT_LIVE_BLOCK - 1])
        {
          *n -= w->count[i / HT_LIVE_BLOCK - 1];
          i -= HT_LIVE_BLOCK;
        }
    }
  return -1;
}

/* ALLOC number `allocs` (from 1) enters the window live, in place of the one
 * HT_AGE_WINDOW before it (if that one is live still, the position just stays live). */
static inline void
ht_live_alloc (HtLiveWindow *w, uint64_t allocs)
{
  unsigned pos = (unsigned) ((allocs - 1) % HT_AGE_WINDOW);
  if (!ht_live_is (w, pos))
    ht_live_flip (w, pos, +1);
}

/* The encoder's side: ALLOC number `k` (in the window: allocs - k < HT_AGE_WINDOW) is
 * freed; returns its age, 1 + the live ALLOCs after it (`allocs` the latest), or 0 when it
 * is not live. */
static inline uint64_t
ht_live_free (HtLiveWindow *w, uint64_t allocs, uint64_t k)
{
  unsigned latest = (unsigned) ((allocs - 1) % HT_AGE_WINDOW);
  unsigned pos = (unsigned) ((k - 1) % HT_AGE_WINDOW);
  if (!ht_live_is (w, pos))
    return 0;
  /* the live ones after it up to the latest, going round the window's end if need be */
  uint32_t after = pos == latest ? 0
                   : pos < latest ? ht_live_count (w, pos + 1, latest)
                   : ht_live_count (w, 0, latest)
                       + (pos + 1 < HT_AGE_WINDOW ? ht_live_count (w, pos + 1, HT_AGE_WINDOW - 1) : 0);
  ht_live_flip (w, pos, -1);
  return (uint64_t) after + 1;
}

/* The reader's side: the position of the live ALLOC of age `age` (as ht_live_free gave
 * it), now freed; -1 when no live ALLOC has that age. */
static inline int
ht_live_take (HtLiveWindow *w, uint64_t allocs, uint64_t age)
{
  if (age == 0 || age > w->total || allocs == 0)
    return -1;
  unsigned latest = (unsigned) ((allocs - 1) % HT_AGE_WINDOW);
  uint32_t n = (uint32_t) age;
  int pos = ht_live_find_down (w, 0, latest, &n);
  if (pos < 0 && latest + 1 < HT_AGE_WINDOW)
    pos = ht_live_find_down (w, latest + 1, HT_AGE_WINDOW - 1, &n);
  if (pos >= 0)
    ht_live_flip (w, (unsigned) pos, -1);
  return pos;
}

/* ---------------------------------------------------------------------------------------
 * Varints (LEB128) and zigzag, used by both sides.  The reader's bounds-checked decoder
 * lives in the analyzer; these encoders assume the caller reserved HT_VARINT_MAX bytes.
 */
#define HT_VARINT_MAX 10

static inline size_t
ht_varint_put (uint8_t *p, uint64_t v)
{
  size_t n = 0;
  while (v >= 0x80)
    {
      p[n++] = (uint8_t) (v | 0x80);
      v >>= 7;
    }
  p[n++] = (uint8_t) v;
  return n;
}

/* A length (varint), then that many bytes: the form of every string in a record.  Returns
 * the position after them. */
static inline uint8_t *
ht_bytes_put (uint8_t *p, const void *data, size_t len)
{
  p += ht_varint_put (p, len);
  if (len)
    memcpy (p, data, len);
  return p + len;
}

static inline uint64_t
ht_zigzag_encode (int64_t v)
{
  return ((uint64_t) v << 1) ^ (uint64_t) (v >> 63);
}

static inline int64_t
ht_zigzag_decode (uint64_t v)
{
  return (int64_t) (v >> 1) ^ -(int64_t) (v & 1);
}
