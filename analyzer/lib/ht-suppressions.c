/* ht-suppressions.c - built-in and LeakSanitizer-style suppressions of blocks left at exit.
 *
 * A block that glibc or the C++ runtime allocated for itself (a stdio buffer, the loader's
 * link maps, locale data, a thread's TLS) is never freed by a normal exit, yet it is not
 * the program's leak.  The built-in rules name such allocations by function and library,
 * never by where a file is installed: a program under /usr/lib (cc1plus, or a test copied
 * there) keeps every one of its own leaks.  Two ways a built-in rule can match a stack:
 *
 *   anywhere    some frame is that function in that library (setlocale, NSS lookups:
 *               the runtime calls deeper into itself before it allocates);
 *   innermost   the frame that called the allocator is (the loader allocates for itself
 *               inline, but a library constructor run by the loader at start-up has loader
 *               frames further out, and its blocks are its own).
 *
 * The list follows what glibc 2.36's __libc_freeres and libstdc++'s __freeres release, and
 * LeakSanitizer's standard suppressions (dlerror, __tls_get_addr).
 */
#include "ht-suppressions.h"

#include <glib/gi18n-lib.h>
#include <string.h>

typedef struct
{
  const char *function; /* glob on the function name */
  const char *library;  /* glob on the module's base name */
  gboolean innermost;   /* only the frame that called the allocator */
  const char *reason;
} HtBuiltinRule;

static const HtBuiltinRule builtin_rules[] = {
  { "_IO_file_doallocate", "libc.so*", TRUE, N_("stdio buffers (glibc)") },
  { "*", "ld-linux*.so*", TRUE, N_("the dynamic loader's own data") },
  { "_dl_*", "libc.so*", TRUE, N_("the dynamic loader's own data") },
  { "_dlerror_run", "libc.so*", FALSE, N_("dlerror's message (glibc)") },
  { "setlocale", "libc.so*", FALSE, N_("locale data (glibc)") },
  { "__libc_setlocale", "libc.so*", FALSE, N_("locale data (glibc)") },
  { "_nl_*", "libc.so*", FALSE, N_("locale and message catalogs (glibc)") },
  { "__dcigettext", "libc.so*", FALSE, N_("locale and message catalogs (glibc)") },
  { "__gconv_*", "libc.so*", FALSE, N_("character set converters (glibc)") },
  { "__nss_*", "libc.so*", FALSE, N_("name service tables (glibc)") },
  { "nss_*", "libc.so*", FALSE, N_("name service tables (glibc)") },
  { "_nss_*", "libnss_*.so*", FALSE, N_("name service tables (glibc)") },
  { "__tzfile_read", "libc.so*", FALSE, N_("time zone data (glibc)") },
  { "tzset_internal", "libc.so*", FALSE, N_("time zone data (glibc)") },
  { "__tzstring*", "libc.so*", FALSE, N_("time zone data (glibc)") },
  { "__cxa_get_globals*", "libstdc++.so*", TRUE, N_("C++ exception globals (libstdc++)") },
  { "*pool::pool*", "libstdc++.so*", FALSE, N_("C++ emergency exception pool (libstdc++)") },
};

typedef struct
{
  GPatternSpec *function, *library, *any; /* any: a user pattern (function, file or module) */
  gboolean innermost;
  char *reason;
} HtRule;

struct _HtSuppressions
{
  GArray *rules; /* HtRule */
};

static void
rule_clear (gpointer data)
{
  HtRule *r = data;
  g_clear_pointer (&r->function, g_pattern_spec_free);
  g_clear_pointer (&r->library, g_pattern_spec_free);
  g_clear_pointer (&r->any, g_pattern_spec_free);
  g_free (r->reason);
}

HtSuppressions *
ht_suppressions_new (void)
{
  HtSuppressions *self = g_new0 (HtSuppressions, 1);
  self->rules = g_array_new (FALSE, TRUE, sizeof (HtRule));
  g_array_set_clear_func (self->rules, rule_clear);
  return self;
}

