/* ht-rec-python.c - CPython programs, recorded as Python developers expect.
 *
 * CPython serves objects of up to 512 bytes from its own arenas (pymalloc), so a recording
 * would see 256 KiB arenas rather than objects.  When the program is a CPython interpreter
 * (the executable is python3.X, or a libpython is loaded: an embedding program) and the
 * user has not chosen an allocator, PYTHONMALLOC=malloc makes every object a malloc block,
 * as memray and valgrind's users do by hand.  The variable goes into a slot of `environ`
 * the recorder's own variables left free (ht-rec-env.c), so nothing is allocated.  The
 * `heaptrail` Python module (python/heaptrail.py, beside the recorder) joins PYTHONPATH.
 *
 * Python frames.  At each allocation made by a thread that holds the GIL, the interpreter's
 * frame chain is read from its thread state, in-process, with the struct offsets of the
 * running version (3.11, 3.12, 3.13; checked against each version's headers, as py-spy and
 * austin do).  A Python frame enters the trace tree as a pseudo return address with bit 63
 * set (never a user-space address): the code object's id and the instruction offset.  Each
 * code object is written once to the log (CODE: file name, qualified name, first line and
 * line table), so the analyzer computes lines offline.  The frames replace, run by run, the
 * native _PyEval_EvalFrameDefault frames that execute them (memray's native mode): one
 * evaluation loop call runs the Python frames from the innermost up to an entry frame
 * (3.11: is_entry; 3.12+: the C-stack shim frame that precedes them).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdatomic.h>
#include <sys/uio.h>

#include "ht-rec-private.h"

/* Where things are in the interpreter's structs, per minor version (x86-64). */
typedef struct
{
  int minor;
  int tstate_datastack_chunk; /* then datastack_top, datastack_limit */
  int tstate_frame_holder; /* tstate->cframe (3.11, 3.12), or -1: the frame is in tstate */
  int holder_current;      /* cframe->current_frame; 3.13: tstate->current_frame */
  int tstate_thread_id;    /* pthread_t of the thread */
  int frame_code, frame_previous, frame_instr, frame_owner, frame_is_entry; /* -1: none */
  int code_filename, code_qualname, code_linetable, code_firstlineno, code_adaptive,
    code_firsttraceable;
  int ascii_size, compact_size; /* sizeof PyASCIIObject, PyCompactUnicodeObject */
} HtPyLayout;

static const HtPyLayout layouts[] = {
  { 11, 296, 56, 8, 152, 32, 48, 56, 69, 68, 112, 128, 136, 72, 184, 168, 48, 72 },
  { 12, 232, 56, 0, 136, 0, 8, 56, 70, -1, 112, 128, 136, 68, 192, 176, 40, 56 },
  { 13, 232, -1, 72, 152, 0, 8, 56, 70, -1, 112, 128, 136, 68, 200, 184, 40, 56 },
};

#define FRAME_OWNED_BY_GENERATOR 1
#define FRAME_OWNED_BY_CSTACK 3

static struct
{
  bool on;
  const HtPyLayout *L;
  int (*stack) (HtRecStream *, uintptr_t *, bool *, int); /* python_stack_N, for L */
  void *(*tstate) (void);
  uintptr_t eval_start, eval_end; /* _PyEval_EvalFrameDefault */
  uintptr_t code_type;            /* &PyCode_Type */
  unsigned version;               /* Py_Version: 0x030b02f0 */
  void *(*interp_head) (void);    /* the thread states, for the heap scan */
  void *(*interp_next) (void *);
  void *(*thread_head) (void *);
  void *(*thread_next) (void *);
} py;

static void python_frames_init (void);
typedef int HtPyStackFn (HtRecStream *s, uintptr_t *out, bool *run_end, int max);
static HtPyStackFn python_stack_0, python_stack_1, python_stack_2;
static HtPyStackFn *const python_stacks[] = { python_stack_0, python_stack_1, python_stack_2 };

