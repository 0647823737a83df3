/* ht-pycode.h - Python code objects as the recorder writes them: lines from line tables. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The source line of the instruction `offset` code units (2 bytes each) into a code
 * object whose line table (co_linetable, CPython 3.11-3.13) and first line are given, as
 * PyCode_Addr2Line computes it; -1 where the table says the instruction has no line. */
int ht_py_code_line (const guint8 *table, gsize len, int first_line, guint offset);

G_END_DECLS
