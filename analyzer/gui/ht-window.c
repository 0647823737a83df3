/* ht-window.c - HtWindow: the application's window.
 *
 * A header bar (Open, and a menu with the recent recordings, the shortcuts and Quit) over a
 * notebook with one tab per recording; recordings dropped on the window open too.  With
 * settings, the window's size and the recent files are remembered.
 */
#include "ht-import.h"
#include "ht-reader.h"
#include "ht-window.h"

struct _HtWindow
{
  GtkApplicationWindow parent_instance;

  /* template children */
  GtkMenuButton *menu_button;
  GtkNotebook *notebook;

  GSettings *settings; /* NULL: nothing remembered */
};

G_DEFINE_FINAL_TYPE (HtWindow, ht_window, GTK_TYPE_APPLICATION_WINDOW)

static void
remember_recent (HtWindow *self, const char *path)
{
  if (!self->settings)
    return;
  g_autofree char *abs = g_canonicalize_filename (path, NULL);
  g_auto (GStrv) old = g_settings_get_strv (self->settings, "recent-files");
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_strv_builder_add (b, abs);
  for (guint i = 0, n = 1; old[i] && n < 10; i++)
    if (!g_str_equal (old[i], abs))
      {
        g_strv_builder_add (b, old[i]);
        n++;
      }
  g_auto (GStrv) list = g_strv_builder_end (b);
  g_settings_set_strv (self->settings, "recent-files", (const char *const *) list);
}

static GMenuModel *
build_menu (GSettings *settings)
{
  GMenu *menu = g_menu_new ();
  g_menu_append (menu, _("Open…"), "app.open");
  if (settings)
    {
      GMenu *recent = g_menu_new ();
      g_auto (GStrv) files = g_settings_get_strv (settings, "recent-files");
      for (guint i = 0; files[i]; i++)
        {
          g_autofree char *base = g_path_get_basename (files[i]);
          GMenuItem *item = g_menu_item_new (base, NULL);
          g_menu_item_set_action_and_target (item, "app.open-recent", "s", files[i]);
          g_menu_append_item (recent, item);
          g_object_unref (item);
        }
      g_menu_append_submenu (menu, _("Recent"), G_MENU_MODEL (recent));
      g_object_unref (recent);
    }
  GMenu *section = g_menu_new ();
  g_menu_append (section, _("Keyboard Shortcuts"), "win.show-help-overlay");
  g_menu_append (section, _("Quit"), "app.quit");
  g_menu_append_section (menu, NULL, G_MENU_MODEL (section));
  g_object_unref (section);
  return G_MENU_MODEL (menu);
}

static void
page_opened (HtPage *page, const char *error, HtWindow *self)
{
  if (!error)
    remember_recent (self, ht_page_path (page));
}

static void
close_clicked (GtkButton *button, HtPage *page)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (button));
  if (HT_IS_WINDOW (root))
    ht_window_close_page (HT_WINDOW (root), page);
}

HtPage *
ht_window_open (HtWindow *self, const char *path)
{
  HtPage *page = ht_page_new (path);
  GtkWidget *tab = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 4);
  gtk_box_append (GTK_BOX (tab), gtk_label_new (ht_page_title (page)));
  GtkWidget *close = gtk_button_new_from_icon_name ("window-close-symbolic");
  gtk_button_set_has_frame (GTK_BUTTON (close), FALSE);
  gtk_widget_set_tooltip_text (close, _("Close (Ctrl+W)"));
  g_signal_connect (close, "clicked", G_CALLBACK (close_clicked), page);
  gtk_box_append (GTK_BOX (tab), close);
  gtk_widget_set_tooltip_text (tab, path);
  int n = gtk_notebook_append_page (self->notebook, GTK_WIDGET (page), tab);
  gtk_notebook_set_tab_reorderable (self->notebook, GTK_WIDGET (page), TRUE);
  gtk_notebook_set_current_page (self->notebook, n);
  g_signal_connect_object (page, "opened", G_CALLBACK (page_opened), self, 0);
  ht_page_start (page);
  return page;
}