/* HEAPTRAIL_PYTHON_FRAMES=0: native frames only (bench/ measures what frames cost).
 * HEAPTRAIL_NATIVE_FRAMES=all (record --native-frames all): every native frame, the
 * interpreter's own included, with the Python frames in place of the evaluation loop's;
 * by default only the native frames below the innermost evaluation loop are kept (see
 * ht_rec_python_capture).  Read by ht_rec_python_configure before the recorder's
 * variables leave the environment. */
static bool frames_wanted = true;
static bool all_native;

void
ht_rec_python_configure (void)
{
  const char *off = getenv ("HEAPTRAIL_PYTHON_FRAMES");
  frames_wanted = !(off && strcmp (off, "0") == 0);
  const char *native = getenv ("HEAPTRAIL_NATIVE_FRAMES");
  all_native = native && strcmp (native, "all") == 0;
}

/* "python", "python3", "python3.11", "python3.11d": a CPython executable's name. */
static bool
is_python_name (const char *base)
{
  if (strncmp (base, "python", 6) != 0)
    return false;
  for (const char *p = base + 6; *p; p++)
    if (!((*p >= '0' && *p <= '9') || *p == '.' || *p == 'd' || *p == 'm' || *p == 't'))
      return false;
  return true;
}

static int
find_libpython (struct dl_phdr_info *info, size_t size, void *data)
{
  (void) size;
  const char *name = info->dlpi_name;
  const char *base = name ? strrchr (name, '/') : NULL;
  base = base ? base + 1 : name;
  if (base && strncmp (base, "libpython3", 10) == 0)
    {
      *(bool *) data = true;
      return 1;
    }
  return 0;
}

bool
ht_rec_is_cpython (void)
{
  char exe[4096];
  ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
  exe[n > 0 ? n : 0] = 0;
  const char *base = strrchr (exe, '/');
  if (is_python_name (base ? base + 1 : exe))
    return true;
  bool found = false;
  dl_iterate_phdr (find_libpython, &found);
  return found;
}

/* `import heaptrail` works in every recorded interpreter: the python/ directory beside
 * libheaptrail.so goes at the end of PYTHONPATH (the user's entries first), in a static
 * buffer, so nothing is allocated. */
static void
add_module_path (void)
{
  Dl_info self;
  if (!dladdr ((void *) add_module_path, &self) || !self.dli_fname)
    return;
  char dir[4096];
  const char *slash = strrchr (self.dli_fname, '/');
  int dir_len = slash ? (int) (slash - self.dli_fname) : 0;
  int d = snprintf (dir, sizeof dir, "%.*s/python", dir_len, self.dli_fname);
  if (d < 0 || (size_t) d >= sizeof dir || access (dir, R_OK) != 0)
    return;
  static char entry[8192];
  const char *user = getenv ("PYTHONPATH");
  for (const char *u = user; u && *u;)
    {
      size_t len = strcspn (u, ":");
      if (len == (size_t) d && memcmp (u, dir, len) == 0)
        return; /* there already */
      u += len + (u[len] == ':');
    }
  int n = snprintf (entry, sizeof entry, "PYTHONPATH=%s%s%s", user ? user : "",
                    user && *user ? ":" : "", dir);
  if (n < 0 || (size_t) n >= sizeof entry)
    return;
  if (user)
    ht_rec_env_replace ("PYTHONPATH", entry);
  else
    ht_rec_env_add (entry);
}

/* Called once the recorder's variables are out of `environ`: PYTHONMALLOC=malloc for a
 * CPython program, unless the user set PYTHONMALLOC, with one line on stderr; and the
 * heaptrail module on its path. */
void
ht_rec_python_setup (void)
{
  if (!ht_rec_is_cpython ())
    return;
  add_module_path ();
  python_frames_init ();
  if (getenv ("PYTHONMALLOC"))
    return;
  static char setting[] = "PYTHONMALLOC=malloc";
  if (!ht_rec_env_add (setting))
    return;
  static const char msg[] = "heaptrail: CPython: PYTHONMALLOC=malloc, so that every object is "
                            "a malloc block (set PYTHONMALLOC to choose another allocator)\n";
  (void) !write (2, msg, sizeof msg - 1);
}

