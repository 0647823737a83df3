/* ht-application.c - HtApplication: heaptrail-gui, one window, one tab per recording.
 *
 *   heaptrail-gui [REC...]                      open recordings (logs or databases)
 *   heaptrail-gui --compare A B                 open both, A's Compare view on B
 *   heaptrail-gui --screenshot DIR REC...       one PNG per view into DIR, then exit
 *
 * Each tab is an HtPage (ht-page.c, template ht-page.ui).  Recent files and the window's size live in GSettings
 * (org.heaptrail.Heaptrail) when the schema is installed; without it (a build tree) they
 * are simply not remembered.  A driver (HtGuiDriver: tests/gui's, that drives the views and
 * checks them) may add options and take over the recordings once opened; the window then
 * has the smallest size the views must work at, and nothing is remembered.
 */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "ht-error.h"
#include "ht-gui.h"
#include "ht-import.h"
#include "ht-reader.h"
#include "ht-allocations-view.h"
#include "ht-application.h"
#include "ht-compare-view.h"
#include "ht-window.h"

#define APP_ID "org.heaptrail.Heaptrail"

void ht_gui_register_resource (void); /* ht-gui-resources.c, made by glib-compile-resources */

struct _HtApplication
{
  GtkApplication parent_instance;
  HtWindow *window;
  GSettings *settings; /* NULL when the schema is not installed */
  char *screenshot_dir;
  gboolean compare;          /* --compare A B */
  int width, height;         /* --window-size WxH; 0: the default */
  const HtGuiDriver *driver; /* NULL: a user's session */
  gint64 started;
  int exit_code;
};

G_DEFINE_FINAL_TYPE (HtApplication, ht_application, GTK_TYPE_APPLICATION)

static HtApplication *the_app; /* the one ht_gui_run() made */

static GSettings *
settings_or_null (void)
{
  GSettingsSchemaSource *src = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = src ? g_settings_schema_source_lookup (src, APP_ID, TRUE)
                                           : NULL;
  return schema ? g_settings_new (APP_ID) : NULL;
}

static HtWindow *
the_window (void)
{
  if (!the_app->window)
    {
      the_app->window = ht_window_new (GTK_APPLICATION (the_app), the_app->settings,
                                        the_app->screenshot_dir || the_app->driver);
      if (the_app->width > 0)
        gtk_window_set_default_size (GTK_WINDOW (the_app->window), the_app->width,
                                     the_app->height);
    }
  return the_app->window;
}

/* ---------------------------------------------------------------------------------------
 * The application's actions: app.open, app.open-recent, app.quit
 */
static void
open_response (GtkNativeDialog *dialog, int response, gpointer data)
{
  (void) data;
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (dialog));
      for (guint i = 0; i < g_list_model_get_n_items (files); i++)
        {
          g_autoptr (GFile) f = g_list_model_get_item (files, i);
          g_autofree char *path = g_file_get_path (f);
          if (path)
            ht_window_open (the_window (), path);
        }
    }
  g_object_unref (dialog);
}

static void
action_open (GSimpleAction *a, GVariant *p, gpointer data)
{
  (void) a;
  (void) p;
  (void) data;
  GtkFileChooserNative *dialog
    = gtk_file_chooser_native_new (_("Open a recording"), GTK_WINDOW (the_window ()),
                                   GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (dialog), TRUE);
  GtkFileFilter *filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _("heaptrail recordings (*.htr, *.db)"));
  gtk_file_filter_add_pattern (filter, "*.htr");
  gtk_file_filter_add_pattern (filter, "*.db");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  g_object_unref (filter);
  g_signal_connect (dialog, "response", G_CALLBACK (open_response), NULL);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
action_open_recent (GSimpleAction *a, GVariant *p, gpointer data)
{
  (void) a;
  (void) data;
  ht_window_open (the_window (), g_variant_get_string (p, NULL));
}

static void
action_quit (GSimpleAction *a, GVariant *p, gpointer data)
{
  (void) a;
  (void) p;
  (void) data;
  if (the_app->window)
    gtk_window_close (GTK_WINDOW (the_app->window));
}

/* ---------------------------------------------------------------------------------------
 * --screenshot and --self-test
 */
typedef struct
{
  HtPage *page;
  int view;
  int wait;
  int tries; /* ticks the current view has not been drawn yet */
  gboolean difference; /* Compare shown a second time, as the difference */
  int paints;          /* frames painted since the view was shown */
} Shots;

