/* ht-rec-unwind.c - the program's native call stack at an allocation, without paying for
 * the frames that did not change since the thread's previous allocation.
 *
 * libunwind's unw_backtrace walks every frame each time, and deep stacks (an interpreter's,
 * say) cost most of the recorder's time.  Most of a stack is the same from one allocation
 * to the next: only the innermost frames change.  So each thread keeps its previous stack
 * with, for each frame, the stack slot that held its return address.  A frame whose slot
 * still holds the same return address, with every slot above it unchanged, is the same
 * call chain up to the root (return addresses name the chain, and a frame's slot depends
 * only on its function and the stack pointer), and that part is reused as it was.
 *
 *   slot_0 ── the return address into the caller of malloc, just above the recorder's frames
 *   slot_k+1 = slot_k + size(ip_k)
 *
 * size(ip), the distance from a frame's return-address slot to its caller's, depends only
 * on where the frame's function was when it called (its frame size at that call).  It is
 * learnt from libunwind: once per new return address, one slow unwind (unw_step, which
 * reports each frame's stack pointer) records it for every frame of the stack.  A function
 * whose frame size changes (alloca, stack realignment, signal frames) is seen with two sizes
 * and marked, and stacks through it are never reused.
 *
 * A capture first asks unw_backtrace for the innermost few frames only, computes their
 * slots and checks that each holds the return address libunwind found there; then the first
 * frame that matches the previous stack (same slot, same value, every slot above unchanged)
 * completes it.  Otherwise it unwinds in full, as before, and remembers.  With
 * HEAPTRAIL_VERIFY_STACKS=1 every reused stack is compared with a full unwind, and the
 * counts are printed at exit (tests/e2e: e2e_stack_cache).
 */
#define _GNU_SOURCE
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "ht-rec-private.h"

extern void *__libc_stack_end; /* ld.so: the main thread's stack pointer at start */

static uintptr_t own_start, own_end; /* this library's text, skipped in stacks */

#define INNER 10 /* frames unw_backtrace is first asked for: the recorder's (3-4) and a few */

/* Learnt frame sizes: return address -> distance to the caller's return-address slot.
 * Open addressing; entries are written under a mutex and read without one (the ip is
 * published after the size). */
#define SIZES_BITS 16
#define SIZE_DYNAMIC UINT32_MAX
typedef struct
{
  _Atomic uintptr_t ip;
  _Atomic uint32_t size;
  _Atomic uint32_t confirmed; /* a full unwind found the caller's return address there */
} HtFrameSize;

static HtFrameSize *sizes;
static size_t sizes_used;
static _Atomic uint32_t sizes_epoch; /* bumped when a size is withdrawn: threads drop theirs */
static pthread_mutex_t sizes_lock = PTHREAD_MUTEX_INITIALIZER;

bool ht_rec_verify_stacks; /* HEAPTRAIL_VERIFY_STACKS=1 */
static _Atomic uint64_t n_reused, n_full, n_mismatch;
static _Atomic uint64_t n_checked[HT_VERIFY_KINDS], n_differ[HT_VERIFY_KINDS];

void
ht_rec_verify_count (HtVerifyKind kind, bool same)
{
  atomic_fetch_add (&n_checked[kind], 1);
  if (!same)
    atomic_fetch_add (&n_differ[kind], 1);
}

static inline bool
is_own (uintptr_t ip)
{
  return ip >= own_start && ip < own_end;
}

static inline size_t
ip_hash (uintptr_t ip)
{
  return (size_t) ((ip * UINT64_C (0x9E3779B97F4A7C15)) >> (64 - SIZES_BITS));
}

static inline HtFrameSize *
entry_of (uintptr_t ip)
{
  size_t mask = ((size_t) 1 << SIZES_BITS) - 1;
  for (size_t i = ip_hash (ip), n = 0; n < 64; i = (i + 1) & mask, n++)
    {
      uintptr_t e = atomic_load_explicit (&sizes[i].ip, memory_order_acquire);
      if (e == ip)
        return &sizes[i];
      if (e == 0)
        return NULL;
    }
  return NULL;
}

/* The frame size learnt for `ip`: 0 when unknown, SIZE_DYNAMIC when it varies. */
static inline uint32_t
size_of (uintptr_t ip)
{
  HtFrameSize *e = entry_of (ip);
  return e ? atomic_load_explicit (&e->size, memory_order_relaxed) : 0;
}

