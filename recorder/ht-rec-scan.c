/* ht-rec-scan.c - the heap scan of `heaptrail record --graph`, at a snapshot and at exit.
 *
 * The recorder holds every stream, which holds back every malloc and free of the program
 * for the duration (no block can be freed while it is read), writes what they hold, so
 * that the live-block table (ht-rec-live.c) has every event, stops the other threads
 * (ht-rec-world.c) and writes:
 *   - one BLOCK record per live block, in address order, with the block's first word (the
 *     analyzer names a C++ object by the vtable that word points to);
 *   - ROOTS records: the words of the roots (loaded objects' data, thread stacks, TLS)
 *     that point into a live block, at its start or inside it;
 *   - EDGES records: the same for the words of every live block;
 *   - a SCAN record with the scan's size and cost.
 * Addresses, offsets and that first word only: never other memory contents.  The
 * recorder's own memory (this library's data, its mmap'd buffers) is never a root.
 *
 * While the world is stopped nothing may allocate or take a lock a stopped thread could
 * hold, so records are first built in a private buffer ([u16 length][tag][body], no
 * stamp), and copied into the control stream once the threads run again.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <setjmp.h>
#include <string.h>
#include <time.h>

#include <dlfcn.h>
#include <link.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "ht-rec-private.h"

typedef struct
{
  uint8_t *buf;
  size_t len, cap;
  bool failed;
} HtRecOut;

#define OUT_RECORD_MAX (16 + HT_SCAN_BATCH * 3 * HT_VARINT_MAX)

static uint8_t *
out_begin (HtRecOut *o)
{
  if (o->failed)
    return NULL;
  if (o->len + 2 + OUT_RECORD_MAX > o->cap)
    {
      size_t cap = o->cap ? o->cap * 2 : 1u << 20;
      uint8_t *b = ht_rec_mmap (cap);
      if (!b)
        {
          o->failed = true;
          return NULL;
        }
      if (o->buf)
        {
          memcpy (b, o->buf, o->len);
          ht_rec_munmap (o->buf, o->cap);
        }
      o->buf = b;
      o->cap = cap;
    }
  return o->buf + o->len + 2;
}

static void
out_end (HtRecOut *o, const uint8_t *end)
{
  size_t n = (size_t) (end - (o->buf + o->len + 2));
  o->buf[o->len] = (uint8_t) n;
  o->buf[o->len + 1] = (uint8_t) (n >> 8);
  o->len += 2 + n;
}

/* Sorts blocks by address: LSD radix sort, a byte at a time, skipping bytes all keys share
 * (qsort may allocate). */
static bool
sort_blocks (HtRecBlock *b, size_t n)
{
  HtRecBlock *tmp = n > 1 ? ht_rec_mmap (n * sizeof *tmp) : NULL;
  if (n > 1 && !tmp)
    return false;
  for (unsigned shift = 0; shift < 64 && n > 1; shift += 8)
    {
      size_t count[256] = { 0 };
      for (size_t i = 0; i < n; i++)
        count[(b[i].ptr >> shift) & 0xff]++;
      if (count[(b[0].ptr >> shift) & 0xff] == n)
        continue;
      size_t pos = 0;
      for (int d = 0; d < 256; d++)
        {
          size_t c = count[d];
          count[d] = pos;
          pos += c;
        }
      for (size_t i = 0; i < n; i++)
        tmp[count[(b[i].ptr >> shift) & 0xff]++] = b[i];
      memcpy (b, tmp, n * sizeof *b);
    }
  if (tmp)
    ht_rec_munmap (tmp, n * sizeof *tmp);
  return true;
}

/* Pages that hold the start of a block, hashed: page number -> the first and one past the
 * last block (numbers in address order) starting in it.  Finding a pointer's block is then
 * a probe and a search among a page's blocks instead of a search among all. */
#define PAGE_SHIFT_ 12

typedef struct
{
  uintptr_t page; /* page number + 1; 0: empty */
  uint32_t first, end;
} HtRecPage;