static gboolean
save_png (GtkWidget *widget, const char *path)
{
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  if (w <= 0 || h <= 0)
    return FALSE;
  GdkPaintable *paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snap = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snap, w, h);
  GskRenderNode *node = gtk_snapshot_free_to_node (snap);
  gboolean ok = FALSE;
  if (node)
    {
      GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
      GdkTexture *texture = gsk_renderer_render_texture (renderer, node,
                                                         &GRAPHENE_RECT_INIT (0, 0, w, h));
      ok = gdk_texture_save_to_png (texture, path);
      g_object_unref (texture);
      gsk_render_node_unref (node);
    }
  g_object_unref (paintable);
  return ok;
}

static gboolean screenshot_step (gpointer data);

/* The next step once the frame clock has painted the window twice: the view shown last has
 * then been laid out and drawn, however long that took (a large graph, a long table), and
 * what its first layout changed (a graph scrolled to the blocks asked about) drawn too. */
static void
painted (GdkFrameClock *clock, gpointer data)
{
  Shots *s = data;
  if (++s->paints < 2)
    {
      gtk_widget_queue_draw (GTK_WIDGET (the_app->window));
      return;
    }
  s->paints = 0;
  g_signal_handlers_disconnect_by_func (clock, painted, s);
  g_idle_add (screenshot_step, s);
}

static gboolean
after_next_paint (Shots *s)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (the_app->window));
  if (!clock)
    return G_SOURCE_CONTINUE; /* not realized yet: the timer asks again */
  g_signal_connect (clock, "after-paint", G_CALLBACK (painted), s);
  gtk_widget_queue_draw (GTK_WIDGET (the_app->window));
  return G_SOURCE_REMOVE;
}

static void
screenshots_done (Shots *s)
{
  gtk_window_destroy (GTK_WINDOW (the_app->window));
  g_free (s);
}

static gboolean
screenshot_step (gpointer data)
{
  Shots *s = data;
  if (!ht_page_ready (s->page))
    {
      if (ht_page_failed (s->page))
        {
          g_printerr ("heaptrail-gui: %s could not be opened\n", ht_page_path (s->page));
          the_app->exit_code = 1;
          screenshots_done (s);
          return G_SOURCE_REMOVE;
        }
      return G_SOURCE_CONTINUE; /* the timer polls until the import is done */
    }
  if (s->view >= 0)
    {
      g_autofree char *path = g_strdup_printf ("%s/%02d-%s%s.png", the_app->screenshot_dir,
                                               s->view + s->difference, ht_view_ids[s->view],
                                               s->difference ? "-difference" : "");
      GtkWidget *content = gtk_window_get_child (GTK_WINDOW (the_app->window));
      if (!save_png (content, path))
        {
          /* painted, yet nothing to render: wait for a few more frames before calling it
           * a failure */
          if (++s->tries < 40)
            return after_next_paint (s);
          g_printerr ("heaptrail-gui: could not save %s\n", path);
          the_app->exit_code = 1;
        }
      else
        g_print ("%s\n", path);
      s->tries = 0;
      /* Compare compared with another recording: its difference too */
      GtkWidget *slot = ht_page_view_widget (s->page, HT_VIEW_COMPARE);
      GtkWidget *compare = slot ? gtk_widget_get_first_child (slot) : NULL;
      if (s->view == HT_VIEW_COMPARE && !s->difference && HT_IS_COMPARE_VIEW (compare)
          && ht_compare_view_compared (HT_COMPARE_VIEW (compare)))
        {
          s->difference = TRUE;
          ht_compare_view_show_difference (HT_COMPARE_VIEW (compare), TRUE);
          return after_next_paint (s);
        }
    }
  s->view++;
  if (s->view >= HT_VIEW_COUNT)
    {
      screenshots_done (s);
      return G_SOURCE_REMOVE;
    }
  ht_page_show_view (s->page, (HtView) s->view);
  if (s->view == HT_VIEW_ALLOCATIONS)
    {
      /* show what a row holds: the first one selected (its stack below) and expanded */
      GtkWidget *slot = ht_page_view_widget (s->page, HT_VIEW_ALLOCATIONS);
      GtkWidget *view = slot ? gtk_widget_get_first_child (slot) : NULL;
      GListModel *visible = HT_IS_ALLOCATIONS_VIEW (view)
                              ? ht_table_visible (ht_allocations_view_get_table (
                                HT_ALLOCATIONS_VIEW (view)))
                              : NULL;
      if (visible && g_list_model_get_n_items (visible) > 0)
        {
          gtk_selection_model_select_item (GTK_SELECTION_MODEL (visible), 0, TRUE);
          g_autoptr (GObject) first = g_list_model_get_item (visible, 0);
          if (GTK_IS_TREE_LIST_ROW (first))
            gtk_tree_list_row_set_expanded (GTK_TREE_LIST_ROW (first), TRUE);
        }
    }
  return after_next_paint (s);
}