/* The size, if a full unwind has confirmed it since it was learnt; else 0. */
static inline uint32_t
confirmed_size_of (uintptr_t ip)
{
  HtFrameSize *e = entry_of (ip);
  if (!e || !atomic_load_explicit (&e->confirmed, memory_order_relaxed))
    return 0;
  uint32_t size = atomic_load_explicit (&e->size, memory_order_relaxed);
  return size == SIZE_DYNAMIC ? 0 : size;
}

/* What a full unwind saw: the caller's return address was (or was not) where `ip`'s
 * frame size said. */
static void
confirm_size (uintptr_t ip, bool right)
{
  HtFrameSize *e = entry_of (ip);
  if (!e)
    return;
  if (right)
    {
      if (!atomic_load_explicit (&e->confirmed, memory_order_relaxed))
        atomic_store_explicit (&e->confirmed, 1, memory_order_relaxed);
    }
  else if (atomic_exchange_explicit (&e->size, SIZE_DYNAMIC, memory_order_relaxed) != SIZE_DYNAMIC)
    atomic_fetch_add (&sizes_epoch, 1);
}

static void
learn_size (uintptr_t ip, uint32_t size)
{
  size_t mask = ((size_t) 1 << SIZES_BITS) - 1;
  pthread_mutex_lock (&sizes_lock);
  for (size_t i = ip_hash (ip), n = 0; n < 64; i = (i + 1) & mask, n++)
    {
      uintptr_t e = atomic_load_explicit (&sizes[i].ip, memory_order_relaxed);
      if (e == ip)
        {
          if (atomic_load_explicit (&sizes[i].size, memory_order_relaxed) != size)
            {
              atomic_store_explicit (&sizes[i].size, SIZE_DYNAMIC, memory_order_relaxed);
              atomic_fetch_add (&sizes_epoch, 1);
            }
          break;
        }
      if (e == 0)
        {
          if (sizes_used * 2 > mask) /* half full: learn no more, reuse what is known */
            break;
          atomic_store_explicit (&sizes[i].size, size, memory_order_relaxed);
          atomic_store_explicit (&sizes[i].ip, ip, memory_order_release);
          sizes_used++;
          break;
        }
    }
  pthread_mutex_unlock (&sizes_lock);
}

/* One slow unwind, which knows each frame's stack pointer: the size of the program's
 * `frames` innermost frames is learnt (a frame's size is its caller's stack pointer minus
 * its own).  Each step costs libunwind two system calls (it masks signals around its cache),
 * so the unwind goes no further than the outermost frame it has to learn. */
static void
learn_stack (int frames)
{
  unw_context_t ctx;
  unw_cursor_t cur;
  if (unw_getcontext (&ctx) != 0 || unw_init_local (&cur, &ctx) != 0)
    return;
  unw_word_t prev_ip = 0, prev_sp = 0;
  bool have_prev = false, prev_signal = false;
  for (int n = 0; n < HT_REC_MAX_FRAMES + 16; n++)
    {
      unw_word_t ip = 0, sp = 0;
      unw_get_reg (&cur, UNW_REG_IP, &ip);
      unw_get_reg (&cur, UNW_REG_SP, &sp);
      bool signal = unw_is_signal_frame (&cur) > 0;
      if (have_prev && !is_own (prev_ip))
        {
          learn_size (prev_ip, prev_signal || signal || sp <= prev_sp
                                   || sp - prev_sp >= SIZE_DYNAMIC
                                 ? SIZE_DYNAMIC
                                 : (uint32_t) (sp - prev_sp));
          if (--frames <= 0)
            break;
        }
      prev_ip = ip;
      prev_sp = sp;
      prev_signal = signal;
      have_prev = true;
      if (unw_step (&cur) <= 0)
        break;
    }
}

/* Where the return address into the allocating function lies: the hook said where, in
 * the recursion guard (ht-rec-hooks.c); else our own functions keep frame pointers, so the
 * chain of saved frame pointers leads out of the recorder. */
static __attribute__ ((noinline)) uintptr_t
first_slot_walk (void)
{
  uintptr_t *fp = __builtin_frame_address (0);
  for (int n = 0; n < 16 && fp; n++)
    {
      if (!is_own (fp[1]))
        return (uintptr_t) &fp[1];
      fp = (uintptr_t *) fp[0];
    }
  return 0;
}