typedef struct
{
  HtRecBlock *blocks;
  size_t n;
  uintptr_t lo, hi; /* every block lies in [lo, hi) */
  HtRecPage *pages;
  size_t page_mask;
  HtRecOut out;
  uint64_t edges, root_words, heap_bytes, root_bytes;
  const HtRecRanges *readable; /* mappings that can be read */
  const HtRecRanges *data;     /* loaded objects' data: where vtables are */
} HtRecScan;

static inline size_t
page_slot (uintptr_t page)
{
  return (size_t) ((page * 0x9E3779B97F4A7C15ull) >> 20);
}

/* Builds sc->pages; without memory for it every lookup searches all blocks. */
static void
index_pages (HtRecScan *sc)
{
  size_t pages = 0;
  uintptr_t last = 0;
  for (size_t i = 0; i < sc->n; i++)
    if ((sc->blocks[i].ptr >> PAGE_SHIFT_) + 1 != last)
      {
        last = (sc->blocks[i].ptr >> PAGE_SHIFT_) + 1;
        pages++;
      }
  size_t cap = 16;
  while (cap < pages * 2)
    cap *= 2;
  if (sc->n > UINT32_MAX || !(sc->pages = ht_rec_mmap (cap * sizeof *sc->pages)))
    return;
  sc->page_mask = cap - 1;
  for (size_t i = 0; i < sc->n;)
    {
      uintptr_t page = (sc->blocks[i].ptr >> PAGE_SHIFT_) + 1;
      size_t j = i;
      while (j < sc->n && (sc->blocks[j].ptr >> PAGE_SHIFT_) + 1 == page)
        j++;
      size_t k = page_slot (page) & sc->page_mask;
      while (sc->pages[k].page)
        k = (k + 1) & sc->page_mask;
      sc->pages[k] = (HtRecPage){ page, (uint32_t) i, (uint32_t) j };
      i = j;
    }
}

/* The block `word` points into (at its start or inside it), as its number; false if none.
 * A zero-sized block is pointed to only at its start, as memcheck sees it. */
static inline bool
find_block (const HtRecScan *sc, uintptr_t word, size_t *index, uintptr_t *offset)
{
  if (word < sc->lo || word >= sc->hi)
    return false;
  size_t a = 0, b = sc->n;
  if (sc->pages)
    {
      /* blocks starting in word's page, else the last one before it (a block that spans
       * pages): both narrow the search to one page's blocks or fewer */
      uintptr_t page = (word >> PAGE_SHIFT_) + 1;
      size_t k = page_slot (page) & sc->page_mask;
      while (sc->pages[k].page && sc->pages[k].page != page)
        k = (k + 1) & sc->page_mask;
      if (sc->pages[k].page)
        {
          a = sc->pages[k].first;
          b = sc->pages[k].end;
          if (word < sc->blocks[a].ptr)
            {
              if (a == 0)
                return false;
              a--;
              b = a + 1;
            }
        }
    }
  while (b - a > 1)
    {
      size_t mid = a + (b - a) / 2;
      if (sc->blocks[mid].ptr <= word)
        a = mid;
      else
        b = mid;
    }
  const HtRecBlock *k = &sc->blocks[a];
  if (word < k->ptr || (word != k->ptr && word - k->ptr >= k->size))
    return false;
  *index = a;
  *offset = word - k->ptr;
  return true;
}

/* One EDGES or ROOTS record under construction. */
typedef struct
{
  uint8_t *start, *count_at, *p;
  size_t count, last_word;
} HtRecBatch;

static bool covered (const HtRecRanges *maps, uintptr_t start, uintptr_t end);

/* Whether `a` looks like a vtable address, as memcheck's multipleinheritance heuristic
 * asks: aligned, in a loaded object's data, with a type_info pointer (into a loaded
 * object too) in the word before it. */
static bool
looks_like_vtable (const HtRecScan *sc, uintptr_t a)
{
  if (!a || (a & 7) || !sc->data)
    return false;
  bool in_data = false;
  for (size_t i = 0; i < sc->data->n && !in_data; i++)
    in_data = a - 8 >= sc->data->r[i].start && a < sc->data->r[i].end;
  if (!in_data || !covered (sc->readable, a - 8, a))
    return false;
  uintptr_t typeinfo = *(const uintptr_t *) (a - 8);
  for (size_t i = 0; i < sc->data->n; i++)
    if (typeinfo >= sc->data->r[i].start && typeinfo < sc->data->r[i].end)
      return true;
  return false;
}