void
ht_suppressions_free (HtSuppressions *self)
{
  if (!self)
    return;
  g_array_unref (self->rules);
  g_free (self);
}

void
ht_suppressions_add_builtin (HtSuppressions *self)
{
  g_return_if_fail (self != NULL);
  for (guint i = 0; i < G_N_ELEMENTS (builtin_rules); i++)
    {
      const HtBuiltinRule *b = &builtin_rules[i];
      HtRule r = { .function = g_pattern_spec_new (b->function),
                   .library = g_pattern_spec_new (b->library),
                   .innermost = b->innermost,
                   .reason = g_strdup (_(b->reason)) };
      g_array_append_val (self->rules, r);
    }
}

/* LeakSanitizer's pattern syntax, turned into a glob: a substring unless anchored. */
void
ht_suppressions_add_pattern (HtSuppressions *self, const char *pattern, const char *reason)
{
  g_return_if_fail (self != NULL && pattern != NULL);
  g_autofree char *p = g_strstrip (g_strdup (pattern));
  gsize n = strlen (p);
  if (n == 0)
    return;
  gboolean head = p[0] == '^', tail = p[n - 1] == '$';
  if (tail)
    p[n - 1] = 0;
  g_autofree char *glob = g_strconcat (head ? "" : "*", p + head, tail ? "" : "*", NULL);
  HtRule r = { .any = g_pattern_spec_new (glob), .reason = g_strdup (reason) };
  g_array_append_val (self->rules, r);
}

/* "leak:PATTERN" lines of a suppressions text, each with `origin` in its reason. */
static void
add_text (HtSuppressions *self, const char *text, const char *origin)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      char *l = g_strstrip (lines[i]);
      if (g_str_has_prefix (l, "leak:"))
        {
          g_autofree char *reason = g_strdup_printf ("%s: %s", origin, l);
          ht_suppressions_add_pattern (self, l + 5, reason);
        }
    }
}

void
ht_suppressions_add_program (HtSuppressions *self, HtDb *db)
{
  g_return_if_fail (self != NULL && db != NULL);
  g_autofree char *text = ht_db_meta_string (db, "lsan_default_suppressions");
  if (text && *text)
    add_text (self, text, "__lsan_default_suppressions()");
}

gboolean
ht_suppressions_load (HtSuppressions *self, const char *path, GError **error)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, error))
    return FALSE;
  g_autofree char *base = g_path_get_basename (path);
  add_text (self, text, base);
  return TRUE;
}

static gboolean
matches (GPatternSpec *spec, const char *s)
{
  return s && g_pattern_spec_match_string (spec, s);
}

static gboolean
rule_matches_frame (const HtRule *r, const HtLocation *l)
{
  if (r->any)
    return matches (r->any, l->function) || matches (r->any, l->file)
           || matches (r->any, l->module);
  /* glibc's internal aliases are what the symbol table often names: __GI__IO_file_doallocate */
  const char *fn = l->function && g_str_has_prefix (l->function, "__GI_") ? l->function + 5
                                                                          : l->function;
  if (!l->module || !matches (r->function, fn))
    return FALSE;
  const char *slash = strrchr (l->module, '/');
  return matches (r->library, slash ? slash + 1 : l->module);
}

const char *
ht_suppressions_match (HtSuppressions *self, GPtrArray *traceback)
{
  if (!self || !traceback)
    return NULL;
  for (guint i = 0; i < self->rules->len; i++)
    {
      const HtRule *r = &g_array_index (self->rules, HtRule, i);
      guint n = r->innermost ? MIN (1u, traceback->len) : traceback->len;
      for (guint j = 0; j < n; j++)
        if (rule_matches_frame (r, traceback->pdata[j]))
          return r->reason;
    }
  return NULL;
}
