/* ht-symbols.c - symbolization on libdw.
 *
 * Each module of the recording gets its own Dwfl, reported at the load bias the recorder
 * saw, so two objects loaded at the same address at different times never collide.  An
 * address is resolved once: the DWARF scopes around it give the chain of inlined calls
 * (innermost first, each caller's file and line from DW_AT_call_file/line), and the ELF
 * symbol table names the function when there is no debug information.  Separate debug
 * files are found by build-id through libdw's standard search (/usr/lib/debug).
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <string.h>

#include "ht-symbols.h"

/* libstdc++'s demangler; the analyzer links it for exactly this. */
extern char *__cxa_demangle (const char *mangled, char *out, size_t *len, int *status);

typedef struct
{
  Dwfl *dwfl;
  Dwfl_Module *mod;
  char *warning;
  GHashTable *cache;   /* ip -> GArray of HtFrame */
  GHashTable *symbols; /* address -> interned symbol name, or "" */
} HtSymModule;

struct _HtSymbolizer
{
  GPtrArray *modules; /* HtSymModule* */
  GStringChunk *strings;
  GHashTable *interned;
};

static const Dwfl_Callbacks offline_callbacks = {
  .find_elf = dwfl_build_id_find_elf,
  .find_debuginfo = dwfl_standard_find_debuginfo,
  .section_address = dwfl_offline_section_address,
};

static const char *
intern (HtSymbolizer *self, const char *s)
{
  if (!s)
    return NULL;
  const char *r = g_hash_table_lookup (self->interned, s);
  if (!r)
    {
      r = g_string_chunk_insert (self->strings, s);
      g_hash_table_add (self->interned, (gpointer) r);
    }
  return r;
}

char *
ht_demangle (const char *name)
{
  if (!name)
    return NULL;
  if (name[0] == '_' && name[1] == 'Z')
    {
      int status = -1;
      char *d = __cxa_demangle (name, NULL, NULL, &status);
      if (status == 0 && d)
        {
          char *r = g_strdup (d);
          free (d);
          return r;
        }
      free (d);
    }
  return g_strdup (name);
}

static void
sym_module_free (gpointer data)
{
  HtSymModule *m = data;
  if (m->dwfl)
    dwfl_end (m->dwfl);
  g_free (m->warning);
  g_hash_table_unref (m->cache);
  g_hash_table_unref (m->symbols);
  g_free (m);
}

static void
frames_free (gpointer data)
{
  g_array_unref (data);
}

HtSymbolizer *
ht_symbolizer_new (void)
{
  HtSymbolizer *self = g_new0 (HtSymbolizer, 1);
  self->modules = g_ptr_array_new_with_free_func (sym_module_free);
  self->strings = g_string_chunk_new (64 * 1024);
  self->interned = g_hash_table_new (g_str_hash, g_str_equal);
  return self;
}

void
ht_symbolizer_free (HtSymbolizer *self)
{
  if (!self)
    return;
  g_ptr_array_unref (self->modules);
  g_hash_table_unref (self->interned);
  g_string_chunk_free (self->strings);
  g_free (self);
}

guint
ht_symbolizer_add_module (HtSymbolizer *self, const HtModuleInfo *info)
{
  HtSymModule *m = g_new0 (HtSymModule, 1);
  m->cache = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, frames_free);
  m->symbols = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_ptr_array_add (self->modules, m);
  guint index = self->modules->len - 1;

  if (!info->path || info->path[0] != '/')
    return index; /* the vDSO, or an object without a file */
  m->dwfl = dwfl_begin (&offline_callbacks);
  if (!m->dwfl)
    return index;
  dwfl_report_begin (m->dwfl);
  g_autofree char *base = g_path_get_basename (info->path);
  m->mod = dwfl_report_elf (m->dwfl, base, info->path, -1, info->bias, false);
  dwfl_report_end (m->dwfl, NULL, NULL);
  if (!m->mod)
    {
      m->warning = g_strdup_printf ("%s: %s; its frames stay unresolved", info->path,
                                    dwfl_errmsg (-1));
      return index;
    }
  const unsigned char *bits = NULL;
  GElf_Addr vaddr;
  int n = dwfl_module_build_id (m->mod, &bits, &vaddr);
  if (n > 0 && info->build_id[0])
    {
      GString *hex = g_string_new (NULL);
      for (int i = 0; i < n; i++)
        g_string_append_printf (hex, "%02x", bits[i]);
      if (strcmp (hex->str, info->build_id) != 0)
        {
          m->warning = g_strdup_printf ("%s was rebuilt since the recording (build-id differs); "
                                        "its frames stay unresolved",
                                        info->path);
          m->mod = NULL;
        }
      g_string_free (hex, TRUE);
    }
  return index;
}

const char *
ht_symbolizer_module_warning (HtSymbolizer *self, guint module)
{
  g_return_val_if_fail (module < self->modules->len, NULL);
  return ((HtSymModule *) self->modules->pdata[module])->warning;
}

/* The name of a subprogram or inlined subroutine: its linkage name demangled (C++ gives
 * the qualified name with parameters), else its plain name. */