/* ---------------------------------------------------------------------------------------
 * Python frames
 */
static void
warn_version (unsigned version)
{
  char msg[160];
  int n = snprintf (msg, sizeof msg,
                    "heaptrail: CPython %u.%u: Python frames are read for 3.11 to 3.13 only; "
                    "native frames only\n",
                    version >> 24, (version >> 16) & 0xff);
  if (n > 0)
    (void) !write (2, msg, (size_t) n);
}

/* Finds what reading frames takes: the version, the thread state getter, the evaluation
 * loop's address range.  Called at start-up, once CPython is known to be the program. */
static void
python_frames_init (void)
{
  if (!frames_wanted)
    return;
  const unsigned *version = dlsym (RTLD_DEFAULT, "Py_Version");
  if (!version)
    {
      static const char msg[] = "heaptrail: CPython before 3.11: Python frames are read for "
                                "3.11 to 3.13 only; native frames only\n";
      (void) !write (2, msg, sizeof msg - 1);
      return;
    }
  py.version = *version;
  unsigned major = py.version >> 24, minor = (py.version >> 16) & 0xff;
  for (size_t i = 0; major == 3 && i < sizeof layouts / sizeof layouts[0]; i++)
    if (layouts[i].minor == (int) minor)
      {
        py.L = &layouts[i];
        py.stack = python_stacks[i];
      }
  if (!py.L)
    {
      warn_version (py.version);
      return;
    }
  py.tstate = (void *(*) (void)) dlsym (RTLD_DEFAULT, minor >= 13 ? "PyThreadState_GetUnchecked"
                                                                  : "_PyThreadState_UncheckedGet");
  void *eval = dlsym (RTLD_DEFAULT, "_PyEval_EvalFrameDefault");
  py.code_type = (uintptr_t) dlsym (RTLD_DEFAULT, "PyCode_Type");
  Dl_info info;
  const ElfW (Sym) *sym = NULL;
  if (!py.tstate || !eval || !py.code_type
      || !dladdr1 (eval, &info, (void **) &sym, RTLD_DL_SYMENT) || !sym || !sym->st_size)
    {
      static const char msg[] = "heaptrail: CPython: the interpreter's frame symbols are "
                                "missing; native frames only\n";
      (void) !write (2, msg, sizeof msg - 1);
      return;
    }
  py.interp_head = (void *(*) (void)) dlsym (RTLD_DEFAULT, "PyInterpreterState_Head");
  py.interp_next = (void *(*) (void *)) dlsym (RTLD_DEFAULT, "PyInterpreterState_Next");
  py.thread_head = (void *(*) (void *)) dlsym (RTLD_DEFAULT, "PyInterpreterState_ThreadHead");
  py.thread_next = (void *(*) (void *)) dlsym (RTLD_DEFAULT, "PyThreadState_Next");
  py.eval_start = (uintptr_t) eval;
  py.eval_end = py.eval_start + sym->st_size;
  atomic_thread_fence (memory_order_release);
  py.on = true;
}

static inline uintptr_t
load_ptr (uintptr_t base, int offset)
{
  uintptr_t v;
  memcpy (&v, (const void *) (base + (uintptr_t) offset), sizeof v);
  return v;
}

/* ---------------------------------------------------------------------------------------
 * Code objects, each written once
 */
typedef struct
{
  uintptr_t code, linetable, filename, qualname; /* what must not have changed */
  uint32_t id;
} HtPyCode;

static pthread_mutex_t codes_lock = PTHREAD_MUTEX_INITIALIZER;
static HtPyCode *codes;
static size_t codes_mask, codes_used;
static uint32_t next_code = 1;

/* A str as UTF-8 into `out` (at most `size` bytes): ASCII and Latin-1 strings as they are
 * stored, wider ones encoded.  Returns the length. */