/* memcheck's heuristics (mc_leakcheck.c) for an interior pointer to `offset` in block `b`:
 * the HT_HEUR_* that explain it, 0 for none.  Only readable memory is looked at. */
static unsigned
heuristics_of (const HtRecScan *sc, const HtRecBlock *b, uintptr_t offset)
{
  if (b->size < 16 || !sc->readable || !covered (sc->readable, b->ptr, b->ptr + 16))
    return 0;
  const uint64_t w0 = ((const uint64_t *) b->ptr)[0], w1 = ((const uint64_t *) b->ptr)[1];
  unsigned h = 0;
  if (offset == 24 && w0 <= w1 && 24 + w1 + 1 == b->size)
    h |= HT_HEUR_STDSTRING;
  if (offset == 8 && w0 + 8 == b->size)
    h |= HT_HEUR_LENGTH64;
  if (offset == 8 && w0 > 0 && (b->size - 8) % w0 == 0)
    h |= HT_HEUR_NEWARRAY;
  if (!(offset & 7) && offset + 8 <= b->size && covered (sc->readable, b->ptr + offset, b->ptr + offset + 8)
      && looks_like_vtable (sc, w0) && looks_like_vtable (sc, *(const uintptr_t *) (b->ptr + offset)))
    h |= HT_HEUR_MULTIPLEINHERITANCE;
  return h;
}

/* glibc's malloc keeps, in libc's data (main_arena: top, bins, fastbins), pointers to the
 * headers of free chunks.  A chunk header overlaps the last word of the block before it
 * when that block's size leaves no slack, so such a pointer looks like an interior pointer
 * into a live block, at the offset where the next chunk starts.  valgrind, which replaces
 * malloc, never sees them; neither should the scan. */
static inline bool
is_malloc_metadata (const HtRecBlock *b, uintptr_t offset)
{
  size_t chunk = (b->size + sizeof (size_t) + 15) & ~(size_t) 15;
  return offset != 0 && offset == (chunk < 32 ? 32 : chunk) - 16;
}

static void
scan_words (HtRecScan *sc, uintptr_t from, uintptr_t to, int kind, pid_t tid, size_t source,
            unsigned flags)
{
  /* an EDGES word is counted from its block's start, even when only a part is read */
  uintptr_t block_start = kind ? 0 : sc->blocks[source].ptr;
  from = (from + sizeof (uintptr_t) - 1) & ~(uintptr_t) (sizeof (uintptr_t) - 1);
  to &= ~(uintptr_t) (sizeof (uintptr_t) - 1);
  HtRecBatch b = { 0 };
  for (uintptr_t a = from; a < to; a += sizeof (uintptr_t))
    {
      size_t target;
      uintptr_t offset;
      if (!find_block (sc, *(const uintptr_t *) a, &target, &offset))
        continue;
      if ((flags & HT_REC_RANGE_LIBC) && is_malloc_metadata (&sc->blocks[target], offset))
        continue;
      if (offset)
        offset |= (uintptr_t) heuristics_of (sc, &sc->blocks[target], offset) << HT_HEUR_SHIFT;
      if (!b.start)
        {
          b.start = out_begin (&sc->out);
          if (!b.start)
            return;
          uint8_t *p = b.start;
          *p++ = kind ? HT_REC_ROOTS : HT_REC_EDGES;
          if (kind)
            {
              p += ht_varint_put (p, (uint64_t) kind);
              p += ht_varint_put (p, (uint64_t) tid);
              p += ht_varint_put (p, from);
            }
          else
            p += ht_varint_put (p, source);
          b.count_at = p++; /* count: one byte, HT_SCAN_BATCH < 128 */
          b.p = p;
          b.count = 0;
          b.last_word = 0;
        }
      size_t word = (a - (kind ? from : block_start)) / sizeof (uintptr_t);
      b.p += ht_varint_put (b.p, word - b.last_word);
      b.last_word = word;
      if (kind)
        b.p += ht_varint_put (b.p, target);
      else
        b.p += ht_varint_put (b.p, ht_zigzag_encode ((int64_t) target - (int64_t) source));
      b.p += ht_varint_put (b.p, offset);
      if (kind)
        sc->root_words++;
      else
        sc->edges++;
      if (++b.count == HT_SCAN_BATCH)
        {
          *b.count_at = (uint8_t) b.count;
          out_end (&sc->out, b.p);
          b.start = NULL;
        }
    }
  if (b.start)
    {
      *b.count_at = (uint8_t) b.count;
      out_end (&sc->out, b.p);
    }
}