static inline uintptr_t
first_slot (void)
{
  uintptr_t slot = ht_rec_hot.guard;
  return HT_REC_LIKELY (slot > 1) ? slot : first_slot_walk ();
}

/* The top of the calling thread's stack, or 0 when unknown: no slot is read above it. */
static uintptr_t
stack_top (HtRecThread *t)
{
  if (t->stack_top)
    return t->stack_top;
  uintptr_t top = 1; /* tried, unknown */
  if (ht_rec_gettid () == getpid ())
    top = (uintptr_t) __libc_stack_end;
  else
    {
      /* the end of the mapping the stack is in (where glibc keeps the thread's descriptor,
       * as pthread_getattr_np's top), read without allocating (ht-rec-world.c says why) */
      uintptr_t end = ht_rec_mapping_end ((uintptr_t) __builtin_frame_address (0));
      if (end)
        top = end;
    }
  t->stack_top = top;
  return top;
}

/* Slots of ips[0..n) from slot0, each checked to hold its return address; returns how
 * many are known (stops at an unknown or varying frame size, or at a mismatch). */
static int
compute_slots (const uintptr_t *ips, int n, uintptr_t slot0, uintptr_t top, uintptr_t *slots,
               bool *unknown)
{
  uintptr_t slot = slot0;
  for (int k = 0; k < n; k++)
    {
      bool right = slot + sizeof (uintptr_t) <= top && *(const uintptr_t *) slot == ips[k];
      if (k > 0)
        confirm_size (ips[k - 1], right);
      if (!right)
        return k;
      slots[k] = slot;
      if (k + 1 == n)
        return n;
      uint32_t size = size_of (ips[k]);
      if (size == 0 || size == SIZE_DYNAMIC)
        {
          *unknown = size == 0;
          return k + 1;
        }
      slot += size;
    }
  return n;
}

/* unw_backtrace without the recorder's frames: innermost first. */
static int
backtrace_program (uintptr_t *out, int max)
{
  void *raw[HT_REC_MAX_FRAMES + 32];
  int n = unw_backtrace (raw, max + 8 < HT_REC_MAX_FRAMES + 32 ? max + 8 : HT_REC_MAX_FRAMES + 32);
  int skip = 0;
  while (skip < n && is_own ((uintptr_t) raw[skip]))
    skip++;
  int m = n - skip < max ? n - skip : max;
  for (int i = 0; i < m; i++)
    out[i] = (uintptr_t) raw[skip + i];
  return m;
}

/* Remembers a stack whose every slot is known, for the next capture of this thread.  The
 * thread keeps it outermost first (ips and slots come innermost first), so that a stack
 * sharing its outer part keeps that part where it is. */
static void
remember (HtRecThread *t, const uintptr_t *ips, const uintptr_t *slots, int n, bool complete)
{
  t->nat_n = complete ? n : 0;
  if (complete)
    for (int i = 0; i < n; i++)
      {
        t->nat_ips[n - 1 - i] = ips[i];
        t->nat_slots[n - 1 - i] = slots[i];
      }
}

/* Whether the previous stack's frames outer than its frame j (j counted from the
 * outermost, 0) are still there. */
static bool
still_there (const HtRecThread *t, int j)
{
  for (int i = 0; i < j; i++)
    if (*(const uintptr_t *) t->nat_slots[i] != t->nat_ips[i])
      return false;
  return true;
}

/* The frame size of `ip` if confirmed, through the thread's own small cache of them. */
static inline uint32_t
thread_size_of (HtRecThread *t, uintptr_t ip)
{
  HtRecFrameSize *c = &t->sizes[(ip ^ (ip >> 12)) & (HT_REC_SIZE_CACHE - 1)];
  if (HT_REC_LIKELY (c->ip == ip))
    return c->size;
  uint32_t size = confirmed_size_of (ip);
  if (size)
    *c = (HtRecFrameSize){ ip, size };
  return size;
}

/* Where the caller's return address lies, for the return address `ip` found at `slot`:
 * the step the thread took from there lately, if it is in the thread's table (the
 * interpreter's few call chains to malloc, walked again and again), else the confirmed
 * size of ip's frame.  0 when the size is not confirmed.  The table is smaller than the
 * one of sizes it saves a look into, so that it stays in the L1 cache. */
