/* ht-rec-attach.c - recording a process that is already running (heaptrail attach).
 *
 * `heaptrail attach PID` has gdb load this library into the process (dlopen) and call
 * heaptrail_attach (LOG).  Loaded late, the library interposes nothing: every module already
 * calls malloc through its GOT, bound to libc.  So heaptrail_attach() rewrites those GOT
 * entries of every loaded module (and of modules loaded later, when the sampler sees them)
 * to point at our hooks, and heaptrail_detach() writes the old values back.  The entries are
 * read from each module's dynamic section: its PLT and GLOB_DAT relocations (Elf64_Rela)
 * against the allocation functions' names.  Entries inside a module's RELRO segment are
 * made writable for the write and read-only again after.
 *
 * Blocks allocated before the attach are not in the log; their frees are (the importer
 * counts them apart, as frees of blocks from before the recording).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ht-rec-private.h"

#define HT_EXPORT __attribute__ ((visibility ("default")))

static const char *const hooked[] = { "malloc", "free", "calloc", "realloc", "reallocarray",
                                      "posix_memalign", "aligned_alloc", "memalign", "valloc",
                                      "pvalloc" };
#define N_HOOKED (sizeof hooked / sizeof hooked[0])

typedef struct
{
  uintptr_t *slot;
  uintptr_t old;
  bool relro; /* in a read-only-after-relocation page */
} HtRecPatch;

static HtRecPatch *patches; /* mmap'd */
static size_t n_patches, cap_patches;
static uintptr_t ours[N_HOOKED]; /* our hooks' addresses */
static uintptr_t own_base;        /* this library's load address: its own GOT is not patched */
static unsigned long long patched_adds; /* dl_iterate_phdr's adds when modules were patched */
static pthread_mutex_t patch_lock = PTHREAD_MUTEX_INITIALIZER;
static bool attached;

static int
find_self (struct dl_phdr_info *info, size_t size, void *data)
{
  (void) size;
  char **path = data;
  for (int i = 0; i < info->dlpi_phnum; i++)
    {
      const ElfW (Phdr) *ph = &info->dlpi_phdr[i];
      uintptr_t start = info->dlpi_addr + ph->p_vaddr;
      if (ph->p_type == PT_LOAD && (uintptr_t) &find_self >= start
          && (uintptr_t) &find_self < start + ph->p_memsz)
        {
          *path = (char *) info->dlpi_name;
          own_base = info->dlpi_addr;
          return 1;
        }
    }
  return 0;
}

/* Our hooks, as this library defines them (dlsym on our own handle finds ours first). */
static bool
find_hooks (void)
{
  char *path = NULL;
  dl_iterate_phdr (find_self, &path);
  void *self = path ? dlopen (path, RTLD_NOW | RTLD_NOLOAD) : NULL;
  if (!self)
    return false;
  for (size_t i = 0; i < N_HOOKED; i++)
    ours[i] = (uintptr_t) dlsym (self, hooked[i]);
  dlclose (self); /* RTLD_NOLOAD took a reference: give it back */
  return ours[0] && ours[1];
}

static bool
remember (uintptr_t *slot, bool relro)
{
  for (size_t i = 0; i < n_patches; i++)
    if (patches[i].slot == slot)
      return false; /* patched already */
  if (n_patches == cap_patches)
    {
      size_t cap = cap_patches ? cap_patches * 2 : 512;
      HtRecPatch *p = ht_rec_mmap (cap * sizeof *p);
      if (!p)
        return false;
      if (patches)
        {
          memcpy (p, patches, n_patches * sizeof *p);
          ht_rec_munmap (patches, cap_patches * sizeof *p);
        }
      patches = p;
      cap_patches = cap;
    }
  patches[n_patches++] = (HtRecPatch){ slot, *slot, relro };
  return true;
}

/* Writes `value` into a GOT slot, the page made writable for it when it is RELRO. */
static void
write_slot (uintptr_t *slot, uintptr_t value, uintptr_t relro_start, uintptr_t relro_end)
{
  long page = sysconf (_SC_PAGESIZE);
  uintptr_t at = (uintptr_t) slot & ~(uintptr_t) (page - 1);
  bool relro = (uintptr_t) slot >= relro_start && (uintptr_t) slot < relro_end;
  if (relro && mprotect ((void *) at, (size_t) page, PROT_READ | PROT_WRITE) != 0)
    return;
  __atomic_store_n (slot, value, __ATOMIC_RELEASE);
  if (relro)
    mprotect ((void *) at, (size_t) page, PROT_READ);
}

