/* ht-types-view.h - the Types view: objgraph's show_growth between two snapshots. */
#pragma once

#include <gtk/gtk.h>

#include "ht-db.h"

G_BEGIN_DECLS

#define HT_TYPE_TYPES_VIEW (ht_types_view_get_type ())
G_DECLARE_FINAL_TYPE (HtTypesView, ht_types_view, HT, TYPES_VIEW, GtkBox)

/* A row activated emits "type-activated" with the type's name. */
GtkWidget *ht_types_view_new (HtDb *db, GPtrArray *snapshots);

/* The snapshots around a time range chosen on the timeline (to <= from: the default). */
void ht_types_view_set_time_range (HtTypesView *self, double from, double to);

G_END_DECLS
