/* ht-suppressions.h - which blocks left at exit are not the program's to free. */
#pragma once

#include <glib.h>

#include "ht-db.h"
#include "ht-query.h"

/* A set of rules, each with the reason it gives.  Two kinds:
 *
 *  - heaptrail's built-in rules: what glibc and the C++ runtime allocate for themselves
 *    and free only in __libc_freeres / __gnu_cxx::__freeres (which valgrind runs and a
 *    normal exit does not).  Each names a function AND the library it lives in, as
 *    LeakSanitizer's built-ins do, so the program's own code never matches one, wherever
 *    it is installed.
 *  - LeakSanitizer's suppression files: "leak:PATTERN" lines ('#' starts a comment; other
 *    kinds are ignored).  A pattern matches a frame's function, source file or module, as
 *    a substring with '*' wildcards, anchored by a leading '^' or trailing '$'. */
typedef struct _HtSuppressions HtSuppressions;

HtSuppressions *ht_suppressions_new (void);
void ht_suppressions_add_builtin (HtSuppressions *self);
gboolean ht_suppressions_load (HtSuppressions *self, const char *path, GError **error);
/* The program's own: what its __lsan_default_suppressions() returned, kept in the
 * recording; nothing when it has none. */
void ht_suppressions_add_program (HtSuppressions *self, HtDb *db);
/* One pattern, as a file's "leak:" line would give it (a program's
 * __lsan_default_suppressions(), say); `reason` says where it came from. */
void ht_suppressions_add_pattern (HtSuppressions *self, const char *pattern, const char *reason);
/* The reason of the first rule that matches the stack (HtLocation*, innermost first), or
 * NULL.  The string belongs to `self`. */
const char *ht_suppressions_match (HtSuppressions *self, GPtrArray *traceback);
void ht_suppressions_free (HtSuppressions *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HtSuppressions, ht_suppressions_free)
