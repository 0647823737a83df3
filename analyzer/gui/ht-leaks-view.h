/* ht-leaks-view.h - the Leaks view: blocks not freed at exit, by stack and leak class. */
#pragma once

#include <gtk/gtk.h>

#include "ht-db.h"

G_BEGIN_DECLS

#define HT_TYPE_LEAKS_VIEW (ht_leaks_view_get_type ())
G_DECLARE_FINAL_TYPE (HtLeaksView, ht_leaks_view, HT, LEAKS_VIEW, GtkBox)

/* The leaks of the recording in `db`. */
GtkWidget *ht_leaks_view_new (HtDb *db);

/* Only the blocks allocated between `from` and `to` seconds (to <= from: all of them). */
void ht_leaks_view_set_time_range (HtLeaksView *self, double from, double to);

G_END_DECLS
