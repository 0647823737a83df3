/* ht-rec-hooks.c - the allocation functions heaptrail interposes.
 *
 * Each hook calls the real function (found with dlsym (RTLD_NEXT)) and tells the engine
 * what happened.  Three rules keep the host program safe:
 *
 *  - dlsym itself may call calloc before the real one is known; those requests are served
 *    from a small static bootstrap arena, and free() ignores pointers into it.
 *  - a per-thread recursion guard is held while the engine works AND while the real
 *    function runs, so allocations made by libunwind, by the loader, or by libc functions
 *    that call each other (reallocarray -> realloc) are neither recorded twice nor recursed.
 *  - a free is told to the engine before the real free, an allocation after the real one
 *    returns: the allocator's own locking then orders the two stamps when another thread
 *    gets the same address back (see DESIGN, "Ordering").
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ht-rec-private.h"

#define HT_EXPORT __attribute__ ((visibility ("default")))

/* ---------------------------------------------------------------------------------------
 * Real functions and the bootstrap arena
 */
static struct
{
  void *(*malloc) (size_t);
  void (*free) (void *);
  void *(*calloc) (size_t, size_t);
  void *(*realloc) (void *, size_t);
  void *(*reallocarray) (void *, size_t, size_t);
  int (*posix_memalign) (void **, size_t, size_t);
  void *(*aligned_alloc) (size_t, size_t);
  void *(*memalign) (size_t, size_t);
  void *(*valloc) (size_t);
  void *(*pvalloc) (size_t);
} real;

static _Alignas (64) uint8_t bootstrap_arena[64 * 1024];
static size_t bootstrap_used;
static _Atomic int resolving;

/* ht_rec_hot.guard, the recursion guard: 0 when free, else held, and then either 1 or the
 * address of the slot holding the hook's return address into the program (HT_ENTRY_SLOT),
 * which the unwinder starts from instead of walking out of the recorder's frames. */
__thread HtRecHot ht_rec_hot __attribute__ ((tls_model ("initial-exec")));
/* Evaluated in an exported hook itself (begin is inlined into it): our functions keep frame
 * pointers, so the return address into the program sits just above the hook's frame. */
#define HT_ENTRY_SLOT ((uintptr_t) __builtin_frame_address (0) + sizeof (void *))
static __thread int resolving_here __attribute__ ((tls_model ("initial-exec")));

/* What the bootstrap arena handed out: the loader's and libc's own objects, which may
 * hold pointers to the heap.  The heap scan reads it as a root although it lies in this
 * library's data, which is otherwise never one. */
void
ht_rec_bootstrap_range (uintptr_t *start, uintptr_t *end)
{
  *start = (uintptr_t) bootstrap_arena;
  *end = (uintptr_t) bootstrap_arena + __atomic_load_n (&bootstrap_used, __ATOMIC_RELAXED);
}

static bool
in_bootstrap (const void *p)
{
  return (const uint8_t *) p >= bootstrap_arena
         && (const uint8_t *) p < bootstrap_arena + sizeof bootstrap_arena;
}

/* Serves dlsym's own allocations while the real allocator is unknown.  Bounded: when the
 * arena is exhausted we fail the allocation rather than overrun it. */
static void *
bootstrap_alloc (size_t size, size_t align)
{
  if (align < 16)
    align = 16;
  size_t start = (bootstrap_used + align - 1) & ~(align - 1);
  if (start + size > sizeof bootstrap_arena || start + size < start)
    {
      errno = ENOMEM;
      return NULL;
    }
  bootstrap_used = start + size;
  return memset (bootstrap_arena + start, 0, size);
}

/* Looks up every real function once.  Returns false only inside that lookup (dlsym calling
 * calloc on this thread), when the caller must use the bootstrap arena; another thread that
 * arrives meanwhile waits for the lookup to finish. */
static __attribute__ ((noinline)) bool
resolve_slow (void)
{
  if (resolving_here)
    return false;
  int expected = 0;
  if (!atomic_compare_exchange_strong (&resolving, &expected, 1))
    {
      while (atomic_load_explicit ((_Atomic (void *) *) &real.free, memory_order_acquire) == NULL)
        sched_yield ();
      return true;
    }
  resolving_here = 1;
#define RESOLVE(name) real.name = dlsym (RTLD_NEXT, #name)
  RESOLVE (malloc);
  RESOLVE (calloc);
  RESOLVE (realloc);
  RESOLVE (reallocarray);
  RESOLVE (posix_memalign);
  RESOLVE (aligned_alloc);
  RESOLVE (memalign);
  RESOLVE (valloc);
  RESOLVE (pvalloc);
  void (*real_free) (void *) = dlsym (RTLD_NEXT, "free");
#undef RESOLVE
  resolving_here = 0;
  if (!real.malloc || !real_free || !real.calloc || !real.realloc || !real.posix_memalign
      || !real.memalign)
    {
      static const char msg[] = "heaptrail: cannot find the real malloc; aborting\n";
      (void) !write (2, msg, sizeof msg - 1);
      abort ();
    }
  /* published last: real.free != NULL means every function is known */
  atomic_store_explicit ((_Atomic (void *) *) &real.free, (void *) real_free, memory_order_release);
  return true;
}

