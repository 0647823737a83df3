/* ht-symbols.h - turns (module, address) into function, source file and line with libdw. */
#pragma once

#include <glib.h>

#include "ht-reader.h"

G_BEGIN_DECLS

typedef struct
{
  const char *function; /* demangled; NULL when unknown */
  const char *file;     /* absolute source path; NULL without debug info */
  guint line;           /* 0 when unknown */
} HtFrame;

typedef struct _HtSymbolizer HtSymbolizer;

HtSymbolizer *ht_symbolizer_new (void);
void ht_symbolizer_free (HtSymbolizer *self);

/* Registers a loaded object; returns its index for lookups.  Never fails: a module whose
 * file is gone or was rebuilt (build-id differs) resolves to no symbols, with a warning
 * available from ht_symbolizer_module_warning(). */
guint ht_symbolizer_add_module (HtSymbolizer *self, const HtModuleInfo *info);
const char *ht_symbolizer_module_warning (HtSymbolizer *self, guint module);

/* The frames at return address `ip` in `module`, innermost (inlined) first; at least one.
 * The array and its strings live as long as the symbolizer.  Cached per address. */
guint ht_symbolizer_lookup (HtSymbolizer *self, guint module, guint64 ip, const HtFrame **frames);

/* Whether addr falls anywhere in the module as loaded (code or data). */
gboolean ht_symbolizer_module_contains (HtSymbolizer *self, guint module, guint64 addr);

/* The ELF symbol (data or code) containing `addr` in `module`, mangled as in the symbol
 * table, or NULL.  Cached per address. */
const char *ht_symbolizer_symbol_at (HtSymbolizer *self, guint module, guint64 addr);

/* "g_list", "g_table+16", "Registry::instance" (demangled): the data or code symbol
 * `addr` lies inside (within its size), or NULL. */
char *ht_symbolizer_describe_data (HtSymbolizer *self, guint module, guint64 addr);

char *ht_demangle (const char *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HtSymbolizer, ht_symbolizer_free)

G_END_DECLS