/* The part of [start, end) inside the sorted, disjoint `maps`, scanned as roots. */
static void
scan_mapped (HtRecScan *sc, const HtRecRanges *maps, uintptr_t start, uintptr_t end, int kind,
             pid_t tid, unsigned flags)
{
  for (size_t i = 0; i < maps->n; i++)
    {
      uintptr_t a = start > maps->r[i].start ? start : maps->r[i].start;
      uintptr_t b = end < maps->r[i].end ? end : maps->r[i].end;
      if (a < b)
        {
          scan_words (sc, a, b, kind, tid, 0, flags);
          sc->root_bytes += b - a;
        }
    }
}

static const HtRecRange *
mapping_of (const HtRecRanges *maps, uintptr_t a)
{
  for (size_t i = 0; i < maps->n; i++)
    if (a >= maps->r[i].start && a < maps->r[i].end)
      return &maps->r[i];
  return NULL;
}

/* A thread's stack, from `sp` to the end of the mapping holding it. */
static void
scan_stack (HtRecScan *sc, const HtRecRanges *maps, pid_t tid, uintptr_t sp)
{
  const HtRecRange *stack = mapping_of (maps, sp);
  if (stack)
    scan_mapped (sc, maps, sp, stack->end, HT_ROOT_STACK, tid, 0);
}

static bool
holds_block (const HtRecScan *sc, uintptr_t start, uintptr_t end)
{
  size_t a = 0, b = sc->n; /* the first block at or after start */
  while (a < b)
    {
      size_t mid = a + (b - a) / 2;
      if (sc->blocks[mid].ptr < start)
        a = mid + 1;
      else
        b = mid;
    }
  return a < sc->n && sc->blocks[a].ptr < end;
}

/* memcheck scans every mapping the program can write; so does the scan, except: malloc's
 * own (a mapping that holds a live block: [heap], arenas, mmap'd chunks), the recorder's,
 * thread stacks (from their live end, above) and loaded objects' data (above).  What is
 * left: the main thread's TLS, mappings the program made itself (arenas of its own
 * allocators), stacks of exited threads glibc keeps for reuse. */
static bool
overlaps (const HtRecRanges *ranges, uintptr_t start, uintptr_t end)
{
  for (size_t k = 0; k < ranges->n; k++)
    if (ranges->r[k].start < end && ranges->r[k].end > start)
      return true;
  return false;
}

/* Scans [start, end) but for the `dead` ranges in it (a Python frame stack's unused part). */
static void
scan_live_parts (HtRecScan *sc, const HtRecRanges *maps, uintptr_t start, uintptr_t end,
                 int kind, pid_t tid, const HtRecRanges *dead)
{
  while (start < end)
    {
      uintptr_t next_dead = end, dead_end = end;
      for (size_t i = 0; i < dead->n; i++)
        if (dead->r[i].end > start && dead->r[i].start < next_dead)
          {
            next_dead = dead->r[i].start > start ? dead->r[i].start : start;
            dead_end = dead->r[i].end;
          }
      if (next_dead > start)
        scan_mapped (sc, maps, start, next_dead, kind, tid, 0);
      start = dead_end;
    }
}

