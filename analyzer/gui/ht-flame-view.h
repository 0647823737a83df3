/* ht-flame-view.h - the Flame graph view: a cost's call stacks by function, drawn. */
#pragma once

#include <gtk/gtk.h>

#include "ht-db.h"

G_BEGIN_DECLS

#define HT_TYPE_FLAME_VIEW (ht_flame_view_get_type ())
G_DECLARE_FINAL_TYPE (HtFlameView, ht_flame_view, HT, FLAME_VIEW, GtkBox)

GtkWidget *ht_flame_view_new (HtDb *db);
/* Only the allocations made between `from` and `to` seconds (to <= from: all of them). */
void ht_flame_view_set_time_range (HtFlameView *self, double from, double to);

G_END_DECLS