static size_t
str_utf8 (uintptr_t s, char *out, size_t size)
{
  if (!s)
    return 0;
  int64_t length;
  uint32_t state;
  memcpy (&length, (const void *) (s + 16), sizeof length);
  memcpy (&state, (const void *) (s + 32), sizeof state);
  unsigned kind = (state >> 2) & 7, compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
  if (!compact || length < 0)
    return 0;
  const uint8_t *data = (const uint8_t *) (s + (uintptr_t) (ascii ? py.L->ascii_size
                                                                   : py.L->compact_size));
  size_t n = 0;
  for (int64_t i = 0; i < length; i++)
    {
      uint32_t c = kind == 1 ? data[i]
                   : kind == 2 ? ((const uint16_t *) data)[i]
                               : ((const uint32_t *) data)[i];
      if (n + 4 > size)
        break;
      if (c < 0x80)
        out[n++] = (char) c;
      else if (c < 0x800)
        {
          out[n++] = (char) (0xc0 | (c >> 6));
          out[n++] = (char) (0x80 | (c & 0x3f));
        }
      else if (c < 0x10000)
        {
          out[n++] = (char) (0xe0 | (c >> 12));
          out[n++] = (char) (0x80 | ((c >> 6) & 0x3f));
          out[n++] = (char) (0x80 | (c & 0x3f));
        }
      else
        {
          out[n++] = (char) (0xf0 | (c >> 18));
          out[n++] = (char) (0x80 | ((c >> 12) & 0x3f));
          out[n++] = (char) (0x80 | ((c >> 6) & 0x3f));
          out[n++] = (char) (0x80 | (c & 0x3f));
        }
    }
  return n;
}

/* CODE: id, Py_Version, first line, file name, qualified name, line table. */
static void
write_code (HtRecStream *s, uint32_t id, uintptr_t code)
{
  static char filename[1024], qualname[512];
  size_t flen = str_utf8 (load_ptr (code, py.L->code_filename), filename, sizeof filename);
  size_t qlen = str_utf8 (load_ptr (code, py.L->code_qualname), qualname, sizeof qualname);
  uintptr_t table = load_ptr (code, py.L->code_linetable);
  int64_t tlen = 0;
  if (table)
    memcpy (&tlen, (const void *) (table + 16), sizeof tlen);
  if (tlen < 0 || tlen > 32768)
    tlen = 0;
  int32_t first;
  memcpy (&first, (const void *) (code + (uintptr_t) py.L->code_firstlineno), sizeof first);
  ht_rec_stream_lock (s);
  uint8_t *p = ht_rec_record_begin (s, HT_REC_CODE, ht_rec_stamp (),
                                    6 * HT_VARINT_MAX + flen + qlen + (size_t) tlen);
  p += ht_varint_put (p, id);
  p += ht_varint_put (p, py.version);
  p += ht_varint_put (p, first > 0 ? (uint64_t) first : 0);
  p = ht_bytes_put (p, filename, flen);
  p = ht_bytes_put (p, qualname, qlen);
  p = ht_bytes_put (p, (const void *) (table + 32), (size_t) tlen);
  ht_rec_record_end (s, p);
  ht_rec_stream_unlock (s);
}

static uint32_t code_id_shared (HtRecStream *s, uintptr_t code, uintptr_t table,
                                uintptr_t filename, uintptr_t qualname);

/* The id of a code object, writing it to the thread's stream the first time.  A code
 * object freed and another made at its address is told apart by its line table, file and
 * name objects. */
static uint32_t
code_id (HtRecThread *t, uintptr_t code, uintptr_t table, uintptr_t filename,
         uintptr_t qualname)
{
  /* the thread's own cache first: no lock for the code objects it met before */
  HtRecPyCode *c = &t->pycodes[(code >> 4) & (HT_REC_PY_CACHE - 1)];
  if (HT_REC_LIKELY (c->code == code && c->linetable == table && c->filename == filename
                     && c->qualname == qualname))
    return c->id;
  uint32_t id = code_id_shared (&t->stream, code, table, filename, qualname);
  if (id)
    *c = (HtRecPyCode){ code, table, filename, qualname, id };
  return id;
}