static void
scan_anonymous (HtRecScan *sc, const HtRecRanges *maps, const HtRecRanges *data,
                const HtRecRanges *own, const HtRecRanges *dead, const HtRecWorld *world,
                uintptr_t self_sp)
{
  for (size_t i = 0; i < maps->n; i++)
    {
      const HtRecRange *m = &maps->r[i];
      if (!(m->flags & HT_REC_RANGE_ANON) || holds_block (sc, m->start, m->end)
          || overlaps (own, m->start, m->end) || (self_sp >= m->start && self_sp < m->end))
        continue;
      bool skip = overlaps (data, m->start, m->end);
      int kind = HT_ROOT_ANON;
      pid_t tid = 0;
      if ((uintptr_t) pthread_self () >= m->start && (uintptr_t) pthread_self () < m->end)
        {
          kind = HT_ROOT_TLS;
          tid = ht_rec_gettid ();
        }
      for (size_t k = 0; k < world->n && !skip; k++)
        {
          const HtRecStopped *t = &world->threads[k];
          if (atomic_load (&t->state) != 1 /* stopped */)
            continue;
          skip = t->sp >= m->start && t->sp < m->end;
          if (t->tp >= m->start && t->tp < m->end)
            {
              kind = HT_ROOT_TLS;
              tid = t->tid;
            }
        }
      if (!skip)
        scan_live_parts (sc, maps, m->start, m->end, kind, tid, dead);
    }
}

static uint64_t
mono_now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* Whether [start, end) lies wholly in the (sorted) mappings `maps`. */
static bool
covered (const HtRecRanges *maps, uintptr_t start, uintptr_t end)
{
  size_t lo = 0, hi = maps->n;
  while (lo < hi)
    {
      size_t mid = (lo + hi) / 2;
      if (maps->r[mid].end <= start)
        lo = mid + 1;
      else
        hi = mid;
    }
  for (size_t i = lo; i < maps->n && maps->r[i].start <= start; i++)
    {
      if (maps->r[i].end >= end)
        return true;
      start = maps->r[i].end; /* goes on in the next mapping, if it starts right there */
    }
  return false;
}

/* A block's words, but only where the mappings let them be read. */
static void
scan_readable (HtRecScan *sc, const HtRecRanges *maps, uintptr_t start, uintptr_t end,
               int kind, pid_t tid, size_t source)
{
  if (covered (maps, start, end))
    {
      scan_words (sc, start, end, kind, tid, source, 0);
      return;
    }
  for (size_t i = 0; i < maps->n; i++)
    {
      uintptr_t a = start > maps->r[i].start ? start : maps->r[i].start;
      uintptr_t b = end < maps->r[i].end ? end : maps->r[i].end;
      if (a < b)
        scan_words (sc, a, b, kind, tid, source, 0);
    }
}

/* ---------------------------------------------------------------------------------------
 * Python objects: a block's type (ht-rec-python.c), named once per scan
 */
typedef struct
{
  const HtRecScan *sc;
  const HtRecRanges *data;
  const HtRecRanges *maps; /* readable mappings */
} HtRecReadable;

/* Whether [addr, addr + len) lies inside one live block or one loaded object's data, and
 * in readable mappings, so that reading it cannot fault. */
static bool
is_readable (uintptr_t addr, size_t len, void *ctx)
{
  const HtRecReadable *r = ctx;
  size_t index;
  uintptr_t offset;
  bool inside = false;
  if (find_block (r->sc, addr, &index, &offset))
    inside = offset + len <= r->sc->blocks[index].size;
  for (size_t i = 0; !inside && i < r->data->n; i++)
    inside = addr >= r->data->r[i].start && addr + len <= r->data->r[i].end;
  return inside && covered (r->maps, addr, addr + len);
}

#define TYPE_SLOTS 8192

typedef struct
{
  uintptr_t *slots; /* types named in this scan */
  size_t used;
} HtRecTypeSet;

/* True when `type` has its PYTYPE record in this scan (written now if needed); false when
 * it cannot be named (no name, or too many types). */