static inline uintptr_t
step (HtRecThread *t, uintptr_t slot, uintptr_t ip)
{
  HtRecStep *e = &t->steps[((slot ^ ip) * UINT64_C (0x9E3779B97F4A7C15)) >> 56];
  _Static_assert (HT_REC_STEPS == 256, "an 8-bit hash");
  if (HT_REC_LIKELY (e->slot == slot && e->ip == ip))
    return e->next;
  uint32_t size = thread_size_of (t, ip);
  if (!size)
    return 0;
  *e = (HtRecStep){ slot, ip, slot + size };
  return slot + size;
}

/* Walks the stack from slot0 with the confirmed frame sizes alone (no libunwind), until a
 * frame is one of the previous stack's: same slot, same return address, every slot above
 * unchanged.  Then the previous stack's frames from there on complete this one, which is
 * returned in ips (its length), and kept for next time.  -1 when it cannot tell: a frame
 * size not confirmed, or no frame in common within INNER frames. */
static int
reuse (HtRecThread *t, uintptr_t slot0, uintptr_t top, uintptr_t *ips, int max)
{
  uintptr_t slots[INNER];
  uintptr_t slot = slot0;
  int j = t->nat_n - 1; /* the previous stack's innermost frame not below this slot */
  for (int k = 0; k < INNER && k < max; k++)
    {
      if (slot + sizeof (uintptr_t) > top)
        return -1;
      uintptr_t ip = *(const uintptr_t *) slot;
      ips[k] = ip;
      slots[k] = slot;
      while (j >= 0 && t->nat_slots[j] < slot)
        j--;
      if (j < 0)
        return -1;
      if (t->nat_slots[j] == slot && t->nat_ips[j] == ip)
        {
          /* the previous stack's frames 0..j (its outer part) are this one's too, where
           * they are; its inner ones give way to the k new ones */
          int n = j + 1 + k;
          if (n > max || !still_there (t, j))
            return -1;
          for (int i = 0; i < k; i++)
            {
              t->nat_ips[n - 1 - i] = ips[i];
              t->nat_slots[n - 1 - i] = slots[i];
            }
          t->nat_n = n;
          t->nat_kept = j + 1;
          for (int i = k; i < n; i++)
            ips[i] = t->nat_ips[n - 1 - i];
          return n;
        }
      slot = step (t, slot, ip);
      if (!slot)
        return -1;
    }
  return -1;
}

static void
verify_reused (const uintptr_t *ips, int n, int max)
{
  uintptr_t full[HT_REC_MAX_FRAMES + 16];
  int m = backtrace_program (full, max);
  atomic_fetch_add (&n_reused, 1);
  if (m != n || memcmp (full, ips, (size_t) n * sizeof *ips) != 0)
    atomic_fetch_add (&n_mismatch, 1);
}

/* Drops the thread's cached frame sizes when one was withdrawn since. */
static inline void
sizes_fresh (HtRecThread *t)
{
  uint32_t epoch = atomic_load_explicit (&sizes_epoch, memory_order_relaxed);
  if (HT_REC_UNLIKELY (t->sizes_epoch != epoch))
    {
      memset (t->sizes, 0, sizeof t->sizes);
      memset (t->steps, 0, sizeof t->steps);
      t->sizes_epoch = epoch;
    }
}

/* After a full unwind of ips[0..n): their slots (how many are known, as compute_slots),
 * every size the unwind confirms confirmed, and the sizes not known yet learnt, up to the
 * outermost of them. */
static int
teach_sizes (const uintptr_t *ips, int n, uintptr_t slot0, uintptr_t top, uintptr_t *slots)
{
  bool unknown = false;
  int known = compute_slots (ips, n, slot0, top, slots, &unknown);
  if (known < n && unknown)
    {
      int outermost = known - 1; /* the outermost frame whose size is not known */
      for (int k = n - 2; k >= known; k--) /* the last needs no size */
        if (size_of (ips[k]) == 0)
          {
            outermost = k;
            break;
          }
      learn_stack (outermost + 1);
      unknown = false;
      known = compute_slots (ips, n, slot0, top, slots, &unknown);
    }
  return known;
}

/* The calling thread's native stack, innermost first, without the recorder's frames: at
 * most `max` frames (max <= HT_REC_MAX_FRAMES + 16). */
