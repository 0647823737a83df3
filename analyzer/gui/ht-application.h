/* ht-application.h - HtApplication: heaptrail-gui's GtkApplication (ht_gui_run() makes it). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define HT_TYPE_APPLICATION (ht_application_get_type ())
G_DECLARE_FINAL_TYPE (HtApplication, ht_application, HT, APPLICATION, GtkApplication)

G_END_DECLS
