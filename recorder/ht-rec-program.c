/* ht-rec-program.c - who the recorded program is: its path as run, its arguments, and the
 * functions of its own the recorder asks (LeakSanitizer's __lsan_default_suppressions). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ht-rec-private.h"

/* The program as the user ran it: the path exec was given (AT_EXECFN: /usr/bin/dot), made
 * absolute without resolving links, rather than what /proc/self/exe resolves it to
 * (/usr/sbin/libgvc6-config-update).  The module map keeps the real file, for symbols. */
size_t
ht_rec_program_path (char *out, size_t size)
{
  const char *fn = (const char *) getauxval (AT_EXECFN);
  size_t n = 0;
  if (fn && *fn && strncmp (fn, "/dev/fd/", 8) != 0 && strncmp (fn, "/proc/", 6) != 0)
    {
      if (fn[0] != '/' && getcwd (out, size))
        {
          n = strlen (out);
          if (n + 1 < size)
            out[n++] = '/';
        }
      while (fn[0] == '.' && fn[1] == '/')
        fn += 2;
      size_t len = strlen (fn);
      if (n + len < size)
        {
          memcpy (out + n, fn, len + 1);
          return n + len;
        }
    }
  ssize_t r = readlink ("/proc/self/exe", out, size - 1);
  out[r > 0 ? r : 0] = 0;
  return r > 0 ? (size_t) r : 0;
}

/* The command line, arguments NUL-terminated, from /proc/self/cmdline. */
size_t
ht_rec_read_cmdline (char *out, size_t size)
{
  size_t len = 0;
  int fd = open ("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    {
      ssize_t n;
      while (len < size && (n = read (fd, out + len, size - len)) > 0)
        len += (size_t) n;
      ht_rec_close (fd);
    }
  return len;
}

static int
main_program_bias (struct dl_phdr_info *info, size_t size, void *data)
{
  (void) size;
  *(uintptr_t *) data = info->dlpi_addr;
  return 1; /* the first object is the program */
}

/* A function of the program's own, found in its symbol table (.symtab: executables export
 * nothing dynamically unless linked with -rdynamic), read from /proc/self/exe with mmap.
 * NULL when absent or stripped. */
static void *
program_symbol (const char *name)
{
  int fd = open ("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  struct stat st;
  void *map = fstat (fd, &st) == 0 && st.st_size > (off_t) sizeof (Elf64_Ehdr)
                ? mmap (NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)
                : MAP_FAILED;
  ht_rec_close (fd);
  if (map == MAP_FAILED)
    return NULL;
  size_t size = (size_t) st.st_size;
  const uint8_t *base = map;
  const Elf64_Ehdr *eh = map;
  void *found = NULL;
  if (memcmp (eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64
      || eh->e_shoff == 0 || eh->e_shentsize != sizeof (Elf64_Shdr)
      || eh->e_shoff + (uint64_t) eh->e_shnum * sizeof (Elf64_Shdr) > size)
    goto out;
  const Elf64_Shdr *sh = (const Elf64_Shdr *) (base + eh->e_shoff);
  for (unsigned i = 0; i < eh->e_shnum && !found; i++)
    {
      if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum
          || sh[i].sh_offset + sh[i].sh_size > size)
        continue;
      const Elf64_Shdr *strs = &sh[sh[i].sh_link];
      if (strs->sh_offset + strs->sh_size > size)
        continue;
      const Elf64_Sym *sym = (const Elf64_Sym *) (base + sh[i].sh_offset);
      size_t n = sh[i].sh_size / sizeof *sym;
      for (size_t k = 0; k < n; k++)
        if (sym[k].st_name < strs->sh_size && ELF64_ST_TYPE (sym[k].st_info) == STT_FUNC
            && sym[k].st_value
            && strncmp ((const char *) base + strs->sh_offset + sym[k].st_name, name,
                        strs->sh_size - sym[k].st_name) == 0)
          {
            uintptr_t bias = 0;
            dl_iterate_phdr (main_program_bias, &bias);
            found = (void *) (bias + sym[k].st_value);
            break;
          }
    }
out:
  munmap (map, size);
  return found;
}

/* LeakSanitizer's convention: a program may define __lsan_default_suppressions() to name
 * the leaks it knows of.  Its text goes into the log (SUPPRESSIONS) for `leaks` to apply.
 * Looked up at the very end: a failed dlsym allocates dlerror's state, which must not be
 * taken from the program's own later dlerror calls. */
void
ht_rec_write_program_suppressions (void)
{
  const char *(*fn) (void) = (const char *(*) (void)) program_symbol (
    "__lsan_default_suppressions");
  if (!fn) /* in a shared library, or exported */
    fn = (const char *(*) (void)) dlsym (RTLD_DEFAULT, "__lsan_default_suppressions");
  const char *text = fn ? fn () : NULL;
  if (!text)
    return;
  ht_rec_control_put_text (HT_REC_SUPPRESSIONS, text, strnlen (text, 32768));
}