static bool
type_named (HtRecOut *out, HtRecTypeSet *set, uintptr_t type)
{
  if (!set->slots)
    {
      set->slots = ht_rec_mmap (TYPE_SLOTS * sizeof *set->slots);
      if (!set->slots)
        return false;
    }
  size_t i = (size_t) ((type >> 4) * 0x9E3779B97F4A7C15ull) & (TYPE_SLOTS - 1);
  for (; set->slots[i]; i = (i + 1) & (TYPE_SLOTS - 1))
    if (set->slots[i] == type)
      return true;
  if (set->used * 2 >= TYPE_SLOTS)
    return false;
  char name[256];
  size_t len = ht_rec_python_type_name (type, name, sizeof name);
  if (len == 0)
    return false;
  uint8_t *p = out_begin (out);
  if (!p)
    return false;
  *p++ = HT_REC_PYTYPE;
  p += ht_varint_put (p, type);
  out_end (out, ht_bytes_put (p, name, len));
  set->slots[i] = type;
  set->used++;
  return true;
}


/* Stops the world and fills sc->out with BLOCK, ROOTS and EDGES records.  Every stream is
 * held by the caller.  Returns HT_SCAN_* flags. */
static unsigned
scan_world (HtRecScan *sc, const HtRecRanges *data, const HtRecRanges *self, HtRecWorld *world,
            uintptr_t caller_sp, const jmp_buf *caller_regs)
{
  unsigned flags = 0;
  size_t n = ht_rec_live_count ();
  sc->blocks = ht_rec_mmap ((n ? n : 1) * sizeof *sc->blocks);
  if (!sc->blocks)
    return HT_SCAN_INCOMPLETE;
  sc->n = ht_rec_live_blocks (sc->blocks, n);
  if (!sort_blocks (sc->blocks, sc->n))
    return HT_SCAN_INCOMPLETE;
  index_pages (sc);
  sc->lo = sc->n ? sc->blocks[0].ptr : 1;
  sc->hi = 0;
  for (size_t i = 0; i < sc->n; i++)
    {
      uintptr_t end = sc->blocks[i].ptr + (sc->blocks[i].size ? sc->blocks[i].size : 1);
      sc->hi = end > sc->hi ? end : sc->hi;
    }

  /* the world stops before any block is read, so that no mapping changes under us: memory
   * is read only where /proc/self/maps says it can be (a program may mprotect part of its
   * heap PROT_NONE), and what cannot be read holds no pointers */
  if (!ht_rec_world_stop (world))
    flags |= HT_SCAN_NOT_STOPPED;
  else if (world->traced)
    flags |= HT_SCAN_PTRACE;
  HtRecRanges maps = { 0 }, readable_maps = { 0 };
  if (!ht_rec_rw_mappings (&maps) || !ht_rec_readable_mappings (&readable_maps))
    flags |= HT_SCAN_INCOMPLETE;

  sc->readable = &readable_maps;
  sc->data = data;
  HtRecReadable readable = { sc, data, &readable_maps };
  HtRecTypeSet types = { 0 };
  bool python = ht_rec_python_types_on ();
  for (size_t i = 0; i < sc->n; i++)
    {
      bool first_word = sc->blocks[i].size >= sizeof (uintptr_t)
                        && covered (&readable_maps, sc->blocks[i].ptr,
                                    sc->blocks[i].ptr + sizeof (uintptr_t));
      uintptr_t type = python && first_word
                         ? ht_rec_python_type_of (sc->blocks[i].ptr, sc->blocks[i].size,
                                                  is_readable, &readable)
                         : 0;
      if (type && !type_named (&sc->out, &types, type))
        type = 0;
      uint8_t *p = out_begin (&sc->out);
      if (!p)
        break;
      uintptr_t word = type;
      if (!type && first_word)
        memcpy (&word, (const void *) sc->blocks[i].ptr, sizeof word);
      *p++ = type ? HT_REC_PYBLOCK : HT_REC_BLOCK;
      p += ht_varint_put (p, sc->blocks[i].ptr);
      p += ht_varint_put (p, sc->blocks[i].size);
      p += ht_varint_put (p, word);
      if (type) /* where its GC header is: the collector's links, not references */
        p += ht_varint_put (p, ht_rec_python_gc_head (sc->blocks[i].ptr, type));
      out_end (&sc->out, p);
    }
  if (types.slots)
    ht_rec_munmap (types.slots, TYPE_SLOTS * sizeof *types.slots);

  for (size_t i = 0; i < data->n; i++)
    scan_mapped (sc, &maps, data->r[i].start, data->r[i].end, HT_ROOT_DATA, 0,
                 data->r[i].flags);
  uintptr_t boot_start, boot_end; /* libc's objects from before malloc was resolved */
  ht_rec_bootstrap_range (&boot_start, &boot_end);
  scan_mapped (sc, &maps, boot_start, boot_end, HT_ROOT_DATA, 0, 0);
  /* this thread's own stack, unless it is the sampler's (the request file): from the
   * frame of whoever called the recorder up, and the registers it held then; never the
   * recorder's own frames, which hold copies of what it read */
  if (ht_rec_gettid () != ht_rec_sampler_tid ())
    {
      scan_words (sc, (uintptr_t) caller_regs, (uintptr_t) (caller_regs + 1), HT_ROOT_STACK,
                  ht_rec_gettid (), 0, 0);
      scan_stack (sc, &maps, ht_rec_gettid (), caller_sp);
    }
  for (size_t i = 0; i < world->n; i++)
    if (atomic_load (&world->threads[i].state) == 1 /* stopped */)
      {
        const HtRecStopped *t = &world->threads[i];
        if (t->nregs) /* stopped by ptrace: its registers are not on its stack */
          scan_words (sc, (uintptr_t) t->regs, (uintptr_t) (t->regs + t->nregs), HT_ROOT_STACK,
                      t->tid, 0, 0);
        scan_stack (sc, &maps, t->tid, t->sp);
      }
  HtRecRanges own = { 0 };
  if (!ht_rec_own_ranges (&own))
    flags |= HT_SCAN_INCOMPLETE;
  for (size_t i = 0; i < self->n; i++) /* this library's data: buffers of copied pointers */
    if (!ht_rec_ranges_add (&own, self->r[i].start, self->r[i].end, 0))
      flags |= HT_SCAN_INCOMPLETE;
  HtRecRanges dead = { 0 };
  ht_rec_python_dead_stacks (&dead);
  scan_anonymous (sc, &maps, data, &own, &dead, world, caller_sp);
  ht_rec_ranges_free (&own);
  ht_rec_ranges_free (&dead);
  for (size_t i = 0; i < sc->n; i++)
    {
      scan_readable (sc, &readable_maps, sc->blocks[i].ptr,
                     sc->blocks[i].ptr + sc->blocks[i].size, 0, 0, i);
      sc->heap_bytes += sc->blocks[i].size;
    }
  ht_rec_world_resume (world);
  ht_rec_ranges_free (&maps);
  ht_rec_ranges_free (&readable_maps);
  if (sc->out.failed)
    flags |= HT_SCAN_INCOMPLETE;
  return flags;
}