int
ht_rec_unwind (HtRecThread *t, uintptr_t *ips, int max)
{
  uintptr_t slots[HT_REC_MAX_FRAMES + 16];
  uintptr_t slot0 = sizes ? first_slot () : 0;
  uintptr_t top = slot0 ? stack_top (t) : 0;
  sizes_fresh (t);
  if (slot0 && top > 1 && t->nat_n > 0)
    {
      int m = reuse (t, slot0, top, ips, max);
      if (m >= 0)
        {
          if (HT_REC_UNLIKELY (ht_rec_verify_stacks))
            verify_reused (ips, m, max);
          return m;
        }
    }
  t->nat_kept = 0;
  int n = backtrace_program (ips, max);
  if (ht_rec_verify_stacks)
    atomic_fetch_add (&n_full, 1);
  if (!slot0 || top <= 1)
    return n;
  int known = teach_sizes (ips, n, slot0, top, slots);
  /* a stack cut at `max` frames is not kept: its outer part is not known */
  remember (t, ips, slots, n, known == n && n < max);
  return n;
}

static inline bool
in_range (uintptr_t ip, uintptr_t lo, uintptr_t hi)
{
  return ip - 1 - lo < hi - lo; /* a return address: the call is just before it */
}

#define UNTIL_MAX 32 /* native frames walked with learnt sizes before unwinding in full */

/* ht_rec_unwind_until's frames from the frame sizes a full unwind has confirmed, or -1
 * when a size is not known (or the frame is not within UNTIL_MAX). */
static int
walk_until (HtRecThread *t, uintptr_t lo, uintptr_t hi, uintptr_t *ips, int max)
{
  uintptr_t slot = sizes ? first_slot () : 0;
  uintptr_t top = slot ? stack_top (t) : 0;
  if (top <= 1)
    return -1;
  top -= sizeof (uintptr_t); /* the last slot that can be read */
  int n = max < UNTIL_MAX ? max : UNTIL_MAX;
  for (int k = 0; k < n; k++)
    {
      if (slot > top)
        return -1;
      uintptr_t ip = *(const uintptr_t *) slot;
      if (in_range (ip, lo, hi))
        return k;
      ips[k] = ip;
      slot = step (t, slot, ip);
      if (!slot)
        return -1;
    }
  return -1;
}

/* The same from a full unwind (which also teaches the frame sizes).  The innermost
 * UNTIL_MAX frames first: beyond the evaluation loop, libunwind's steps (two system calls
 * each for a frame it meets for the first time) and learning would be spent on frames the
 * walk never reads; 1,383 such unwinds were 15-20 ms of python3's start-up recorded. */
static int
full_until (HtRecThread *t, uintptr_t lo, uintptr_t hi, uintptr_t *ips, int max)
{
  uintptr_t near[UNTIL_MAX + 1], slots[UNTIL_MAX + 1];
  int n = backtrace_program (near, UNTIL_MAX + 1);
  int k = 0;
  while (k < n && k < max && !in_range (near[k], lo, hi))
    k++;
  if (k < n && k < max)
    {
      memcpy (ips, near, (size_t) k * sizeof *ips);
      uintptr_t slot0 = sizes ? first_slot () : 0;
      uintptr_t top = slot0 ? stack_top (t) : 0;
      if (slot0 && top > 1)
        teach_sizes (near, k + 1, slot0, top, slots); /* the loop's frame: its slot only */
      return k;
    }
  if (k == max || n < UNTIL_MAX + 1)
    return -1; /* the loop is not there (or too far) */
  uintptr_t all[HT_REC_MAX_FRAMES + 16]; /* deeper: the whole stack */
  int total = ht_rec_unwind (t, all, HT_REC_MAX_FRAMES + 16);
  for (int j = 0; j < total && j < max; j++)
    {
      if (in_range (all[j], lo, hi))
        return j;
      ips[j] = all[j];
    }
  return -1;
}

/* The calling thread's native frames below the innermost one whose return address lies in
 * [lo, hi) (an interpreter's evaluation loop), innermost first, at most `max`: how many,
 * or -1 when no frame is there.  Only those frames are walked, with the frame sizes a full
 * unwind has confirmed; where one is not known, the stack is unwound in full and cut.
 * With HEAPTRAIL_VERIFY_STACKS=1 every walk is compared with the full unwind. */