static uint32_t
code_id_shared (HtRecStream *s, uintptr_t code, uintptr_t table, uintptr_t filename,
                uintptr_t qualname)
{
  pthread_mutex_lock (&codes_lock);
  uint32_t id = 0;
  if ((codes_used + 1) * 2 > codes_mask + 1)
    {
      size_t cap = codes ? (codes_mask + 1) * 2 : 4096;
      HtPyCode *t = ht_rec_mmap_table (cap * sizeof *t);
      if (!t)
        goto out;
      for (size_t i = 0; codes && i <= codes_mask; i++)
        if (codes[i].code)
          {
            size_t j = (codes[i].code >> 4) * 0x9E3779B97F4A7C15ull & (cap - 1);
            while (t[j].code)
              j = (j + 1) & (cap - 1);
            t[j] = codes[i];
          }
      if (codes)
        ht_rec_munmap (codes, (codes_mask + 1) * sizeof *codes);
      codes = t;
      codes_mask = cap - 1;
    }
  size_t i = (code >> 4) * 0x9E3779B97F4A7C15ull & codes_mask;
  for (; codes[i].code; i = (i + 1) & codes_mask)
    if (codes[i].code == code)
      {
        if (codes[i].linetable == table && codes[i].filename == filename
            && codes[i].qualname == qualname)
          {
            id = codes[i].id;
            goto out;
          }
        break; /* a new code object at a reused address: it takes the slot */
      }
  if (!codes[i].code)
    codes_used++;
  id = next_code++;
  codes[i] = (HtPyCode){ code, table, filename, qualname, id };
  write_code (s, id, code);
out:
  pthread_mutex_unlock (&codes_lock);
  return id;
}

/* The Python frames of the calling thread, innermost first, as pseudo return addresses;
 * `run_end[i]` marks the outermost frame of each evaluation loop call.  0 when the thread
 * does not hold the GIL or runs no Python. */
static inline __attribute__ ((always_inline)) int
python_stack_in (const HtPyLayout *L, HtRecStream *s, uintptr_t *out, bool *run_end, int max)
{
  HtRecThread *t = (HtRecThread *) s; /* the stream is the first member of the thread's */
  uintptr_t tstate = (uintptr_t) py.tstate ();
  if (!tstate || load_ptr (tstate, L->tstate_thread_id) != t->self)
    return 0; /* 3.11 returns the GIL holder's state: it must be ours */
  uintptr_t frame;
  if (L->tstate_frame_holder >= 0)
    {
      uintptr_t holder = load_ptr (tstate, L->tstate_frame_holder);
      frame = holder ? load_ptr (holder, L->holder_current) : 0;
    }
  else
    frame = load_ptr (tstate, L->holder_current);
  int n = 0;
  for (int hops = 0; frame && n < max && hops < 4096; hops++, frame = load_ptr (frame, L->frame_previous))
    {
      uint8_t owner = *(const uint8_t *) (frame + (uintptr_t) L->frame_owner);
      if (owner == FRAME_OWNED_BY_CSTACK)
        {
          if (n)
            run_end[n - 1] = true; /* 3.12+: the shim before an evaluation loop's frames */
          continue;
        }
      uintptr_t code = load_ptr (frame, L->frame_code);
      if (!code || load_ptr (code, 8) != py.code_type)
        continue; /* 3.13: f_executable may be something else than code */
      uintptr_t instr = load_ptr (frame, L->frame_instr);
      /* a frame this thread's captures met lately, still there at the same instruction:
       * its pseudo address again (the code object is the same one: a live frame holds its
       * code, and the line table tells a new one at the address of a freed one, as in
       * code_id) */
      HtRecPyFrame *set = &t->pyframes[((frame ^ instr) * UINT64_C (0x9E3779B97F4A7C15))
                                       >> (64 - HT_REC_PY_FRAMES_BITS) << 1];
      HtRecPyFrame *last = set[0].frame == frame && set[0].instr == instr ? &set[0] : &set[1];
      uintptr_t reused = 0; /* with HEAPTRAIL_VERIFY_STACKS, the table's, checked below */
      if (HT_REC_LIKELY (last->frame == frame && last->code == code && last->instr == instr
                         && last->owner == owner
                         && last->linetable == load_ptr (code, L->code_linetable))
          && !(HT_REC_UNLIKELY (ht_rec_verify_stacks) && (reused = last->pseudo)))
        {
          run_end[n] = L->frame_is_entry >= 0
                       && *(const uint8_t *) (frame + (uintptr_t) L->frame_is_entry);
          out[n++] = last->pseudo;
          continue;
        }
      uintptr_t start = code + (uintptr_t) L->code_adaptive;
      int32_t first_traceable;
      memcpy (&first_traceable, (const void *) (code + (uintptr_t) L->code_firsttraceable),
              sizeof first_traceable);
      if (owner != FRAME_OWNED_BY_GENERATOR && instr < start + 2u * (uint32_t) first_traceable)
        continue; /* not started yet */
      uint64_t offset = instr >= start ? (instr - start) / 2 : 0;
      uintptr_t table = load_ptr (code, L->code_linetable);
      uint32_t id = code_id (t, code, table, load_ptr (code, L->code_filename),
                             load_ptr (code, L->code_qualname));
      if (!id)
        break;
      run_end[n] = L->frame_is_entry >= 0
                   && *(const uint8_t *) (frame + (uintptr_t) L->frame_is_entry);
      out[n] = HT_FRAME_PYTHON | ((uintptr_t) id << 32) | (uintptr_t) (offset & 0xffffffffu);
      if (HT_REC_UNLIKELY (reused))
        ht_rec_verify_count (HT_VERIFY_PY_FRAME, reused == out[n]);
      if (last != &set[0]) /* the set's latest first */
        set[1] = set[0];
      set[0] = (HtRecPyFrame){ frame, code, instr, table, out[n], owner };
      n++;
    }
  if (n)
    run_end[n - 1] = true;
  return n;
}