/* With --graph: the heap graph at a snapshot or at exit.  Every stream is held first, so
 * that the program's threads wait at their next event (a block is freed only after its
 * FREE is written: each block read is live), and drained, so that the live-block table
 * holds every event written so far; the other threads are stopped while memory is read;
 * BLOCK, ROOTS, EDGES and SCAN records are written.  `then` runs before the streams are
 * let go (the SNAPSHOT record, so that it follows the scan). */
static void live_scan (void (*then) (void *), void *data, uintptr_t caller_sp,
                       const jmp_buf *caller_regs);

__attribute__ ((noinline)) void
ht_rec_live_scan (void (*then) (void *), void *data)
{
  if (!ht_rec_live_enabled ())
    {
      if (then)
        then (data);
      return;
    }
  /* the caller's registers, and where its frames begin: the stack above this frame */
  jmp_buf caller_regs;
  setjmp (caller_regs);
  live_scan (then, data, (uintptr_t) __builtin_frame_address (0),
             (const jmp_buf *) &caller_regs);
}

/* Where the frames of exit()'s caller begin: at exit, everything deeper is exit's own
 * machinery (its handlers, ld.so's destructors, the recorder), run over the dead frames of
 * main and its callees, whose stale slots must not count as roots.  0 when exit() is not
 * on the stack. */
