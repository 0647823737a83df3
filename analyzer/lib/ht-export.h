/* ht-export.h - a recording written in formats other tools read (ht-export.c). */
#pragma once

#include <glib.h>

#include "ht-query.h"

G_BEGIN_DECLS

typedef struct
{
  const char *at;       /* the moment the "live" (inuse) figures are of: "peak" (NULL), "end",
                           a snapshot's label, a time */
  gboolean allocations; /* collapsed: every allocation of the run instead of the live blocks;
                           speedscope, pprof: open on the allocations */
  gboolean count;       /* collapsed: blocks instead of bytes */
  const HtTopOptions *filters; /* --include / --exclude, or NULL */
} HtExportOptions;

GBytes *ht_export_collapsed (HtDb *db, const HtExportOptions *options, GError **error);
GBytes *ht_export_speedscope (HtDb *db, const HtExportOptions *options, GError **error);
GBytes *ht_export_massif (HtDb *db, const HtExportOptions *options, GError **error);
GBytes *ht_export_pprof (HtDb *db, const HtExportOptions *options, GError **error);

G_END_DECLS