/* every hook's first test: inlined, the lookup itself kept out of the way */
static inline bool
resolve (void)
{
  if (HT_REC_LIKELY (atomic_load_explicit ((_Atomic (void *) *) &real.free, memory_order_acquire)
                     != NULL))
    return true;
  return resolve_slow ();
}

/* Whether the real functions are known (looked up now if they were not). */
bool
ht_rec_hooks_resolve (void)
{
  return resolve ();
}

/* ---------------------------------------------------------------------------------------
 * Recursion guard
 */
bool
ht_rec_guard_enter (void)
{
  if (ht_rec_hot.guard)
    return false;
  ht_rec_hot.guard = 1;
  return true;
}

void
ht_rec_guard_leave (void)
{
  ht_rec_hot.guard = 0;
}

/* The sampler thread never records anything it does. */
void
ht_rec_guard_forever (void)
{
  ht_rec_hot.guard = 1;
}

/* True when this call should be recorded; takes the guard, with the hook's entry slot. */
static inline __attribute__ ((always_inline)) bool
begin_at (uintptr_t slot)
{
  if (HT_REC_UNLIKELY (atomic_load_explicit (&ht_rec_state, memory_order_relaxed) != HT_REC_ON))
    {
      if (ht_rec_hot.guard)
        return false;
      ht_rec_hot.guard = 1;
      ht_rec_init ();
      ht_rec_hot.guard = 0;
      if (atomic_load_explicit (&ht_rec_state, memory_order_relaxed) != HT_REC_ON)
        return false;
    }
  if (ht_rec_hot.guard)
    return false;
  ht_rec_hot.guard = slot;
  return true;
}
#define begin() begin_at (HT_ENTRY_SLOT)

static inline void
end (void)
{
  ht_rec_hot.guard = 0;
}

static inline void
record_alloc (void *p, size_t size)
{
  if (p && !ht_rec_is_paused ())
    ht_rec_on_alloc (p, size);
}

static inline void
record_free (void *p)
{
  ht_rec_on_free (p);
}

/* The hooks' common paths (a --sample countdown, a free of a block not recorded) call
 * nothing but the real function, as a jump: they keep no frame and save no register.
 * What records is out of line, in functions the hooks reach by a sibling call (`return
 * f (...)`, their last act, compiled as a jump), so that the hook's frame is gone by then
 * and the return address into the program sits just above the callee's own frame, where
 * HT_ENTRY_SLOT finds it.  This file is compiled with sibling calls in every build type
 * (CMakeLists.txt); were one a call, the slot would hold a return address into the hook:
 * one more frame to capture, which the importer drops as the recorder's. */
#define HT_SIBLING_SLOT HT_ENTRY_SLOT

/* --sample, not paused: whether this allocation of `size` bytes only counts down the bytes
 * to the next recorded one (the common case: the hook then jumps to the real function).
 * The recorder's own allocations are not counted.  The count comes before the call, so
 * that the hook needs no frame; a call that fails is taken back in sampled_end (only
 * those that end the countdown, which every large one does). */
static inline __attribute__ ((always_inline)) bool
sampled_skips_unpaused (size_t size)
{
  return ht_rec_hot.guard || HT_REC_LIKELY (ht_rec_sampling_skips (size));
}

/* The same where the recording may be paused (nothing is counted then). */
static inline bool
sampled_skips (size_t size)
{
  return ht_rec_is_paused () || sampled_skips_unpaused (size);
}

/* The sampled hooks' first test: --sample, and not paused (ht-rec-private.h).  Else they
 * take the exact hooks' paths, which know both. */
static inline bool
sampled_unpaused (void)
{
  return atomic_load_explicit (&ht_rec_mode, memory_order_relaxed) == HT_REC_MODE_SAMPLE;
}

/* --sample: the countdown ended in this allocation (or started), `p` of `size` bytes
 * from the real function: record it, or take back its count if the call failed. */