/* One python_stack a version, where the layout's offsets are constants: with them read
 * from the layout, each frame cost a fifth more (callgrind). */
#define PYTHON_STACK_OF(i)                                                                    \
  static int python_stack_##i (HtRecStream *s, uintptr_t *out, bool *run_end, int max)      \
  {                                                                                         \
    return python_stack_in (&layouts[i], s, out, run_end, max);                             \
  }
PYTHON_STACK_OF (0)
PYTHON_STACK_OF (1)
PYTHON_STACK_OF (2)
_Static_assert (sizeof layouts / sizeof layouts[0] == 3, "a python_stack for each layout");

static inline int
python_stack (HtRecStream *s, uintptr_t *out, bool *run_end, int max)
{
  return py.stack (s, out, run_end, max);
}

/* Replaces each _PyEval_EvalFrameDefault frame of `native` (innermost first) by the Python
 * frames it runs.  Returns the merged depth in `out` (room for `max`). */
int
ht_rec_python_merge (HtRecStream *s, void *const *native, int n, uintptr_t *out, int max)
{
  if (!py.on)
    return -1;
  uintptr_t pyf[HT_REC_MAX_FRAMES];
  bool run_end[HT_REC_MAX_FRAMES]; /* python_stack sets each entry it returns */
  int np = python_stack (s, pyf, run_end, HT_REC_MAX_FRAMES);
  if (np == 0)
    return -1;
  int k = 0, j = 0;
  for (int i = 0; i < n && k < max; i++)
    {
      uintptr_t ip = (uintptr_t) native[i];
      if (ip - 1 >= py.eval_start && ip - 1 < py.eval_end && j < np)
        {
          do
            out[k++] = pyf[j];
          while (!run_end[j++] && j < np && k < max);
          continue;
        }
      out[k++] = ip;
    }
  return k;
}

/* A CPython thread's stack as Python's own tools show it, and what heaptrail records by
 * default: the native frames below the innermost evaluation loop (the C code that
 * allocated: PyDict_New, a C extension's function), then every Python frame, innermost
 * first (tracemalloc's traceback, reversed).  The interpreter's native frames around and
 * between evaluation loops (main, Py_RunMain, PyEval_EvalCode, a C function calling
 * back) are left out, and so is their cost: only the frames below the loop are walked.
 * Returns the depth in `out` (room for `max`), or -1 when the thread runs no Python now or
 * every native frame was asked for (ht_rec_python_merge's way then). */