static char *
die_function_name (Dwarf_Die *die)
{
  Dwarf_Attribute attr;
  const char *name = NULL;
  if (dwarf_attr_integrate (die, DW_AT_linkage_name, &attr)
      || dwarf_attr_integrate (die, DW_AT_MIPS_linkage_name, &attr))
    name = dwarf_formstring (&attr);
  if (!name && dwarf_attr_integrate (die, DW_AT_name, &attr))
    name = dwarf_formstring (&attr);
  return ht_demangle (name);
}

static void
push_frame (HtSymbolizer *self, GArray *out, const char *function, const char *file, guint line)
{
  HtFrame f = { intern (self, function), intern (self, file), line };
  g_array_append_val (out, f);
}

static void
resolve (HtSymbolizer *self, HtSymModule *m, guint64 ip, GArray *out)
{
  if (!m->mod)
    {
      push_frame (self, out, NULL, NULL, 0);
      return;
    }
  GElf_Addr addr = ip - 1; /* a return address: look up the call instruction */
  const char *file = NULL;
  int line = 0;
  Dwfl_Line *l = dwfl_module_getsrc (m->mod, addr);
  if (l)
    file = dwfl_lineinfo (l, NULL, &line, NULL, NULL, NULL);

  Dwarf_Addr bias = 0;
  Dwarf_Die *cu = dwfl_module_addrdie (m->mod, addr, &bias);
  Dwarf_Die *scopes = NULL;
  int nscopes = cu ? dwarf_getscopes (cu, addr - bias, &scopes) : 0;
  Dwarf_Files *files = NULL;
  if (cu)
    dwarf_getsrcfiles (cu, &files, NULL);

  for (int i = 0; i < nscopes; i++)
    {
      int tag = dwarf_tag (&scopes[i]);
      if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine)
        continue;
      g_autofree char *name = die_function_name (&scopes[i]);
      push_frame (self, out, name, file, line > 0 ? (guint) line : 0);
      if (tag == DW_TAG_subprogram)
        break;
      /* the caller's position is where this inlined call was made */
      Dwarf_Attribute attr;
      Dwarf_Word v = 0;
      file = NULL;
      line = 0;
      if (files && dwarf_formudata (dwarf_attr (&scopes[i], DW_AT_call_file, &attr), &v) == 0)
        file = dwarf_filesrc (files, v, NULL, NULL);
      if (dwarf_formudata (dwarf_attr (&scopes[i], DW_AT_call_line, &attr), &v) == 0)
        line = (int) v;
    }
  free (scopes);

  if (out->len == 0)
    {
      GElf_Off off;
      GElf_Sym sym;
      const char *name = dwfl_module_addrinfo (m->mod, addr, &off, &sym, NULL, NULL, NULL);
      g_autofree char *d = ht_demangle (name);
      push_frame (self, out, d, file, line > 0 ? (guint) line : 0);
    }
}

guint
ht_symbolizer_lookup (HtSymbolizer *self, guint module, guint64 ip, const HtFrame **frames)
{
  g_return_val_if_fail (module < self->modules->len, 0);
  HtSymModule *m = self->modules->pdata[module];
  GArray *a = g_hash_table_lookup (m->cache, &ip);
  if (!a)
    {
      a = g_array_new (FALSE, FALSE, sizeof (HtFrame));
      resolve (self, m, ip, a);
      g_hash_table_insert (m->cache, g_memdup2 (&ip, sizeof ip), a);
    }
  *frames = (const HtFrame *) a->data;
  return a->len;
}

const char *
ht_symbolizer_symbol_at (HtSymbolizer *self, guint module, guint64 addr)
{
  g_return_val_if_fail (module < self->modules->len, NULL);
  HtSymModule *m = self->modules->pdata[module];
  const char *name = g_hash_table_lookup (m->symbols, &addr);
  if (!name)
    {
      GElf_Off off;
      GElf_Sym sym;
      const char *found = m->mod ? dwfl_module_addrinfo (m->mod, addr, &off, &sym, NULL, NULL,
                                                         NULL)
                                 : NULL;
      name = intern (self, found ? found : "");
      g_hash_table_insert (m->symbols, g_memdup2 (&addr, sizeof addr), (gpointer) name);
    }
  return *name ? name : NULL;
}

char *
ht_symbolizer_describe_data (HtSymbolizer *self, guint module, guint64 addr)
{
  g_return_val_if_fail (module < self->modules->len, NULL);
  HtSymModule *m = self->modules->pdata[module];
  GElf_Off off = 0;
  GElf_Sym sym;
  const char *found = m->mod ? dwfl_module_addrinfo (m->mod, addr, &off, &sym, NULL, NULL, NULL)
                             : NULL;
  if (!found || (sym.st_size ? off >= sym.st_size : off != 0))
    return NULL;
  g_autofree char *name = ht_demangle (found);
  return off ? g_strdup_printf ("%s+%" G_GUINT64_FORMAT, name, (guint64) off)
             : g_steal_pointer (&name);
}

gboolean
ht_symbolizer_module_contains (HtSymbolizer *self, guint module, guint64 addr)
{
  g_return_val_if_fail (module < self->modules->len, FALSE);
  HtSymModule *m = self->modules->pdata[module];
  Dwarf_Addr low = 0, high = 0;
  if (!m->mod || !dwfl_module_info (m->mod, NULL, &low, &high, NULL, NULL, NULL, NULL))
    return FALSE;
  return addr >= low && addr < high;
}
