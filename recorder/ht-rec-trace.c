/* ht-rec-trace.c - call stacks, the trace tree, and the module map.
 *
 * A call stack becomes one node id of a tree whose nodes are (parent, return address):
 *
 *   root ── main+0x21 ── parse_file+0x44 ── parse_record+0x1c   <- node 3 names this stack
 *                    └── build_index+0x90                       <- node 4
 *
 * Three levels keep interning off the hot path:
 *   1. the thread's previous stack: frames shared from the outermost end are reused as is;
 *   2. a per-thread direct-mapped cache of (parent, ip) -> node;
 *   3. a global open-addressing table under a mutex, which also assigns new ids and writes
 *      the TRACE_NODE record into the creating thread's stream *before* the node becomes
 *      visible, so any event using it is stamped after its definition.
 *
 * Symbolization is offline: the log carries the module map (path, load bias, build-id,
 * executable segments) and the analyzer resolves addresses with libdw.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "ht-rec-private.h"

/* ---------------------------------------------------------------------------------------
 * Module map
 */
typedef struct
{
  size_t count, capacity;
  HtRecRange ranges[];
} HtRecCodeRanges;

static HtRecCodeRanges *_Atomic known_ranges; /* sorted; replaced, never edited */
static pthread_mutex_t rescan_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long seen_adds, seen_subs;

typedef struct
{
  HtRecCodeRanges *ranges;
  bool first;
  unsigned long long adds, subs;
} HtRecScan;

static size_t
build_id_of (const struct dl_phdr_info *info, const uint8_t **out)
{
  for (int i = 0; i < info->dlpi_phnum; i++)
    {
      const ElfW (Phdr) *ph = &info->dlpi_phdr[i];
      if (ph->p_type != PT_NOTE)
        continue;
      const uint8_t *p = (const uint8_t *) (info->dlpi_addr + ph->p_vaddr);
      const uint8_t *end = p + ph->p_memsz;
      while (p + sizeof (ElfW (Nhdr)) <= end)
        {
          const ElfW (Nhdr) *n = (const ElfW (Nhdr) *) p;
          const uint8_t *name = p + sizeof *n;
          const uint8_t *desc = name + ((n->n_namesz + 3) & ~3u);
          if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp (name, "GNU", 4) == 0
              && desc + n->n_descsz <= end)
            {
              *out = desc;
              return n->n_descsz;
            }
          p = desc + ((n->n_descsz + 3) & ~3u);
        }
    }
  return 0;
}

static int
scan_one (struct dl_phdr_info *info, size_t size, void *data)
{
  (void) size;
  HtRecScan *scan = data;
  scan->adds = info->dlpi_adds;
  scan->subs = info->dlpi_subs;

  char exe[PATH_MAX];
  const char *path = info->dlpi_name;
  if (!path || !*path)
    {
      ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
      exe[n > 0 ? n : 0] = 0;
      path = exe;
    }
  size_t path_len = strnlen (path, PATH_MAX);
  const uint8_t *bid = NULL;
  size_t bid_len = build_id_of (info, &bid);

  HtRecStream *s = ht_rec_control_stream ();
  ht_rec_stream_lock (s);
  size_t need = 16 + path_len + 4 * HT_VARINT_MAX + bid_len + info->dlpi_phnum * 20;
  uint8_t *p = ht_rec_record_begin (s, HT_REC_MODULE, ht_rec_stamp (), need);
  p += ht_varint_put (p, scan->first ? HT_MODULE_NEW_MAP : 0);
  p += ht_varint_put (p, path_len);
  memcpy (p, path, path_len);
  p += path_len;
  p += ht_varint_put (p, info->dlpi_addr);
  p += ht_varint_put (p, bid_len);
  memcpy (p, bid, bid_len);
  p += bid_len;
  size_t nseg = 0;
  for (int i = 0; i < info->dlpi_phnum; i++)
    if (info->dlpi_phdr[i].p_type == PT_LOAD && (info->dlpi_phdr[i].p_flags & PF_X))
      nseg++;
  p += ht_varint_put (p, nseg);
  for (int i = 0; i < info->dlpi_phnum; i++)
    {
      const ElfW (Phdr) *ph = &info->dlpi_phdr[i];
      if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
        continue;
      p += ht_varint_put (p, ph->p_vaddr);
      p += ht_varint_put (p, ph->p_memsz);
      HtRecCodeRanges *r = scan->ranges;
      if (r && r->count < r->capacity)
        r->ranges[r->count++] = (HtRecRange){ info->dlpi_addr + ph->p_vaddr,
                                              info->dlpi_addr + ph->p_vaddr + ph->p_memsz, 0 };
    }
  ht_rec_record_end (s, p);
  ht_rec_stream_unlock (s);
  scan->first = false;
  return 0;
}