/* ---------------------------------------------------------------------------------------
 * The application
 */
static void
on_activate (GApplication *app)
{
  (void) app;
  gtk_window_present (GTK_WINDOW (the_window ()));
}

/* The recordings are open (or opening): screenshots, or the driver, take them over. */
static void
pages_opened (GPtrArray *pages)
{
  if (the_app->screenshot_dir && pages->len)
    {
      Shots *s = g_new0 (Shots, 1);
      s->page = pages->pdata[0];
      s->view = -1;
      ht_window_show_page (the_app->window, 0);
      g_timeout_add (100, screenshot_step, s);
      g_ptr_array_unref (pages);
    }
  else if (the_app->driver && the_app->driver->opened && pages->len)
    {
      ht_window_show_page (the_app->window, 0);
      the_app->driver->opened (pages);
    }
  else
    g_ptr_array_unref (pages);
}

/* --compare A B: once both are open, A's Compare view shows them side by side. */
static gboolean
compare_step (gpointer data)
{
  GPtrArray *pages = data;
  HtPage *a = pages->pdata[0], *b = pages->pdata[1];
  for (guint i = 0; i < 2; i++)
    if (ht_page_failed (pages->pdata[i]))
      {
        g_printerr ("heaptrail-gui: %s\n", ht_page_error (pages->pdata[i]));
        the_app->exit_code = 1;
        if (the_app->screenshot_dir || the_app->driver)
          gtk_window_destroy (GTK_WINDOW (the_app->window));
        g_ptr_array_unref (pages);
        return G_SOURCE_REMOVE;
      }
  if (!ht_page_ready (a) || !ht_page_ready (b))
    return G_SOURCE_CONTINUE;
  g_autoptr (GError) error = NULL;
  if (!ht_views_compare_with (ht_page_views (a), ht_db_path (ht_page_db (b)), &error))
    g_printerr ("heaptrail-gui: %s: %s\n", ht_page_path (b), error->message);
  ht_window_show_page (the_app->window, 0);
  ht_page_show_view (a, HT_VIEW_COMPARE);
  pages_opened (pages);
  return G_SOURCE_REMOVE;
}

static void
on_open (GApplication *gapp, GFile **files, int n, const char *hint)
{
  (void) hint;
  if (the_app->compare && n != 2)
    {
      g_printerr ("heaptrail-gui: %s\n", _("--compare takes two recordings"));
      the_app->exit_code = 2;
      g_application_quit (gapp);
      return;
    }
  GPtrArray *pages = g_ptr_array_new ();
  for (int i = 0; i < n; i++)
    {
      g_autofree char *path = g_file_get_path (files[i]);
      if (path)
        g_ptr_array_add (pages, ht_window_open (the_window (), path));
    }
  gtk_window_present (GTK_WINDOW (the_window ()));
  if (the_app->compare && pages->len == 2)
    g_timeout_add (50, compare_step, pages);
  else
    pages_opened (pages);
}

static int
handle_local_options (GApplication *app, GVariantDict *options)
{
  (void) app;
  const char *dir = NULL;
  if (g_variant_dict_lookup (options, "screenshot", "^&ay", &dir))
    {
      the_app->screenshot_dir = g_strdup (dir);
      g_mkdir_with_parents (dir, 0755);
    }
  the_app->compare = g_variant_dict_contains (options, "compare");
  const char *size = NULL;
  if (g_variant_dict_lookup (options, "window-size", "&s", &size)
      && (sscanf (size, "%dx%d", &the_app->width, &the_app->height) != 2
          || the_app->width < 640 || the_app->height < 480 || the_app->width > 16384
          || the_app->height > 16384))
    {
      g_printerr ("heaptrail-gui: %s\n", _("--window-size takes WIDTHxHEIGHT, at least 640x480"));
      return 2;
    }
  if (the_app->driver && the_app->driver->local_options)
    {
      int status = the_app->driver->local_options (options);
      if (status >= 0)
        return status;
    }
  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("heaptrail-gui %s\n", HT_VERSION);
      return 0;
    }
  return -1;
}

