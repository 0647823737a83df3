/* ht-window-actions.c - HtWindow's actions, installed on its class:
 *
 *   win.close-tab   Ctrl+W     close the current recording's tab
 *   win.view::ID    Alt+1..0   show a view of the current recording (ht_view_ids)
 *   win.find        Ctrl+F     the Allocations view's filter
 */
#include "ht-window.h"

static void
close_tab (GtkWidget *widget, const char *name, GVariant *param)
{
  (void) name;
  (void) param;
  HtPage *page = ht_window_current_page (HT_WINDOW (widget));
  if (page)
    ht_window_close_page (HT_WINDOW (widget), page);
}

static void
view (GtkWidget *widget, const char *name, GVariant *param)
{
  (void) name;
  HtPage *page = ht_window_current_page (HT_WINDOW (widget));
  const char *id = g_variant_get_string (param, NULL);
  for (int i = 0; page && i < HT_VIEW_COUNT; i++)
    if (g_str_equal (id, ht_view_ids[i]))
      ht_page_show_view (page, (HtView) i);
}

static void
find (GtkWidget *widget, const char *name, GVariant *param)
{
  (void) name;
  (void) param;
  HtPage *page = ht_window_current_page (HT_WINDOW (widget));
  if (page)
    ht_page_focus_search (page);
}

void
ht_window_class_add_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.close-tab", NULL, close_tab);
  gtk_widget_class_install_action (widget_class, "win.view", "s", view);
  gtk_widget_class_install_action (widget_class, "win.find", NULL, find);
}
