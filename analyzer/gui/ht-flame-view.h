/* ht-flame-view.h - the Flame graph view: a cost's call stacks by function, drawn. */
#pragma once

#include <gtk/gtk.h>

#include "ht-db.h"

G_BEGIN_DECLS

#define HT_TYPE_FLAME_VIEW (ht_flame_view_get_type ())
G_DECLARE_FINAL_TYPE (HtFlameView, ht_flame_view, HT, FLAME_VIEW, GtkBox)

GtkWidget *ht_flame_view_new (HtDb *db);

G_END_DECLS