static void
setup_gettext (const char *argv0)
{
  /* translations beside the executable: the install layout, else the build tree */
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *bindir = g_path_get_dirname (self ? self : argv0);
  const char *const candidates[] = { HT_LOCALEDIR_FROM_BINDIR, HT_LOCALEDIR_FROM_BUILD };
  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    {
      g_autofree char *dir = g_build_filename (bindir, candidates[i], NULL);
      if (g_file_test (dir, G_FILE_TEST_IS_DIR))
        {
          bindtextdomain (GETTEXT_PACKAGE, dir);
          break;
        }
    }
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
}

static void
ht_application_startup (GApplication *app)
{
  G_APPLICATION_CLASS (ht_application_parent_class)->startup (app);
  static const GActionEntry app_actions[] = {
    { "open", action_open, NULL, NULL, NULL, { 0 } },
    { "open-recent", action_open_recent, "s", NULL, NULL, { 0 } },
    { "quit", action_quit, NULL, NULL, NULL, { 0 } },
  };
  g_action_map_add_action_entries (G_ACTION_MAP (app), app_actions, G_N_ELEMENTS (app_actions),
                                   NULL);
  GtkApplication *gtk_app = GTK_APPLICATION (app);
  const char *open_accels[] = { "<Control>o", NULL };
  const char *quit_accels[] = { "<Control>q", NULL };
  const char *close_accels[] = { "<Control>w", NULL };
  const char *find_accels[] = { "<Control>f", NULL };
  gtk_application_set_accels_for_action (gtk_app, "app.open", open_accels);
  gtk_application_set_accels_for_action (gtk_app, "app.quit", quit_accels);
  gtk_application_set_accels_for_action (gtk_app, "win.close-tab", close_accels);
  gtk_application_set_accels_for_action (gtk_app, "win.find", find_accels);
  for (int i = 0; i < HT_VIEW_COUNT; i++)
    {
      /* Alt+1 .. Alt+9, Alt+0 */
      g_autofree char *accel = g_strdup_printf ("<Alt>%d", (i + 1) % 10);
      g_autofree char *action = g_strdup_printf ("win.view::%s", ht_view_ids[i]);
      const char *accels[] = { accel, NULL };
      gtk_application_set_accels_for_action (gtk_app, action, accels);
    }
}

static void
ht_application_dispose (GObject *object)
{
  HtApplication *self = HT_APPLICATION (object);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->screenshot_dir, g_free);
  G_OBJECT_CLASS (ht_application_parent_class)->dispose (object);
}

static void
ht_application_class_init (HtApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = ht_application_dispose;
  app_class->startup = ht_application_startup;
  app_class->activate = on_activate;
  app_class->open = on_open;
  app_class->handle_local_options = handle_local_options;
}

static void
ht_application_init (HtApplication *self)
{
  static const GOptionEntry options[] = {
    { "screenshot", 0, 0, G_OPTION_ARG_FILENAME, NULL,
      N_("Save a PNG of every view of the first recording into DIR, then quit"), N_("DIR") },
    { "window-size", 0, 0, G_OPTION_ARG_STRING, NULL,
      N_("The window's size, such as 1920x1080 (for screenshots)"), N_("WxH") },
    { "compare", 0, 0, G_OPTION_ARG_NONE, NULL,
      N_("Compare the two recordings given: the first one's Compare view, on the second"),
      NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Print the version"), NULL },
    { NULL },
  };
  g_application_add_main_option_entries (G_APPLICATION (self), options);
  g_application_set_option_context_parameter_string (G_APPLICATION (self), _("[REC...]"));
  self->settings = settings_or_null ();
}

int
ht_gui_run (int argc, char **argv, const HtGuiDriver *driver)
{
  gint64 started = g_get_monotonic_time ();
  ht_gui_register_resource (); /* the views' templates, the help overlay */
  setlocale (LC_ALL, "");
  setup_gettext (argv[0]);
  g_set_application_name (_("heaptrail"));
  the_app = g_object_new (HT_TYPE_APPLICATION, "application-id", APP_ID, "flags",
                          G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE, NULL);
  the_app->started = started;
  the_app->driver = driver;
  if (driver && driver->options)
    g_application_add_main_option_entries (G_APPLICATION (the_app), driver->options);
  int status = g_application_run (G_APPLICATION (the_app), argc, argv);
  int exit_code = the_app->exit_code;
  g_clear_object (&the_app);
  return status ? status : exit_code;
}

GtkWindow *
ht_gui_window (void)
{
  return GTK_WINDOW (the_app->window);
}

void
ht_gui_set_exit_status (int status)
{
  the_app->exit_code = status;
}

gint64
ht_gui_started (void)
{
  return the_app->started;
}