static __attribute__ ((noinline)) void *
sampled_end (void *p, size_t size, uintptr_t slot)
{
  if (HT_REC_UNLIKELY (!p))
    {
      ht_rec_sampling_uncount (size);
      return p;
    }
  if (!begin_at (slot))
    return p;
  ht_rec_on_alloc_counted (p, size);
  end ();
  return p;
}

/* The sibling callees of malloc, calloc and realloc (see above). */
static __attribute__ ((noinline)) void *
malloc_sampled (size_t size)
{
  uintptr_t slot = HT_SIBLING_SLOT;
  return sampled_end (real.malloc (size), size, slot);
}

static __attribute__ ((noinline)) void *
calloc_sampled (size_t n, size_t size, size_t total)
{
  uintptr_t slot = HT_SIBLING_SLOT;
  return sampled_end (real.calloc (n, size), total, slot);
}

static __attribute__ ((noinline)) void *
malloc_recorded (size_t size)
{
  uintptr_t slot = HT_SIBLING_SLOT;
  if (HT_REC_UNLIKELY (!resolve ()))
    return bootstrap_alloc (size, 16);
  if (!begin_at (slot))
    return real.malloc (size);
  void *p = real.malloc (size);
  record_alloc (p, size);
  end ();
  return p;
}

static __attribute__ ((noinline)) void *
calloc_recorded (size_t n, size_t size, size_t total)
{
  uintptr_t slot = HT_SIBLING_SLOT;
  if (HT_REC_UNLIKELY (!resolve ()))
    return bootstrap_alloc (total, 16);
  if (!begin_at (slot))
    return real.calloc (n, size);
  void *p = real.calloc (n, size);
  record_alloc (p, total);
  end ();
  return p;
}

static __attribute__ ((noinline)) void
free_recorded (void *ptr)
{
  if (!begin ()) /* a FREE has no stack: the slot this names is never unwound from */
    {
      real.free (ptr);
      return;
    }
  record_free (ptr);
  real.free (ptr);
  end ();
}

/* ---------------------------------------------------------------------------------------
 * The hooks
 */
/* With --sample, HT_REC_MODE_SAMPLE is set (ht_rec_sampling_init) only once the real
 * functions are known and the filter of recorded blocks exists, so it is the hooks' first
 * test, and their common paths need no other. */
HT_EXPORT void *
malloc (size_t size)
{
  if (sampled_unpaused ())
    {
      if (HT_REC_LIKELY (sampled_skips_unpaused (size)))
        return real.malloc (size);
      return malloc_sampled (size);
    }
  return malloc_recorded (size);
}

/* A free the filter could not rule out, or any without --sample. */
static __attribute__ ((noinline)) void
free_slow (void *ptr)
{
  if (HT_REC_UNLIKELY (ptr == NULL || in_bootstrap (ptr)))
    return;
  if (HT_REC_UNLIKELY (!resolve ()))
    return; /* only reachable for a foreign pointer while resolving: leak it */
  free_recorded (ptr);
}

/* --sample: the filter holds the bootstrap arena's blocks too (ht_rec_sampling_init), so a
 * free it rules out is a jump to the real one.  Paused or not: a recorded block's free is
 * written all the same.  (A filter of all ones in an exact recording would spare this
 * test, at ten instructions more for every exact free.) */
HT_EXPORT void
free (void *ptr)
{
  if (ht_rec_sample_mean && HT_REC_LIKELY (!ht_rec_sampling_may_hold ((uintptr_t) ptr)))
    {
      real.free (ptr);
      return;
    }
  free_slow (ptr);
}

HT_EXPORT void *
calloc (size_t n, size_t size)
{
  size_t total;
  if (__builtin_mul_overflow (n, size, &total))
    {
      errno = ENOMEM;
      return NULL;
    }
  if (sampled_unpaused ())
    {
      if (HT_REC_LIKELY (sampled_skips_unpaused (total)))
        return real.calloc (n, size);
      return calloc_sampled (n, size, total);
    }
  return calloc_recorded (n, size, total);
}

/* realloc is recorded as a free of the old block (before the call) and an allocation of
 * the new one (after it).  If the call fails the old block is still live: UNFREE says so.
 * Reached by a sibling call from realloc and reallocarray; `size` * `n` bytes. */