int
ht_rec_python_capture (HtRecThread *t, uintptr_t *out, int max)
{
  if (!py.on || all_native)
    return -1;
  uintptr_t pyf[HT_REC_MAX_FRAMES];
  bool run_end[HT_REC_MAX_FRAMES];
  int np = python_stack (&t->stream, pyf, run_end, HT_REC_MAX_FRAMES);
  if (np == 0 || np >= max)
    return -1;
  int k = ht_rec_unwind_until (t, py.eval_start, py.eval_end, out, max - np);
  if (k < 0)
    return -1; /* no evaluation loop on this stack: its native frames are its stack */
  /* a few words: a plain loop costs less than memcpy's call (the empty asm keeps the
   * compiler from making the loop that call again) */
  for (int i = 0; i < np; i++)
    {
      out[k + i] = pyf[i];
      __asm__ ("" ::: "memory");
    }
  return k + np;
}

bool
ht_rec_python_frames_on (void)
{
  return py.on;
}

/* ---------------------------------------------------------------------------------------
 * Python objects in the heap graph (record --graph)
 *
 * A garbage-collected object's malloc block holds, in order: on 3.11+ the managed dict
 * and weakref pointers (16 bytes, when its type has them), the GC header (16 bytes), then
 * the object, whose second word is its type.  So an object starts 16 or 32 bytes into its
 * block.  A candidate type pointer is trusted only when it lies in a live block or a
 * loaded object's data (`readable`), its own type is a type (Py_TPFLAGS_TYPE_SUBCLASS),
 * and its flags agree with where the object was found.  objgraph counts gc.get_objects(),
 * the tracked GC objects, by type(o).__name__: the same are counted here.
 */
#define TP_NAME 24
#define TP_FLAGS 168
#define TPFLAGS_MANAGED_WEAKREF (1ul << 3)
#define TPFLAGS_MANAGED_DICT (1ul << 4)
#define TPFLAGS_HAVE_GC (1ul << 14)
#define TPFLAGS_TYPE_SUBCLASS (1ul << 31)

bool
ht_rec_python_types_on (void)
{
  return py.on;
}

static bool
is_type (uintptr_t t, bool (*readable) (uintptr_t, size_t, void *), void *ctx)
{
  if (!t || (t & 7) || !readable (t, TP_FLAGS + 8, ctx))
    return false;
  uintptr_t meta = load_ptr (t, 8);
  if (!meta || (meta & 7) || !readable (meta, TP_FLAGS + 8, ctx))
    return false;
  return (load_ptr (meta, TP_FLAGS) & TPFLAGS_TYPE_SUBCLASS) != 0;
}

uintptr_t
ht_rec_python_type_of (uintptr_t block, size_t size,
                       bool (*readable) (uintptr_t addr, size_t len, void *ctx), void *ctx)
{
  if (!py.on)
    return 0;
  for (size_t off = 16; off <= 32; off += 16)
    {
      if (size < off + 16 || !readable (block, off + 16, ctx))
        return 0;
      uintptr_t t = load_ptr (block + off, 8);
      if (!is_type (t, readable, ctx))
        continue;
      unsigned long flags = load_ptr (t, TP_FLAGS);
      if (!(flags & TPFLAGS_HAVE_GC))
        continue;
      unsigned long pre = py.L->minor >= 12 ? TPFLAGS_MANAGED_DICT | TPFLAGS_MANAGED_WEAKREF
                                            : TPFLAGS_MANAGED_DICT;
      if ((off == 32) != ((flags & pre) != 0))
        continue;
      if (load_ptr (block + off - 16, 0) == 0)
        return 0; /* not tracked by the collector: gc.get_objects() leaves it out */
      return t;
    }
  return 0;
}

/* type(o).__name__ of a type found by ht_rec_python_type_of: tp_name after its last '.'.
 * The name is copied with process_vm_readv, which fails instead of faulting. */