HtPage *
ht_window_current_page (HtWindow *self)
{
  int n = gtk_notebook_get_current_page (self->notebook);
  return n < 0 ? NULL : HT_PAGE (gtk_notebook_get_nth_page (self->notebook, n));
}

void
ht_window_close_page (HtWindow *self, HtPage *page)
{
  int n = gtk_notebook_page_num (self->notebook, GTK_WIDGET (page));
  if (n >= 0)
    gtk_notebook_remove_page (self->notebook, n);
}

void
ht_window_show_page (HtWindow *self, int n)
{
  gtk_notebook_set_current_page (self->notebook, n);
}

static gboolean
files_dropped (GtkDropTarget *target, const GValue *value, double x, double y, HtWindow *self)
{
  (void) target;
  (void) x;
  (void) y;
  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;
  for (GSList *l = g_value_get_boxed (value); l; l = l->next)
    {
      g_autofree char *path = g_file_get_path (l->data);
      if (path)
        ht_window_open (self, path);
    }
  return TRUE;
}

static gboolean
ht_window_close_request (GtkWindow *window)
{
  HtWindow *self = HT_WINDOW (window);
  if (self->settings)
    {
      int w, h;
      gtk_window_get_default_size (window, &w, &h);
      g_settings_set_int (self->settings, "window-width", w);
      g_settings_set_int (self->settings, "window-height", h);
      g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));
    }
  return GTK_WINDOW_CLASS (ht_window_parent_class)->close_request (window);
}

static void
ht_window_dispose (GObject *object)
{
  HtWindow *self = HT_WINDOW (object);
  g_clear_object (&self->settings);
  gtk_widget_dispose_template (GTK_WIDGET (self), HT_TYPE_WINDOW);
  G_OBJECT_CLASS (ht_window_parent_class)->dispose (object);
}

static void
ht_window_class_init (HtWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = ht_window_dispose;
  GTK_WINDOW_CLASS (klass)->close_request = ht_window_close_request;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/heaptrail/Heaptrail/gtk/ht-window.ui");
  gtk_widget_class_bind_template_child (widget_class, HtWindow, menu_button);
  gtk_widget_class_bind_template_child (widget_class, HtWindow, notebook);
  ht_window_class_add_actions (widget_class);
}

static void
ht_window_init (HtWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  GtkDropTarget *drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect_object (drop, "drop", G_CALLBACK (files_dropped), self, 0);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));
}

HtWindow *
ht_window_new (GtkApplication *app, GSettings *settings, gboolean fixed)
{
  HtWindow *self = g_object_new (HT_TYPE_WINDOW, "application", app, NULL);
  self->settings = settings && !fixed ? g_object_ref (settings) : NULL;
  int w = 1200, h = 800;
  if (self->settings)
    {
      w = g_settings_get_int (self->settings, "window-width");
      h = g_settings_get_int (self->settings, "window-height");
    }
  if (fixed)
    w = 1024, h = 700; /* the smallest size the views must work at */
  gtk_window_set_default_size (GTK_WINDOW (self), w, h);
  if (self->settings && g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));
  g_autoptr (GMenuModel) menu = build_menu (settings);
  gtk_menu_button_set_menu_model (self->menu_button, menu);
  /* recent recordings whose database is at hand can be compared without opening them */
  g_auto (GStrv) recent = self->settings ? g_settings_get_strv (self->settings, "recent-files")
                                         : NULL;
  for (guint i = 0; recent && recent[i]; i++)
    {
      if (!ht_log_looks_like_log (recent[i]))
        {
          if (g_file_test (recent[i], G_FILE_TEST_IS_REGULAR))
            ht_gui_recordings_add (recent[i], FALSE);
          continue;
        }
      g_autofree char *db = ht_import_default_db_path (recent[i]);
      if (ht_import_is_current (recent[i], db))
        ht_gui_recordings_add (db, FALSE);
    }
  return self;
}