static __attribute__ ((noinline)) void *
realloc_recorded (void *ptr, size_t size, void *(*call) (void *, size_t, size_t), size_t n)
{
  uintptr_t slot = HT_SIBLING_SLOT;
  if (HT_REC_UNLIKELY (!resolve ()))
    return NULL;
  /* --sample, the old block not recorded: no free to write, and the new block counts down
   * as malloc's do.  realloc comes here only for a size of 0 (which frees: counted only
   * if it allocates) or while paused; reallocarray, for every size. */
  if (ht_rec_sample_mean && (!ptr || !ht_rec_sampling_may_hold ((uintptr_t) ptr)))
    {
      if (size * n != 0 && sampled_skips (size * n))
        return call (ptr, size, n);
      void *p = call (ptr, size, n);
      if (size * n == 0 && (!p || sampled_skips (0)))
        return p;
      return sampled_end (p, size * n, slot);
    }
  if (HT_REC_UNLIKELY (in_bootstrap (ptr))) /* in the filter, with --sample */
    {
      void *q = malloc (size * n);
      if (q)
        {
          size_t avail = (size_t) (bootstrap_arena + sizeof bootstrap_arena - (uint8_t *) ptr);
          memcpy (q, ptr, avail < size * n ? avail : size * n);
        }
      return q;
    }
  if (!begin_at (slot))
    return call (ptr, size, n);
  if (ptr)
    ht_rec_on_free (ptr);
  void *p = call (ptr, size, n);
  if (p)
    record_alloc (p, size * n);
  else if (ptr && size * n != 0)
    ht_rec_on_unfree (ptr);
  end ();
  return p;
}

static void *
call_realloc (void *ptr, size_t size, size_t n)
{
  (void) n;
  return real.realloc (ptr, size);
}

static void *
call_reallocarray (void *ptr, size_t size, size_t n)
{
  return real.reallocarray (ptr, n, size);
}

static __attribute__ ((noinline)) void *
realloc_sampled (void *ptr, size_t size)
{
  uintptr_t slot = HT_SIBLING_SLOT;
  return sampled_end (real.realloc (ptr, size), size, slot);
}

/* --sample: python3 makes one call in 13 a realloc, nearly always of a block not recorded,
 * which takes the same common path as malloc's. */
HT_EXPORT void *
realloc (void *ptr, size_t size)
{
  if (sampled_unpaused () && size != 0
      && (!ptr || HT_REC_LIKELY (!ht_rec_sampling_may_hold ((uintptr_t) ptr))))
    {
      if (HT_REC_LIKELY (sampled_skips_unpaused (size)))
        return real.realloc (ptr, size);
      return realloc_sampled (ptr, size);
    }
  return realloc_recorded (ptr, size, call_realloc, 1);
}

HT_EXPORT void *
reallocarray (void *ptr, size_t n, size_t size)
{
  size_t total;
  if (__builtin_mul_overflow (n, size, &total))
    {
      errno = ENOMEM;
      return NULL;
    }
  if (HT_REC_UNLIKELY (!resolve ()))
    return NULL;
  if (!real.reallocarray)
    return realloc_recorded (ptr, total, call_realloc, 1);
  return realloc_recorded (ptr, size, call_reallocarray, n);
}

HT_EXPORT int
posix_memalign (void **out, size_t align, size_t size)
{
  if (HT_REC_UNLIKELY (!resolve ()))
    {
      *out = bootstrap_alloc (size, align);
      return *out ? 0 : ENOMEM;
    }
  if (!begin ())
    return real.posix_memalign (out, align, size);
  int r = real.posix_memalign (out, align, size);
  if (r == 0)
    record_alloc (*out, size);
  end ();
  return r;
}

/* The remaining aligned allocators share one shape. */
#define HT_ALIGNED_HOOK(name, params, args, fallback)                                        \
  HT_EXPORT void *name params                                                               \
  {                                                                                         \
    if (HT_REC_UNLIKELY (!resolve ()))                                                      \
      return fallback;                                                                      \
    if (!real.name)                                                                         \
      {                                                                                     \
        errno = ENOSYS;                                                                     \
        return NULL;                                                                        \
      }                                                                                     \
    if (!begin ())                                                                          \
      return real.name args;                                                                \
    void *p = real.name args;                                                               \
    record_alloc (p, size);                                                                 \
    end ();                                                                                 \
    return p;                                                                               \
  }

HT_ALIGNED_HOOK (aligned_alloc, (size_t align, size_t size), (align, size),
                 bootstrap_alloc (size, align))
HT_ALIGNED_HOOK (memalign, (size_t align, size_t size), (align, size),
                 bootstrap_alloc (size, align))
HT_ALIGNED_HOOK (valloc, (size_t size), (size), bootstrap_alloc (size, 4096))
HT_ALIGNED_HOOK (pvalloc, (size_t size), (size), bootstrap_alloc (size, 4096))