static uintptr_t
exit_caller_sp (void)
{
  void *fn = dlsym (RTLD_DEFAULT, "exit");
  Dl_info info;
  const ElfW (Sym) *sym = NULL;
  if (!fn || !dladdr1 (fn, &info, (void **) &sym, RTLD_DL_SYMENT) || !sym || !sym->st_size)
    return 0;
  uintptr_t start = (uintptr_t) fn, end = start + sym->st_size;
  unw_context_t uc;
  unw_cursor_t cursor;
  if (unw_getcontext (&uc) != 0 || unw_init_local (&cursor, &uc) != 0)
    return 0;
  for (int depth = 0; depth < 256 && unw_step (&cursor) > 0; depth++)
    {
      unw_word_t ip, sp;
      if (unw_get_reg (&cursor, UNW_REG_IP, &ip) != 0)
        return 0;
      if (ip - 1 >= start && ip - 1 < end)
        return unw_step (&cursor) > 0 && unw_get_reg (&cursor, UNW_REG_SP, &sp) == 0
                 ? (uintptr_t) sp
                 : 0;
    }
  return 0;
}

/* The scan at exit: this thread's stack from exit()'s caller up, and none of the
 * registers of the code that runs exit (they hold nothing of the program's). */
__attribute__ ((noinline)) void
ht_rec_live_scan_at_exit (void)
{
  if (!ht_rec_live_enabled ())
    return;
  uintptr_t from = exit_caller_sp ();
  if (!from)
    {
      ht_rec_live_scan (NULL, NULL);
      return;
    }
  jmp_buf none;
  memset (&none, 0, sizeof none);
  live_scan (NULL, NULL, from, (const jmp_buf *) &none);
}

static void
live_scan (void (*then) (void *), void *data, uintptr_t caller_sp, const jmp_buf *caller_regs)
{
  HtRecRanges modules = { 0 }, self = { 0 };
  bool modules_ok = ht_rec_module_data (&modules, &self); /* the loader's lock: before */
  ht_rec_threads_hold (true);
  ht_rec_streams_with_queue (ht_rec_live_drop_markers); /* all replayed: nothing is pending */
  uint64_t t0 = mono_now_ns ();
  HtRecScan sc = { 0 };
  HtRecWorld world = { 0 };
  unsigned flags = scan_world (&sc, &modules, &self, &world, caller_sp, caller_regs);
  uint64_t took = mono_now_ns () - t0;
  if (!modules_ok)
    flags |= HT_SCAN_INCOMPLETE;

  HtRecStream *c = ht_rec_control_stream ();
  ht_rec_stream_lock (c);
  uint64_t stamp = ht_rec_stamp ();
  for (size_t off = 0; off + 2 <= sc.out.len;)
    {
      size_t len = (size_t) sc.out.buf[off] | (size_t) sc.out.buf[off + 1] << 8;
      const uint8_t *rec = sc.out.buf + off + 2;
      uint8_t *p = ht_rec_record_begin (c, rec[0], stamp, len - 1);
      memcpy (p, rec + 1, len - 1);
      ht_rec_record_end (c, p + len - 1);
      off += 2 + len;
    }
  uint64_t fields[] = { sc.n, sc.edges, sc.root_words, sc.heap_bytes, sc.root_bytes,
                        world.stopped, world.missed, took, flags };
  uint8_t *p = ht_rec_record_begin (c, HT_REC_SCAN, stamp, sizeof fields / sizeof *fields
                                                          * HT_VARINT_MAX);
  for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
    p += ht_varint_put (p, fields[i]);
  ht_rec_record_end (c, p);
  ht_rec_stream_unlock (c);
  if (then)
    then (data);
  ht_rec_threads_hold (false);
  if (sc.out.buf)
    ht_rec_munmap (sc.out.buf, sc.out.cap);
  if (sc.blocks)
    ht_rec_munmap (sc.blocks, (sc.n ? sc.n : 1) * sizeof *sc.blocks);
  if (sc.pages)
    ht_rec_munmap (sc.pages, (sc.page_mask + 1) * sizeof *sc.pages);
  ht_rec_ranges_free (&modules);
  ht_rec_ranges_free (&self);
}