int
ht_rec_unwind_until (HtRecThread *t, uintptr_t lo, uintptr_t hi, uintptr_t *ips, int max)
{
  sizes_fresh (t);
  int k = walk_until (t, lo, hi, ips, max);
  if (k < 0)
    return full_until (t, lo, hi, ips, max);
  if (HT_REC_UNLIKELY (ht_rec_verify_stacks))
    {
      uintptr_t full[HT_REC_MAX_FRAMES + 16];
      int m = full_until (t, lo, hi, full, max);
      atomic_fetch_add (&n_reused, 1);
      if (m != k || memcmp (full, ips, (size_t) k * sizeof *ips) != 0)
        atomic_fetch_add (&n_mismatch, 1);
    }
  return k;
}

static int
find_own (struct dl_phdr_info *info, size_t size, void *data)
{
  (void) size;
  uintptr_t self = (uintptr_t) data;
  for (int i = 0; i < info->dlpi_phnum; i++)
    {
      const ElfW (Phdr) *ph = &info->dlpi_phdr[i];
      uintptr_t start = info->dlpi_addr + ph->p_vaddr;
      if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && self >= start
          && self < start + ph->p_memsz)
        {
          own_start = start;
          own_end = start + ph->p_memsz;
          return 1;
        }
    }
  return 0;
}

static void
print_counts (void)
{
  char line[400];
  int n = snprintf (line, sizeof line,
                    "heaptrail: stack cache: %llu stacks reused, %llu unwound in full, %llu "
                    "mismatches\n"
                    "heaptrail: stack memo: %llu stacks named from it, %llu mismatches\n"
                    "heaptrail: Python frames: %llu reused, %llu mismatches\n"
                    "heaptrail: outer frames kept: %llu stacks, %llu mismatches\n",
                    (unsigned long long) n_reused, (unsigned long long) n_full,
                    (unsigned long long) n_mismatch,
                    (unsigned long long) n_checked[HT_VERIFY_MEMO],
                    (unsigned long long) n_differ[HT_VERIFY_MEMO],
                    (unsigned long long) n_checked[HT_VERIFY_PY_FRAME],
                    (unsigned long long) n_differ[HT_VERIFY_PY_FRAME],
                    (unsigned long long) n_checked[HT_VERIFY_KEPT],
                    (unsigned long long) n_differ[HT_VERIFY_KEPT]);
  if (n > 0)
    ht_rec_say (line);
}

/* Read before the recorder's variables leave the environment: HEAPTRAIL_STACK_CACHE=0
 * turns the cache off (every stack unwound in full), HEAPTRAIL_VERIFY_STACKS=1 checks it. */
static bool cache_off;

void
ht_rec_unwind_configure (void)
{
  const char *off = getenv ("HEAPTRAIL_STACK_CACHE");
  cache_off = off && strcmp (off, "0") == 0;
  const char *v = getenv ("HEAPTRAIL_VERIFY_STACKS");
  ht_rec_verify_stacks = v && *v && strcmp (v, "0") != 0;
}

/* The recorder's own text, and libunwind set up. */
void
ht_rec_unwind_init (void)
{
  unw_set_caching_policy (unw_local_addr_space, UNW_CACHE_PER_THREAD);
  dl_iterate_phdr (find_own, (void *) (uintptr_t) &ht_rec_unwind_init);
  if (!cache_off)
    sizes = ht_rec_mmap (((size_t) 1 << SIZES_BITS) * sizeof *sizes);
  /* libunwind creates a pthread key on its first unwind.  Made later, after a program has
   * created 32 keys of its own, that key would make glibc allocate the thread's second
   * level of keys under our guard: a block never recorded, never scanned, which would hide
   * whatever the program stores under its own keys there.  So unwind once now. */
  void *ips[4];
  unw_backtrace (ips, 4);
}

/* Objects were unloaded: another may now sit at their addresses, with other frame sizes.
 * Every size learnt is withdrawn (never removed: readers take no lock). */
void
ht_rec_unwind_forget (void)
{
  if (!sizes)
    return;
  pthread_mutex_lock (&sizes_lock);
  for (size_t i = 0; i < ((size_t) 1 << SIZES_BITS); i++)
    if (atomic_load_explicit (&sizes[i].ip, memory_order_relaxed))
      atomic_store_explicit (&sizes[i].size, SIZE_DYNAMIC, memory_order_relaxed);
  atomic_fetch_add (&sizes_epoch, 1);
  pthread_mutex_unlock (&sizes_lock);
}

/* With HEAPTRAIL_VERIFY_STACKS=1, at the end of the recording. */
void
ht_rec_unwind_report (void)
{
  if (ht_rec_verify_stacks)
    print_counts ();
}