/* Every relocation of one module against an allocation function: its GOT slot, ours now. */
static int
patch_module (struct dl_phdr_info *info, size_t size, void *data)
{
  (void) size;
  (void) data;
  const char *name = info->dlpi_name;
  if (info->dlpi_addr == own_base || (name && (strstr (name, "ld-linux") || strstr (name, "linux-vdso"))))
    return 0;
  const ElfW (Dyn) *dyn = NULL;
  uintptr_t relro_start = 0, relro_end = 0;
  for (int i = 0; i < info->dlpi_phnum; i++)
    {
      const ElfW (Phdr) *ph = &info->dlpi_phdr[i];
      if (ph->p_type == PT_DYNAMIC)
        dyn = (const ElfW (Dyn) *) (info->dlpi_addr + ph->p_vaddr);
      else if (ph->p_type == PT_GNU_RELRO)
        {
          relro_start = info->dlpi_addr + ph->p_vaddr;
          relro_end = relro_start + ph->p_memsz;
        }
    }
  if (!dyn)
    return 0;
  const ElfW (Sym) *symtab = NULL;
  const char *strtab = NULL;
  const ElfW (Rela) *rel[2] = { NULL, NULL };
  size_t relsz[2] = { 0, 0 };
  for (const ElfW (Dyn) *d = dyn; d->d_tag != DT_NULL; d++)
    switch (d->d_tag)
      {
      case DT_SYMTAB:
        symtab = (const ElfW (Sym) *) d->d_un.d_ptr; /* ld.so relocated these to addresses */
        break;
      case DT_STRTAB:
        strtab = (const char *) d->d_un.d_ptr;
        break;
      case DT_JMPREL:
        rel[0] = (const ElfW (Rela) *) d->d_un.d_ptr;
        break;
      case DT_PLTRELSZ:
        relsz[0] = d->d_un.d_val;
        break;
      case DT_RELA:
        rel[1] = (const ElfW (Rela) *) d->d_un.d_ptr;
        break;
      case DT_RELASZ:
        relsz[1] = d->d_un.d_val;
        break;
      }
  if (!symtab || !strtab)
    return 0;
  for (int k = 0; k < 2; k++)
    for (size_t i = 0; rel[k] && i < relsz[k] / sizeof (ElfW (Rela)); i++)
      {
        unsigned type = (unsigned) ELF64_R_TYPE (rel[k][i].r_info);
        if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT)
          continue;
        const char *sym = strtab + symtab[ELF64_R_SYM (rel[k][i].r_info)].st_name;
        for (size_t h = 0; h < N_HOOKED; h++)
          if (ours[h] && strcmp (sym, hooked[h]) == 0)
            {
              uintptr_t *slot = (uintptr_t *) (info->dlpi_addr + rel[k][i].r_offset);
              bool relro = (uintptr_t) slot >= relro_start && (uintptr_t) slot < relro_end;
              if (*slot != ours[h] && remember (slot, relro))
                write_slot (slot, ours[h], relro_start, relro_end);
              break;
            }
      }
  return 0;
}

static int
count_adds (struct dl_phdr_info *info, size_t size, void *data)
{
  (void) size;
  *(unsigned long long *) data = info->dlpi_adds;
  return 1;
}

/* Patches the modules loaded since the last call (the sampler calls this while attached). */
void
ht_rec_attach_refresh (void)
{
  if (!attached)
    return;
  unsigned long long adds = 0;
  dl_iterate_phdr (count_adds, &adds);
  if (adds == patched_adds)
    return;
  pthread_mutex_lock (&patch_lock);
  patched_adds = adds;
  dl_iterate_phdr (patch_module, NULL);
  pthread_mutex_unlock (&patch_lock);
}

/* Called in the running process (by gdb, for `heaptrail attach`): starts recording into
 * `log`.  0 on success; -1 when already recording, -2 when recording cannot start, -3 on
 * a machine this does not know (x86-64 only). */
HT_EXPORT int
heaptrail_attach (const char *log)
{
#if !defined(__x86_64__)
  (void) log;
  return -3;
#else
  if (atomic_load (&ht_rec_state) == HT_REC_ON)
    return -1;
  if (!find_hooks () || !ht_rec_start_attached (log))
    return -2;
  pthread_mutex_lock (&patch_lock);
  attached = true;
  dl_iterate_phdr (count_adds, &patched_adds);
  dl_iterate_phdr (patch_module, NULL);
  pthread_mutex_unlock (&patch_lock);
  return 0;
#endif
}

/* Puts every GOT entry back and ends the log; the library stays loaded, idle, and may be
 * attached again.  0 on success, -1 when not attached. */
HT_EXPORT int
heaptrail_detach (void)
{
  if (!attached)
    return -1;
  pthread_mutex_lock (&patch_lock);
  for (size_t i = n_patches; i-- > 0;)
    {
      uintptr_t at = (uintptr_t) patches[i].slot;
      write_slot (patches[i].slot, patches[i].old, patches[i].relro ? at : 0,
                  patches[i].relro ? at + 1 : 0);
    }
  n_patches = 0;
  attached = false;
  pthread_mutex_unlock (&patch_lock);
  /* a hook that already read the new entry may still be running: it records into a log
   * that is about to end, which the end mark's flush covers */
  ht_rec_end_attached ();
  if (patches)
    ht_rec_munmap (patches, cap_patches * sizeof *patches);
  patches = NULL;
  cap_patches = 0;
  return 0;
}
