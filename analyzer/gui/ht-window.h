/* ht-window.h - HtWindow: the application's window, one tab (HtPage) per recording. */
#pragma once

#include <gtk/gtk.h>

#include "ht-gui.h"

G_BEGIN_DECLS

#define HT_TYPE_WINDOW (ht_window_get_type ())
G_DECLARE_FINAL_TYPE (HtWindow, ht_window, HT, WINDOW, GtkApplicationWindow)

/* `settings` (or NULL) give the size it had and keep the recent files; `fixed`: the smallest
 * size the views must work at, nothing remembered (screenshots, a driver). */
HtWindow *ht_window_new (GtkApplication *app, GSettings *settings, gboolean fixed);
/* A new tab for the recording at `path`, opened (imported first when it is a log). */
HtPage *ht_window_open (HtWindow *self, const char *path);
HtPage *ht_window_current_page (HtWindow *self);
void ht_window_close_page (HtWindow *self, HtPage *page);
void ht_window_show_page (HtWindow *self, int n);

/* ht-window-actions.c: win.close-tab, win.view::ID and win.find, on the class */
void ht_window_class_add_actions (GtkWidgetClass *widget_class);

G_END_DECLS