static int
count_one (struct dl_phdr_info *info, size_t size, void *data)
{
  (void) size;
  size_t *n = data;
  for (int i = 0; i < info->dlpi_phnum; i++)
    if (info->dlpi_phdr[i].p_type == PT_LOAD && (info->dlpi_phdr[i].p_flags & PF_X))
      (*n)++;
  return 0;
}

static int
range_cmp (const void *a, const void *b)
{
  const HtRecRange *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

/* Writes the whole module map and publishes its address ranges for modules_know().
 * Old range tables are never unmapped (readers hold no lock); rescans are rare. */
void
ht_rec_modules_write (void)
{
  if (pthread_mutex_trylock (&rescan_lock) != 0)
    return; /* another thread is writing the same map right now */
  size_t n = 0;
  dl_iterate_phdr (count_one, &n);
  n += 16; /* objects loaded between the two walks */
  HtRecScan scan = { .first = true };
  scan.ranges = ht_rec_mmap (sizeof (HtRecCodeRanges) + n * sizeof (HtRecRange));
  if (scan.ranges)
    scan.ranges->capacity = n;
  dl_iterate_phdr (scan_one, &scan);
  seen_adds = scan.adds;
  seen_subs = scan.subs;
  if (scan.ranges)
    {
      /* insertion sort: qsort may allocate */
      HtRecRange *r = scan.ranges->ranges;
      for (size_t i = 1; i < scan.ranges->count; i++)
        for (size_t j = i; j > 0 && range_cmp (&r[j - 1], &r[j]) > 0; j--)
          {
            HtRecRange tmp = r[j];
            r[j] = r[j - 1];
            r[j - 1] = tmp;
          }
      atomic_store (&known_ranges, scan.ranges);
    }
  pthread_mutex_unlock (&rescan_lock);
}

static int
peek_counts (struct dl_phdr_info *info, size_t size, void *data)
{
  (void) size;
  unsigned long long *c = data;
  c[0] = info->dlpi_adds;
  c[1] = info->dlpi_subs;
  return 1;
}

bool
ht_rec_modules_changed (void)
{
  unsigned long long c[2] = { 0, 0 };
  dl_iterate_phdr (peek_counts, c);
  return c[0] != seen_adds || c[1] != seen_subs;
}

/* After objects were loaded or unloaded: a new map, and when something was unloaded a new
 * trace tree generation, since another object may now sit at the same addresses and its
 * frames must not reuse the old object's nodes.  Node ids keep increasing. */
void
ht_rec_modules_refresh (void)
{
  unsigned long long subs_before = seen_subs;
  if (!ht_rec_modules_changed ())
    return;
  ht_rec_modules_write ();
  if (seen_subs != subs_before)
    ht_rec_trace_reset ();
}

static bool
modules_know (uintptr_t ip)
{
  HtRecCodeRanges *r = atomic_load (&known_ranges);
  if (!r)
    return false;
  size_t lo = 0, hi = r->count;
  while (lo < hi)
    {
      size_t mid = (lo + hi) / 2;
      if (ip < r->ranges[mid].start)
        hi = mid;
      else if (ip >= r->ranges[mid].end)
        lo = mid + 1;
      else
        return true;
    }
  return false;
}

/* ---------------------------------------------------------------------------------------
 * The global node table
 */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint32_t generation; /* bumped by ht_rec_trace_reset() */
static HtRecTraceSlot *table;
static size_t table_mask; /* capacity - 1 */
static size_t table_used;
static uint32_t next_node = 1;

static inline size_t
slot_hash (uint32_t parent, uintptr_t ip)
{
  uint64_t h = (uint64_t) ip * 0x9E3779B97F4A7C15ull ^ ((uint64_t) parent * 0xC2B2AE3D27D4EB4Full);
  return (size_t) (h ^ (h >> 29));
}

static bool
table_grow (void)
{
  size_t cap = table ? (table_mask + 1) * 2 : 16384;
  HtRecTraceSlot *t = ht_rec_mmap_table (cap * sizeof *t);
  if (!t)
    return false;
  if (table)
    {
      for (size_t i = 0; i <= table_mask; i++)
        if (table[i].node)
          {
            size_t j = slot_hash (table[i].parent, table[i].ip) & (cap - 1);
            while (t[j].node)
              j = (j + 1) & (cap - 1);
            t[j] = table[i];
          }
      ht_rec_munmap (table, (table_mask + 1) * sizeof *table);
    }
  table = t;
  table_mask = cap - 1;
  return true;
}

static void
write_node (HtRecStream *s, uint32_t id, uint32_t parent, uintptr_t ip)
{
  ht_rec_stream_lock (s);
  uint8_t *p = ht_rec_record_begin (s, HT_REC_TRACE_NODE, ht_rec_stamp (), 3 * HT_VARINT_MAX);
  p += ht_varint_put (p, id);
  p += ht_varint_put (p, parent);
  p += ht_varint_put (p, ip);
  ht_rec_record_end (s, p);
  ht_rec_stream_unlock (s);
}

static uint32_t
table_intern (HtRecThread *t, uint32_t parent, uintptr_t ip)
{
  if (!(ip & HT_FRAME_PYTHON) && !modules_know (ip) && ht_rec_modules_changed ())
    ht_rec_modules_write (); /* a dlopen'd library: its map first, then the node */

  pthread_mutex_lock (&table_lock);
  uint32_t node = 0;
  if ((table_used + 1) * 2 > table_mask + 1 && !table_grow ())
    goto out;
  size_t i = slot_hash (parent, ip) & table_mask;
  while (table[i].node)
    {
      if (table[i].parent == parent && table[i].ip == ip)
        {
          node = table[i].node;
          goto out;
        }
      i = (i + 1) & table_mask;
    }
  node = next_node++;
  write_node (&t->stream, node, parent, ip);
  table[i] = (HtRecTraceSlot){ .parent = parent, .node = node, .ip = ip };
  table_used++;
out:
  pthread_mutex_unlock (&table_lock);
  return node;
}

static inline uint32_t
intern (HtRecThread *t, uint32_t parent, uintptr_t ip)
{
  HtRecTraceSlot *c = &t->cache[slot_hash (parent, ip) & (HT_REC_TRACE_CACHE - 1)];
  if (HT_REC_LIKELY (c->node && c->parent == parent && c->ip == ip))
    return c->node;
  uint32_t node = table_intern (t, parent, ip);
  if (node)
    *c = (HtRecTraceSlot){ .parent = parent, .node = node, .ip = ip };
  return node;
}

void
ht_rec_trace_lock_all (void)
{
  pthread_mutex_lock (&rescan_lock);
  pthread_mutex_lock (&table_lock);
}

void
ht_rec_trace_unlock_all (void)
{
  pthread_mutex_unlock (&table_lock);
  pthread_mutex_unlock (&rescan_lock);
}

/* Forgets every (parent, ip) -> node mapping; threads drop their caches on their next
 * capture.  New nodes get new ids, so old ones stay valid in the log. */
void
ht_rec_trace_reset (void)
{
  pthread_mutex_lock (&table_lock);
  if (table)
    memset (table, 0, (table_mask + 1) * sizeof *table);
  table_used = 0;
  atomic_fetch_add (&generation, 1);
  pthread_mutex_unlock (&table_lock);
  ht_rec_unwind_forget ();
}

uint32_t
ht_rec_trace_next_node (void)
{
  pthread_mutex_lock (&table_lock);
  uint32_t n = next_node;
  pthread_mutex_unlock (&table_lock);
  return n;
}

/* An exec'd image going on with its predecessor's log numbers its nodes after the ones
 * that log already holds. */
void
ht_rec_trace_set_next_node (uint32_t node)
{
  if (node > 0 && node < (1u << 30))
    next_node = node;
}

void
ht_rec_trace_init (void)
{
  ht_rec_unwind_init ();
}

/* ---------------------------------------------------------------------------------------
 * Capture
 */

/* Where a stack of `depth` frames is looked for in a thread's memo of stacks and nodes:
 * a stack the thread met lately is named without interning its frames again. */
static inline size_t
memo_hash (void *const *frames, int depth)
{
  uint64_t h = (uint64_t) depth;
  for (int i = 0; i < depth; i++)
    h = (h ^ (uintptr_t) frames[i]) * 0x9E3779B97F4A7C15ull;
  return (size_t) (h >> 40);
}

/* Unwinds the calling thread and returns the node naming its stack (0: empty stack). */
uint32_t
ht_rec_trace_capture (HtRecThread *t)
{
  uint32_t gen = atomic_load_explicit (&generation, memory_order_acquire);
  if (HT_REC_UNLIKELY (t->generation != gen))
    {
      t->depth = 0;
      t->nat_n = 0;
      t->plain = false;
      memset (t->cache, 0, sizeof t->cache);
      memset (t->memo, 0, sizeof t->memo);
      t->generation = gen;
    }
  void *ips[HT_REC_MAX_FRAMES + 16];
  /* ips[0] is the innermost frame; the tree is built from the outermost one. */
  void **frames = ips;
  void *merged[2 * HT_REC_MAX_FRAMES + 16];
  int room = (int) (sizeof merged / sizeof merged[0]) - 1;
  /* In a CPython program: the native frames below the evaluation loop, then Python's */
  int depth = ht_rec_python_capture (t, (uintptr_t *) merged, room);
  /* the outer frames this stack shares with the previous one for certain: when both are
   * native stacks as ht_rec_unwind gave them, the part of the previous one it kept */
  int kept = 0;
  bool plain = false;
  if (depth >= 0)
    frames = merged;
  else
    {
      depth = ht_rec_unwind (t, (uintptr_t *) ips, ht_rec_max_frames + 16);
      /* every native frame asked for: the Python frames take the evaluation loop's place */
      int m = ht_rec_python_merge (&t->stream, frames, depth, (uintptr_t *) merged, room);
      if (m >= 0)
        {
          frames = merged;
          depth = m;
        }
      else
        {
          plain = depth <= ht_rec_max_frames;
          if (plain && t->plain)
            kept = t->nat_kept < t->depth ? t->nat_kept : t->depth;
        }
    }
  /* A stack deeper than the limit keeps its innermost frames under a marker frame, so the
   * analyzer shows it as cut rather than as a stack starting where the cut fell. */
  if (depth > ht_rec_max_frames)
    {
      depth = ht_rec_max_frames + 1;
      frames[ht_rec_max_frames] = (void *) HT_FRAME_CUT;
    }
  if (HT_REC_UNLIKELY (ht_rec_verify_stacks) && kept)
    {
      int same = 0;
      while (same < kept && t->prev_ips[same] == (uintptr_t) frames[depth - 1 - same])
        same++;
      ht_rec_verify_count (HT_VERIFY_KEPT, same == kept);
    }
  t->plain = false; /* until this capture has written prev_ips below */

  HtRecStackMemo *memo = NULL;
  uint32_t from_memo = 0; /* with HEAPTRAIL_VERIFY_STACKS, the memo's node, checked below */
  if (!kept && depth <= HT_REC_MEMO_FRAMES) /* kept: only the new inner frames are interned */
    {
      memo = &t->memo[memo_hash (frames, depth) & (HT_REC_MEMO - 1)];
      int i = 0;
      if (memo->depth == (uint32_t) depth) /* a plain loop: a few words, memcmp costs more */
        while (i < depth && memo->ips[i] == (uintptr_t) frames[i])
          i++;
      if (i == depth && memo->node)
        {
          if (HT_REC_LIKELY (!ht_rec_verify_stacks))
            return memo->node;
          from_memo = memo->node;
        }
    }

  int k = kept;
  while (k < depth && k < t->depth && t->prev_ips[k] == (uintptr_t) frames[depth - 1 - k])
    k++;
  uint32_t parent = k ? t->prev_nodes[k - 1] : 0;
  for (int j = k; j < depth; j++)
    {
      uintptr_t ip = (uintptr_t) frames[depth - 1 - j];
      uint32_t node = intern (t, parent, ip);
      if (!node)
        {
          depth = j; /* out of memory for the table: keep the outer part */
          memo = NULL;
          plain = false;
          break;
        }
      parent = node;
      t->prev_ips[j] = ip;
      t->prev_nodes[j] = parent;
    }
  t->depth = depth;
  t->plain = plain;
  if (HT_REC_UNLIKELY (from_memo))
    ht_rec_verify_count (HT_VERIFY_MEMO, from_memo == parent);
  if (memo && parent)
    {
      memo->node = parent;
      memo->depth = (uint32_t) depth;
      for (int i = 0; i < depth; i++)
        memo->ips[i] = (uintptr_t) frames[i];
    }
  return parent;
}