size_t
ht_rec_python_type_name (uintptr_t type, char *out, size_t size)
{
  uintptr_t name = load_ptr (type, TP_NAME);
  char buf[256];
  struct iovec local = { buf, sizeof buf - 1 };
  /* never across a page the name does not reach: read up to the end of its page first */
  size_t first = 4096 - (name & 4095);
  struct iovec remote = { (void *) name, first < sizeof buf - 1 ? first : sizeof buf - 1 };
  ssize_t n = name ? process_vm_readv (getpid (), &local, 1, &remote, 1, 0) : -1;
  if (n <= 0)
    return 0;
  if ((size_t) n == first && memchr (buf, 0, (size_t) n) == NULL && first < sizeof buf - 1)
    {
      struct iovec more_l = { buf + n, sizeof buf - 1 - (size_t) n };
      struct iovec more_r = { (void *) (name + (uintptr_t) n), sizeof buf - 1 - (size_t) n };
      ssize_t m = process_vm_readv (getpid (), &more_l, 1, &more_r, 1, 0);
      if (m > 0)
        n += m;
    }
  buf[n] = 0;
  size_t len = strlen (buf);
  const char *dot = memrchr (buf, '.', len);
  const char *base = dot ? dot + 1 : buf;
  len = strlen (base);
  if (len >= size)
    len = size - 1;
  memcpy (out, base, len);
  out[len] = 0;
  return len;
}

/* Where the GC header of the object of `type` in `block` starts (see above). */
uint32_t
ht_rec_python_gc_head (uintptr_t block, uintptr_t type)
{
  (void) block;
  unsigned long flags = load_ptr (type, TP_FLAGS);
  unsigned long pre = py.L->minor >= 12 ? TPFLAGS_MANAGED_DICT | TPFLAGS_MANAGED_WEAKREF
                                        : TPFLAGS_MANAGED_DICT;
  return (flags & pre) ? 16 : 0;
}

/* The dead part of every thread's frame stack (3.11+: chunks of mmap'd memory holding the
 * interpreter frames): above the top of the current chunk, and above the saved top of each
 * earlier one.  A finished function's locals linger there, and would keep what they
 * pointed to reachable; the heap scan leaves these ranges out, as it leaves out the dead
 * part of a C stack.  Called with the program's threads stopped. */
void
ht_rec_python_dead_stacks (HtRecRanges *out)
{
  if (!py.on || !py.interp_head || !py.interp_next || !py.thread_head || !py.thread_next)
    return;
  int hops = 0;
  for (void *interp = py.interp_head (); interp && hops < 4096; interp = py.interp_next (interp))
    for (void *t = py.thread_head (interp); t && hops < 4096; t = py.thread_next (t), hops++)
      {
        uintptr_t ts = (uintptr_t) t;
        uintptr_t chunk = load_ptr (ts, py.L->tstate_datastack_chunk);
        uintptr_t top = load_ptr (ts, py.L->tstate_datastack_chunk + 8);
        uintptr_t limit = load_ptr (ts, py.L->tstate_datastack_chunk + 16);
        if (top && limit > top)
          ht_rec_ranges_add (out, top, limit, 0);
        /* earlier chunks: previous, size, top (in words), then the data */
        for (int k = 0; chunk && k < 1024; k++)
          {
            uintptr_t previous = load_ptr (chunk, 0);
            if (!previous)
              break;
            uintptr_t size = load_ptr (previous, 8), used = load_ptr (previous, 16);
            uintptr_t start = previous + 24 + 8 * used, end = previous + size;
            if (start < end && size < (1ul << 32))
              ht_rec_ranges_add (out, start, end, 0);
            chunk = previous;
          }
      }
}

/* A followed fork child starts a log of its own: every code object is written again. */
void
ht_rec_python_after_fork (HtRecStream *self)
{
  pthread_mutex_init (&codes_lock, NULL);
  if (codes)
    memset (codes, 0, (codes_mask + 1) * sizeof *codes);
  codes_used = 0;
  if (self)
    {
      HtRecThread *t = (HtRecThread *) self;
      memset (t->pycodes, 0, sizeof t->pycodes);
      memset (t->pyframes, 0, sizeof t->pyframes);
    }
}
