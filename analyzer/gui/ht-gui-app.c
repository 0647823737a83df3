/* ht-gui-app.c - heaptrail-gui: the application, its window, one tab per recording.
 *
 *   heaptrail-gui [REC...]                      open recordings (logs or databases)
 *   heaptrail-gui --screenshot DIR REC          one PNG per view into DIR, then exit
 *   heaptrail-gui --self-test REC [REC2]        drive the views, check the models, exit
 *
 * A log is imported in a worker thread (GTask) with a progress bar and Cancel; a database
 * that is current opens at once.  Recent files and the window's size live in GSettings
 * (org.heaptrail.Heaptrail) when the schema is installed; without it (a build tree) they
 * are simply not remembered.
 */
#include <locale.h>
#include <string.h>

#include "ht-error.h"
#include "ht-gui.h"
#include "ht-import.h"
#include "ht-reader.h"

#define APP_ID "org.heaptrail.Heaptrail"

/* ---------------------------------------------------------------------------------------
 * The recordings open, for Compare
 */
GtkStringList *
ht_gui_recordings (void)
{
  static GtkStringList *list;
  if (!list)
    list = gtk_string_list_new (NULL);
  return list;
}

static void
recordings_add (const char *db_path)
{
  GtkStringList *list = ht_gui_recordings ();
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (list)); i++)
    if (g_str_equal (gtk_string_list_get_string (list, i), db_path))
      return;
  gtk_string_list_append (list, db_path);
}

/* ---------------------------------------------------------------------------------------
 * HtPage
 */
struct _HtPage
{
  GtkBox parent;
  char *path, *title;
  HtDb *db;
  HtViews *views;
  GtkStack *stack;
  GtkWidget *loading;
  GtkProgressBar *progress;
  GCancellable *cancellable;
  double fraction; /* written by the worker, read by a timeout */
  guint progress_source;
  gboolean ready, failed;
  char *error; /* why it failed */
  char *log;                /* the log behind the database, for time ranges; NULL if gone */
  double range_from, range_to; /* the time window shown; range_to 0: all */
};

G_DEFINE_FINAL_TYPE (HtPage, ht_page, GTK_TYPE_BOX)

enum
{
  SIGNAL_OPENED,
  N_SIGNALS
};
static guint page_signals[N_SIGNALS];

static void
ht_page_dispose (GObject *object)
{
  HtPage *self = HT_PAGE (object);
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  if (self->progress_source)
    g_source_remove (self->progress_source);
  self->progress_source = 0;
  g_clear_pointer (&self->views, ht_views_free);
  G_OBJECT_CLASS (ht_page_parent_class)->dispose (object);
}

static void
ht_page_finalize (GObject *object)
{
  HtPage *self = HT_PAGE (object);
  g_clear_pointer (&self->db, ht_db_close);
  g_clear_object (&self->cancellable);
  g_free (self->path);
  g_free (self->title);
  g_free (self->log);
  g_free (self->error);
  G_OBJECT_CLASS (ht_page_parent_class)->finalize (object);
}

static void
ht_page_class_init (HtPageClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = ht_page_dispose;
  G_OBJECT_CLASS (klass)->finalize = ht_page_finalize;
  /* opened (error message or NULL) */
  page_signals[SIGNAL_OPENED] = g_signal_new ("opened", G_TYPE_FROM_CLASS (klass),
                                              G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                              G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
ht_page_init (HtPage *self)
{
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
}

typedef struct
{
  char *log, *db;
  double from, to; /* --time window; to 0: none */
} ImportJob;

static void
import_job_free (gpointer data)
{
  ImportJob *job = data;
  g_free (job->log);
  g_free (job->db);
  g_free (job);
}

static void
import_progress (double fraction, gpointer data)
{
  HtPage *page = data;
  page->fraction = fraction; /* a double store; the UI polls it */
}

static void
import_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  HtPage *page = source;
  ImportJob *job = data;
  HtImportOptions opt = { .progress = import_progress, .progress_data = page,
                          .cancellable = cancellable, .window_from_s = job->from,
                          .window_to_s = job->to };
  GError *error = NULL;
  if (ht_import (job->log, job->db, &opt, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
  g_free (opt.warnings);
}

static gboolean
poll_progress (gpointer data)
{
  HtPage *page = data;
  gtk_progress_bar_set_fraction (page->progress, page->fraction);
  return G_SOURCE_CONTINUE;
}

static void
page_fail (HtPage *page, const char *message)
{
  page->failed = TRUE;
  g_free (page->error);
  page->error = g_strdup (message);
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (page))))
    gtk_box_remove (GTK_BOX (page), child);
  GtkWidget *l = gtk_label_new (message);
  gtk_label_set_wrap (GTK_LABEL (l), TRUE);
  gtk_label_set_selectable (GTK_LABEL (l), TRUE);
  gtk_widget_set_vexpand (l, TRUE);
  gtk_box_append (GTK_BOX (page), l);
  g_signal_emit (page, page_signals[SIGNAL_OPENED], 0, message);
}

static void page_range_chosen (double from, double to, gpointer data);

static void
page_open_db (HtPage *page, const char *db_path)
{
  g_clear_pointer (&page->views, ht_views_free);
  g_clear_pointer (&page->db, ht_db_close);
  page->ready = FALSE;
  g_autoptr (GError) error = NULL;
  page->db = ht_db_open (db_path, &error);
  if (!page->db)
    {
      g_autofree char *msg = g_strdup_printf (_("%s: %s"), page->path, error->message);
      page_fail (page, msg);
      return;
    }
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (page))))
    gtk_box_remove (GTK_BOX (page), child);
  gint64 sample_bytes = ht_db_meta_int (page->db, "sample_bytes");
  if (sample_bytes > 0)
    {
      /* above every view: a sampled recording's figures are estimates */
      g_autofree char *rate = ht_format_size ((double) sample_bytes, FALSE);
      g_autofree char *text = g_strdup_printf (
        _("Sampled recording: one allocation per %s on average was recorded. Every size and "
          "count shown is an estimate."),
        rate);
      GtkWidget *banner = gtk_label_new (text);
      gtk_label_set_wrap (GTK_LABEL (banner), TRUE);
      gtk_label_set_xalign (GTK_LABEL (banner), 0);
      gtk_widget_add_css_class (banner, "warning");
      gtk_widget_set_margin_start (banner, 12);
      gtk_widget_set_margin_end (banner, 12);
      gtk_widget_set_margin_top (banner, 6);
      gtk_widget_set_margin_bottom (banner, 6);
      gtk_widget_set_name (banner, "estimate-banner");
      gtk_box_append (GTK_BOX (page), banner);
    }
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  gtk_widget_set_vexpand (row, TRUE);
  page->stack = GTK_STACK (gtk_stack_new ());
  gtk_stack_set_transition_type (page->stack, GTK_STACK_TRANSITION_TYPE_NONE);
  gtk_widget_set_hexpand (GTK_WIDGET (page->stack), TRUE);
  GtkWidget *sidebar = gtk_stack_sidebar_new ();
  gtk_stack_sidebar_set_stack (GTK_STACK_SIDEBAR (sidebar), page->stack);
  gtk_widget_set_size_request (sidebar, 150, -1);
  gtk_box_append (GTK_BOX (row), sidebar);
  gtk_box_append (GTK_BOX (row), gtk_separator_new (GTK_ORIENTATION_VERTICAL));
  gtk_box_append (GTK_BOX (row), GTK_WIDGET (page->stack));
  gtk_box_append (GTK_BOX (page), row);
  page->views = ht_views_new (page->db, page->path, page->stack);
  if (!page->log)
    {
      g_autofree char *log = ht_db_meta_string (page->db, "log_path");
      if (log && g_file_test (log, G_FILE_TEST_IS_REGULAR))
        page->log = g_steal_pointer (&log);
    }
  if (page->log)
    ht_views_set_range (page->views, page->range_from, page->range_to, page_range_chosen, page);
  page->ready = TRUE;
  recordings_add (ht_db_path (page->db));
  g_signal_emit (page, page_signals[SIGNAL_OPENED], 0, NULL);
}

static void
import_done (GObject *source, GAsyncResult *result, gpointer data)
{
  HtPage *page = HT_PAGE (source);
  (void) data;
  if (page->progress_source)
    g_source_remove (page->progress_source);
  page->progress_source = 0;
  g_autoptr (GError) error = NULL;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_autofree char *msg
        = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
              || g_error_matches (error, HT_DB_ERROR, HT_DB_ERROR_CANCELLED)
            ? g_strdup_printf (_("%s: import cancelled"), page->path)
            : g_strdup_printf (_("%s: %s"), page->path, error->message);
      page_fail (page, msg);
      return;
    }
  ImportJob *job = g_task_get_task_data (G_TASK (result));
  page_open_db (page, job->db);
}

static void
cancel_clicked (GtkButton *b, gpointer data)
{
  (void) b;
  g_cancellable_cancel (HT_PAGE (data)->cancellable);
}

static void page_import (HtPage *page, const char *log, char *db, double from, double to);

/* A database given directly, or a log: its database when current, else an import. */
static void
page_start (HtPage *page)
{
  if (!ht_log_looks_like_log (page->path))
    {
      page_open_db (page, page->path);
      return;
    }
  g_autofree char *db = ht_import_default_db_path (page->path);
  if (ht_import_is_current (page->path, db))
    {
      page_open_db (page, db);
      return;
    }
  page_import (page, page->path, g_steal_pointer (&db), 0, 0);
}

/* Imports `log` into `db` (taken) in a worker thread, showing progress and Cancel. */
static void
page_import (HtPage *page, const char *log, char *db, double from, double to)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (page))))
    gtk_box_remove (GTK_BOX (page), child);
  page->ready = FALSE;
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  gtk_widget_set_valign (box, GTK_ALIGN_CENTER);
  gtk_widget_set_halign (box, GTK_ALIGN_CENTER);
  g_autofree char *text = to > 0 ? g_strdup_printf (_("Importing %s, %.3f s to %.3f s..."),
                                                   page->title, from, to)
                                 : g_strdup_printf (_("Importing %s..."), page->title);
  gtk_box_append (GTK_BOX (box), gtk_label_new (text));
  page->progress = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  gtk_widget_set_size_request (GTK_WIDGET (page->progress), 360, -1);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (page->progress));
  GtkWidget *cancel = gtk_button_new_with_mnemonic (_("_Cancel"));
  gtk_widget_set_halign (cancel, GTK_ALIGN_CENTER);
  g_signal_connect (cancel, "clicked", G_CALLBACK (cancel_clicked), page);
  gtk_box_append (GTK_BOX (box), cancel);
  gtk_widget_set_vexpand (box, TRUE);
  gtk_box_append (GTK_BOX (page), box);
  page->loading = box;
  g_clear_object (&page->cancellable);
  page->cancellable = g_cancellable_new ();
  page->progress_source = g_timeout_add (100, poll_progress, page);
  ImportJob *job = g_new0 (ImportJob, 1);
  job->log = g_strdup (log);
  job->db = db;
  job->from = from;
  job->to = to;
  GTask *task = g_task_new (page, page->cancellable, import_done, NULL);
  g_task_set_task_data (task, job, import_job_free);
  g_task_run_in_thread (task, import_thread);
  g_object_unref (task);
}

void
ht_page_set_range (HtPage *page, double from, double to)
{
  if (!page->log || (to <= from && page->range_to == 0))
    return;
  if (to <= from)
    from = to = 0;
  page->range_from = from;
  page->range_to = to;
  g_autofree char *db = NULL;
  if (to > 0)
    {
      /* windowed databases go to the cache, named by the log and the window */
      g_autofree char *dir = g_build_filename (g_get_user_cache_dir (), "heaptrail", NULL);
      g_mkdir_with_parents (dir, 0700);
      g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA1, page->log, -1);
      g_autofree char *name = g_strdup_printf ("%.12s-%.3f-%.3f.db", hash, from, to);
      db = g_build_filename (dir, name, NULL);
    }
  else
    db = ht_import_default_db_path (page->log);
  page_import (page, page->log, g_steal_pointer (&db), from, to);
}

static void
page_range_chosen (double from, double to, gpointer data)
{
  ht_page_set_range (HT_PAGE (data), from, to);
}

HtPage *
ht_page_new (const char *path)
{
  HtPage *page = g_object_new (HT_TYPE_PAGE, NULL);
  page->path = g_strdup (path);
  page->title = g_path_get_basename (path);
  return page;
}

const char *
ht_page_title (HtPage *page)
{
  return page->title;
}

gboolean
ht_page_ready (HtPage *page)
{
  return page->ready;
}

void
ht_page_show_view (HtPage *page, HtView view)
{
  if (page->stack)
    gtk_stack_set_visible_child_name (page->stack, ht_view_ids[view]);
}

HtView
ht_page_current_view (HtPage *page)
{
  const char *name = page->stack ? gtk_stack_get_visible_child_name (page->stack) : NULL;
  for (int i = 0; name && i < HT_VIEW_COUNT; i++)
    if (g_str_equal (name, ht_view_ids[i]))
      return (HtView) i;
  return HT_VIEW_SUMMARY;
}

void
ht_page_focus_search (HtPage *page)
{
  if (page->views)
    ht_views_focus_search (page->views);
}

GtkWidget *
ht_page_view_widget (HtPage *page, HtView view)
{
  return page->stack ? gtk_stack_get_child_by_name (page->stack, ht_view_ids[view]) : NULL;
}

static HtViews *
ht_page_views (HtPage *page)
{
  return page->views;
}

/* ---------------------------------------------------------------------------------------
 * The window
 */
typedef struct
{
  GtkApplication *app;
  GtkWindow *window;
  GtkNotebook *notebook;
  GSettings *settings; /* NULL when the schema is not installed */
  char *screenshot_dir;
  gboolean self_test, bench;
  gint64 started;
  int exit_code;
} App;

static App app_state;

static GSettings *
settings_or_null (void)
{
  GSettingsSchemaSource *src = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = src ? g_settings_schema_source_lookup (src, APP_ID, TRUE)
                                           : NULL;
  return schema ? g_settings_new (APP_ID) : NULL;
}

static void
remember_recent (const char *path)
{
  if (!app_state.settings || app_state.screenshot_dir || app_state.self_test)
    return;
  g_autofree char *abs = g_canonicalize_filename (path, NULL);
  g_auto (GStrv) old = g_settings_get_strv (app_state.settings, "recent-files");
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_strv_builder_add (b, abs);
  for (guint i = 0, n = 1; old[i] && n < 10; i++)
    if (!g_str_equal (old[i], abs))
      {
        g_strv_builder_add (b, old[i]);
        n++;
      }
  g_auto (GStrv) list = g_strv_builder_end (b);
  g_settings_set_strv (app_state.settings, "recent-files", (const char *const *) list);
}

static HtPage *
current_page (void)
{
  int n = gtk_notebook_get_current_page (app_state.notebook);
  return n < 0 ? NULL : HT_PAGE (gtk_notebook_get_nth_page (app_state.notebook, n));
}

static void close_tab_clicked (GtkButton *b, gpointer page);

static void
page_opened (HtPage *page, const char *error, gpointer data)
{
  (void) data;
  if (!error)
    remember_recent (page->path);
}

static HtPage *
open_recording (const char *path)
{
  HtPage *page = ht_page_new (path);
  GtkWidget *tab = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 4);
  gtk_box_append (GTK_BOX (tab), gtk_label_new (page->title));
  GtkWidget *close = gtk_button_new_from_icon_name ("window-close-symbolic");
  gtk_button_set_has_frame (GTK_BUTTON (close), FALSE);
  gtk_widget_set_tooltip_text (close, _("Close (Ctrl+W)"));
  g_signal_connect (close, "clicked", G_CALLBACK (close_tab_clicked), page);
  gtk_box_append (GTK_BOX (tab), close);
  gtk_widget_set_tooltip_text (tab, path);
  int n = gtk_notebook_append_page (app_state.notebook, GTK_WIDGET (page), tab);
  gtk_notebook_set_tab_reorderable (app_state.notebook, GTK_WIDGET (page), TRUE);
  gtk_notebook_set_current_page (app_state.notebook, n);
  g_signal_connect (page, "opened", G_CALLBACK (page_opened), NULL);
  page_start (page);
  return page;
}

static void
close_tab_clicked (GtkButton *b, gpointer page)
{
  (void) b;
  int n = gtk_notebook_page_num (app_state.notebook, GTK_WIDGET (page));
  if (n >= 0)
    gtk_notebook_remove_page (app_state.notebook, n);
}

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
            open_recording (path);
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
    = gtk_file_chooser_native_new (_("Open a recording"), app_state.window,
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
  open_recording (g_variant_get_string (p, NULL));
}

static void
action_close_tab (GSimpleAction *a, GVariant *p, gpointer data)
{
  (void) a;
  (void) p;
  (void) data;
  HtPage *page = current_page ();
  if (page)
    close_tab_clicked (NULL, page);
}

static void
action_view (GSimpleAction *a, GVariant *p, gpointer data)
{
  (void) a;
  (void) data;
  HtPage *page = current_page ();
  const char *name = g_variant_get_string (p, NULL);
  for (int i = 0; page && i < HT_VIEW_COUNT; i++)
    if (g_str_equal (name, ht_view_ids[i]))
      ht_page_show_view (page, (HtView) i);
}

static void
action_find (GSimpleAction *a, GVariant *p, gpointer data)
{
  (void) a;
  (void) p;
  (void) data;
  HtPage *page = current_page ();
  if (page)
    ht_page_focus_search (page);
}

static void
action_quit (GSimpleAction *a, GVariant *p, gpointer data)
{
  (void) a;
  (void) p;
  (void) data;
  gtk_window_close (app_state.window);
}

static gboolean
on_drop (GtkDropTarget *target, const GValue *value, double x, double y, gpointer data)
{
  (void) target;
  (void) x;
  (void) y;
  (void) data;
  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;
  for (GSList *l = g_value_get_boxed (value); l; l = l->next)
    {
      g_autofree char *path = g_file_get_path (l->data);
      if (path)
        open_recording (path);
    }
  return TRUE;
}

static gboolean
on_close_request (GtkWindow *window, gpointer data)
{
  (void) data;
  if (app_state.settings && !app_state.screenshot_dir && !app_state.self_test)
    {
      int w, h;
      gtk_window_get_default_size (window, &w, &h);
      g_settings_set_int (app_state.settings, "window-width", w);
      g_settings_set_int (app_state.settings, "window-height", h);
      g_settings_set_boolean (app_state.settings, "window-maximized",
                              gtk_window_is_maximized (window));
    }
  return FALSE;
}

static GMenuModel *
build_menu (void)
{
  GMenu *menu = g_menu_new ();
  g_menu_append (menu, _("Open…"), "app.open");
  if (app_state.settings)
    {
      GMenu *recent = g_menu_new ();
      g_auto (GStrv) files = g_settings_get_strv (app_state.settings, "recent-files");
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
build_window (GtkApplication *app)
{
  GtkWidget *win = gtk_application_window_new (app);
  app_state.window = GTK_WINDOW (win);
  gtk_window_set_title (GTK_WINDOW (win), _("heaptrail"));
  int w = 1200, h = 800;
  if (app_state.settings && !app_state.screenshot_dir && !app_state.self_test)
    {
      w = g_settings_get_int (app_state.settings, "window-width");
      h = g_settings_get_int (app_state.settings, "window-height");
    }
  if (app_state.screenshot_dir || app_state.self_test)
    w = 1024, h = 700; /* the smallest size the views must work at */
  gtk_window_set_default_size (GTK_WINDOW (win), w, h);
  if (app_state.settings && !app_state.screenshot_dir && !app_state.self_test
      && g_settings_get_boolean (app_state.settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (win));

  GtkWidget *header = gtk_header_bar_new ();
  GtkWidget *open = gtk_button_new_with_mnemonic (_("_Open"));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (open), "app.open");
  gtk_widget_set_tooltip_text (open, _("Open a recording (Ctrl+O)"));
  gtk_header_bar_pack_start (GTK_HEADER_BAR (header), open);
  GtkWidget *menu = gtk_menu_button_new ();
  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (menu), "open-menu-symbolic");
  g_autoptr (GMenuModel) model = build_menu ();
  gtk_menu_button_set_menu_model (GTK_MENU_BUTTON (menu), model);
  gtk_header_bar_pack_end (GTK_HEADER_BAR (header), menu);
  gtk_window_set_titlebar (GTK_WINDOW (win), header);

  GtkWidget *notebook = gtk_notebook_new ();
  app_state.notebook = GTK_NOTEBOOK (notebook);
  gtk_notebook_set_scrollable (app_state.notebook, TRUE);
  GtkWidget *empty = gtk_label_new (_("Open a recording (Ctrl+O), or drop one here.\n"
                                      "Record one with: heaptrail record --graph -- PROGRAM"));
  gtk_widget_add_css_class (empty, "dim-label");
  GtkWidget *overlay = gtk_overlay_new ();
  gtk_overlay_set_child (GTK_OVERLAY (overlay), empty);
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), notebook);
  gtk_window_set_child (GTK_WINDOW (win), overlay);

  GtkDropTarget *drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), NULL);
  gtk_widget_add_controller (win, GTK_EVENT_CONTROLLER (drop));
  g_signal_connect (win, "close-request", G_CALLBACK (on_close_request), NULL);

  static const GActionEntry win_actions[] = {
    { "close-tab", action_close_tab, NULL, NULL, NULL, { 0 } },
    { "view", action_view, "s", NULL, NULL, { 0 } },
    { "find", action_find, NULL, NULL, NULL, { 0 } },
  };
  g_action_map_add_action_entries (G_ACTION_MAP (win), win_actions, G_N_ELEMENTS (win_actions),
                                   NULL);
  gtk_window_present (GTK_WINDOW (win));
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

static gboolean
screenshot_step (gpointer data)
{
  Shots *s = data;
  if (!ht_page_ready (s->page))
    {
      if (s->page->failed)
        {
          g_printerr ("heaptrail-gui: %s could not be opened\n", s->page->path);
          app_state.exit_code = 1;
          gtk_window_destroy (app_state.window);
          g_free (s);
          return G_SOURCE_REMOVE;
        }
      return G_SOURCE_CONTINUE;
    }
  if (s->view >= 0)
    {
      g_autofree char *path = g_strdup_printf ("%s/%02d-%s.png", app_state.screenshot_dir,
                                               s->view, ht_view_ids[s->view]);
      GtkWidget *content = gtk_window_get_child (app_state.window);
      if (!save_png (content, path))
        {
          /* a view with much to lay out (a large graph, a long table) may not have been
           * drawn yet: give it more ticks before calling it a failure */
          if (++s->tries < 40)
            return G_SOURCE_CONTINUE;
          g_printerr ("heaptrail-gui: could not save %s\n", path);
          app_state.exit_code = 1;
        }
      else
        g_print ("%s\n", path);
      s->tries = 0;
    }
  s->view++;
  if (s->view >= HT_VIEW_COUNT)
    {
      gtk_window_destroy (app_state.window);
      g_free (s);
      return G_SOURCE_REMOVE;
    }
  ht_page_show_view (s->page, (HtView) s->view);
  if (s->view == HT_VIEW_ALLOCATIONS)
    {
      /* show what a row holds: the first one selected (its stack below) and expanded */
      GtkColumnView *table = ht_views_allocations_table (ht_page_views (s->page));
      GListModel *visible = ht_table_visible (table);
      if (g_list_model_get_n_items (visible) > 0)
        {
          gtk_selection_model_select_item (GTK_SELECTION_MODEL (visible), 0, TRUE);
          g_autoptr (GObject) first = g_list_model_get_item (visible, 0);
          if (GTK_IS_TREE_LIST_ROW (first))
            gtk_tree_list_row_set_expanded (GTK_TREE_LIST_ROW (first), TRUE);
        }
    }
  return G_SOURCE_CONTINUE; /* next tick: the view has been laid out and drawn */
}

/* Label texts of the visible widgets under `w`, one per line (for the translation test). */
static void
collect_labels (GtkWidget *w, GString *out)
{
  if (!gtk_widget_get_mapped (w))
    return;
  if (GTK_IS_LABEL (w))
    g_string_append_printf (out, "%s\n", gtk_label_get_text (GTK_LABEL (w)));
  for (GtkWidget *c = gtk_widget_get_first_child (w); c; c = gtk_widget_get_next_sibling (c))
    collect_labels (c, out);
}

#define CHECK(cond, ...)                                                                    \
  do                                                                                        \
    {                                                                                       \
      if (!(cond))                                                                          \
        {                                                                                   \
          g_printerr ("self-test: FAIL: " __VA_ARGS__);                                     \
          g_printerr ("\n");                                                                \
          app_state.exit_code = 1;                                                          \
        }                                                                                   \
      else                                                                                  \
        g_print ("self-test: ok: " __VA_ARGS__), g_print ("\n");                            \
    }                                                                                       \
  while (0)

static HtRow *
visible_row (GtkColumnView *table, guint i)
{
  return ht_table_row (table, i);
}

static guint64
allocated_total (GtkColumnView *table)
{
  guint64 total = 0;
  GListModel *rows = ht_table_visible (table);
  for (guint i = 0; i < g_list_model_get_n_items (rows); i++)
    {
      g_autoptr (HtRow) r = ht_table_row (table, i);
      total += (guint64) r->values[1];
    }
  return total;
}

static gboolean
self_test_range_step (gpointer data)
{
  GPtrArray *pages = data;
  HtPage *page = pages->pdata[0];
  if (!ht_page_ready (page))
    return G_SOURCE_CONTINUE;
  guint64 before = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (page), "ht-before"));
  guint64 after = allocated_total (ht_views_allocations_table (ht_page_views (page)));
  CHECK (after < before, "time range: %llu allocations in the last tenth of the run, %llu in all",
         (unsigned long long) after, (unsigned long long) before);
  g_ptr_array_unref (pages);
  gtk_window_destroy (app_state.window);
  return G_SOURCE_REMOVE;
}

/* Drives the first page the way a user would and checks what the models hold. */
/* --screenshot, --self-test and --bench on a recording that cannot be opened: say so, fail */
static gboolean
any_failed (GPtrArray *pages)
{
  for (guint i = 0; i < pages->len; i++)
    {
      HtPage *p = pages->pdata[i];
      if (p->failed)
        {
          g_printerr ("heaptrail-gui: %s could not be opened (%s)\n", p->path, p->error);
          app_state.exit_code = 1;
          gtk_window_destroy (app_state.window);
          g_ptr_array_unref (pages);
          return TRUE;
        }
    }
  return FALSE;
}

static gboolean
self_test_step (gpointer data)
{
  GPtrArray *pages = data;
  if (g_getenv ("HT_SELF_TEST_CANCEL"))
    for (guint i = 0; i < pages->len; i++)
      {
        HtPage *p = pages->pdata[i];
        if (p->cancellable)
          g_cancellable_cancel (p->cancellable); /* as the Cancel button does */
      }
  if (any_failed (pages))
    return G_SOURCE_REMOVE;
  for (guint i = 0; i < pages->len; i++)
    if (!ht_page_ready (pages->pdata[i]))
      return G_SOURCE_CONTINUE;
  HtPage *page = pages->pdata[0];
  HtViews *v = ht_page_views (page);
  GtkColumnView *table = ht_views_allocations_table (v);
  ht_page_show_view (page, HT_VIEW_ALLOCATIONS);

  /* group by line, then function */
  guint by_line = g_list_model_get_n_items (ht_table_visible (table));
  g_autoptr (HtRow) first_line = by_line ? visible_row (table, 0) : NULL;
  CHECK (by_line > 0 && first_line && strchr (first_line->key, ':'),
         "by line: %u groups, first '%s'", by_line, first_line ? first_line->key : "");
  ht_views_set_group_by (v, HT_GROUP_FUNCTION);
  guint by_function = g_list_model_get_n_items (ht_table_visible (table));
  gboolean no_lines = TRUE;
  for (guint i = 0; i < by_function; i++)
    {
      g_autoptr (HtRow) r = visible_row (table, i);
      no_lines = no_lines && !g_regex_match_simple (":[0-9]+$", r->key, 0, 0);
    }
  CHECK (by_function > 0 && no_lines, "by function: %u groups, keys are functions", by_function);

  /* sort by the allocation count, descending, then ascending */
  GListModel *cols = gtk_column_view_get_columns (table);
  g_autoptr (GtkColumnViewColumn) count_col = g_list_model_get_item (cols, 2);
  gtk_column_view_sort_by_column (table, count_col, GTK_SORT_DESCENDING);
  gboolean sorted = TRUE;
  for (guint i = 1; i < by_function; i++)
    {
      g_autoptr (HtRow) a = visible_row (table, i - 1);
      g_autoptr (HtRow) b = visible_row (table, i);
      sorted = sorted && a->values[1] >= b->values[1];
    }
  CHECK (sorted, "sorted by allocations, descending");
  gtk_column_view_sort_by_column (table, count_col, GTK_SORT_ASCENDING);
  g_autoptr (HtRow) low = visible_row (table, 0);
  g_autoptr (HtRow) high = visible_row (table, by_function - 1);
  CHECK (low->values[1] <= high->values[1], "sorted by allocations, ascending");

  /* back to lines; select the largest allocated line and open its graph */
  ht_views_set_group_by (v, HT_GROUP_LINE);
  g_autoptr (GtkColumnViewColumn) size_col = g_list_model_get_item (cols, 1);
  gtk_column_view_sort_by_column (table, size_col, GTK_SORT_DESCENDING);
  GtkSelectionModel *sel = gtk_column_view_get_model (table);
  gtk_selection_model_select_item (sel, 0, TRUE);
  HtRow *row = ht_table_selected (table);
  CHECK (row && row->traceback && row->traceback->len > 0, "selected '%s' has a traceback",
         row ? row->key : "");
  /* the row expands to its traceback, frame by frame */
  {
    GListModel *visible = ht_table_visible (table);
    guint before = g_list_model_get_n_items (visible);
    g_autoptr (GObject) first = g_list_model_get_item (visible, 0);
    if (GTK_IS_TREE_LIST_ROW (first))
      gtk_tree_list_row_set_expanded (GTK_TREE_LIST_ROW (first), TRUE);
    guint after = g_list_model_get_n_items (visible);
    guint frames = row && row->traceback ? row->traceback->len : 0;
    CHECK (after == before + frames, "the row expands to its %u frames (%u -> %u rows)", frames,
           before, after);
    if (GTK_IS_TREE_LIST_ROW (first))
      gtk_tree_list_row_set_expanded (GTK_TREE_LIST_ROW (first), FALSE);
  }
  if (row)
    {
      ht_views_graph_for_row (v, row);
      guint nodes = ht_views_graph_nodes (v);
      g_print ("self-test: graph of '%s': %u nodes\n", row->key, nodes);
      if (g_getenv ("HT_SELF_TEST_EXPECT_GRAPH"))
        CHECK (nodes > 0, "the row's graph has %u nodes", nodes);
    }

  /* the graph's blocks, read from SQLite a page at a time as the list shows them */
  GListModel *blocks = ht_views_block_list (v);
  if (blocks)
    {
      guint n = g_list_model_get_n_items (blocks);
      g_autoptr (HtRow) mid = n ? g_list_model_get_item (blocks, n / 2) : NULL;
      g_autoptr (HtRow) top = n ? g_list_model_get_item (blocks, 0) : NULL;
      CHECK (n > 0 && mid && top && top->values[1] >= mid->values[1]
               && ht_block_list_pages_read (HT_BLOCK_LIST (blocks)) <= 3,
             "blocks: %u, largest retained first, %u page reads", n,
             ht_block_list_pages_read (HT_BLOCK_LIST (blocks)));
    }

  /* two snapshots: the first and the last */
  ht_views_pick_snapshots (v, 0, G_MAXUINT);
  GListModel *diff = ht_views_snapshot_diff (v);
  CHECK (diff && g_list_model_get_n_items (diff) > 0, "diff between the first and last snapshots: %u rows",
         diff ? g_list_model_get_n_items (diff) : 0);
  if (diff && g_list_model_get_n_items (diff) > 0)
    {
      /* click through to the site: Allocations filtered to that line */
      g_autoptr (GObject) item = g_list_model_get_item (diff, 0);
      ht_views_open_diff_row (v, 0);
      guint shown = g_list_model_get_n_items (ht_table_visible (table));
      g_autoptr (HtRow) only = shown ? ht_table_row (table, 0) : NULL;
      CHECK (ht_page_current_view (page) == HT_VIEW_ALLOCATIONS && shown == 1 && only
               && g_str_equal (only->key, HT_ROW (item)->key),
             "a diff row opens its site in Allocations (%u rows shown)", shown);
      ht_views_clear_filter (v);
    }

  /* the help overlay lists the shortcuts */
  GtkShortcutsWindow *help = gtk_application_window_get_help_overlay (
    GTK_APPLICATION_WINDOW (app_state.window));
  CHECK (help != NULL, "the help overlay (Ctrl+?) is loaded");

  /* compare with the second recording, which Compare's list offers */
  if (pages->len > 1)
    {
      CHECK (g_list_model_get_n_items (G_LIST_MODEL (ht_gui_recordings ())) == pages->len,
             "Compare offers the %u open recordings", pages->len);
      HtPage *other = pages->pdata[1];
      g_autoptr (GError) error = NULL;
      g_autofree char *db = ht_log_looks_like_log (other->path)
                              ? ht_import_default_db_path (other->path)
                              : g_strdup (other->path);
      gboolean ok = ht_views_compare_with (v, db, &error);
      GListModel *rows = ht_views_compare_rows (v);
      CHECK (ok && g_list_model_get_n_items (rows) > 0, "compare: %u rows%s%s",
             g_list_model_get_n_items (rows), error ? ": " : "", error ? error->message : "");
    }

  /* what is on screen, for the translation test */
  if (g_getenv ("HT_SELF_TEST_LABELS"))
    {
      const char *want = g_getenv ("HT_SELF_TEST_VIEW");
      HtView shown = HT_VIEW_SUMMARY;
      for (int i = 0; want && i < HT_VIEW_COUNT; i++)
        if (g_str_equal (want, ht_view_ids[i]))
          shown = (HtView) i;
      ht_page_show_view (page, shown);
      GString *labels = g_string_new (NULL);
      collect_labels (GTK_WIDGET (app_state.window), labels);
      g_autofree char *path = g_strdup (g_getenv ("HT_SELF_TEST_LABELS"));
      g_file_set_contents (path, labels->str, -1, NULL);
      g_string_free (labels, TRUE);
    }
  /* a time range chosen on the chart: every view then counts only what was allocated in
   * it (the log is imported again with the window) */
  if (page->log)
    {
      guint64 before = allocated_total (table);
      double duration = ht_db_meta_double (page->db, "duration_s");
      g_object_set_data (G_OBJECT (page), "ht-before", GSIZE_TO_POINTER ((gsize) before));
      ht_page_set_range (page, duration * 0.9, duration);
      g_timeout_add (200, self_test_range_step, pages);
      return G_SOURCE_REMOVE;
    }
  g_ptr_array_unref (pages);
  gtk_window_destroy (app_state.window);
  return G_SOURCE_REMOVE;
}

/* --bench: the time from the command line to a usable window, and each view's share. */
static gboolean
bench_step (gpointer data)
{
  GPtrArray *pages = data;
  HtPage *page = pages->pdata[0];
  if (any_failed (pages))
    return G_SOURCE_REMOVE;
  if (!ht_page_ready (page))
    return G_SOURCE_CONTINUE;
  double open_ms = (double) (g_get_monotonic_time () - app_state.started) / 1000;
  ht_views_build_all (ht_page_views (page));
  const gint64 *us = ht_views_build_times (ht_page_views (page));
  g_print ("{\"open_ms\": %.1f", open_ms);
  for (int i = 0; i < HT_VIEW_COUNT; i++)
    g_print (", \"%s_ms\": %.1f", ht_view_ids[i], (double) us[i] / 1000);
  g_print ("}\n");
  g_ptr_array_unref (pages);
  gtk_window_destroy (app_state.window);
  return G_SOURCE_REMOVE;
}

/* ---------------------------------------------------------------------------------------
 * The application
 */
static void
on_activate (GtkApplication *app, gpointer data)
{
  (void) data;
  if (!app_state.window)
    build_window (app);
  gtk_window_present (app_state.window);
}

static void
on_open (GApplication *gapp, GFile **files, int n, const char *hint, gpointer data)
{
  (void) hint;
  (void) data;
  GtkApplication *app = GTK_APPLICATION (gapp);
  if (!app_state.window)
    build_window (app);
  GPtrArray *pages = g_ptr_array_new ();
  for (int i = 0; i < n; i++)
    {
      g_autofree char *path = g_file_get_path (files[i]);
      if (path)
        g_ptr_array_add (pages, open_recording (path));
    }
  gtk_window_present (app_state.window);
  if (app_state.screenshot_dir && pages->len)
    {
      Shots *s = g_new0 (Shots, 1);
      s->page = pages->pdata[0];
      s->view = -1;
      gtk_notebook_set_current_page (app_state.notebook, 0);
      g_timeout_add (400, screenshot_step, s);
      g_ptr_array_unref (pages);
    }
  else if (app_state.bench && pages->len)
    g_timeout_add (20, bench_step, pages);
  else if (app_state.self_test && pages->len)
    {
      gtk_notebook_set_current_page (app_state.notebook, 0);
      g_timeout_add (g_getenv ("HT_SELF_TEST_CANCEL") ? 5 : 300, self_test_step, pages);
    }
  else
    g_ptr_array_unref (pages);
}

static int
handle_local_options (GApplication *app, GVariantDict *options, gpointer data)
{
  (void) app;
  (void) data;
  const char *dir = NULL;
  if (g_variant_dict_lookup (options, "screenshot", "^&ay", &dir))
    {
      app_state.screenshot_dir = g_strdup (dir);
      g_mkdir_with_parents (dir, 0755);
    }
  if (g_variant_dict_contains (options, "self-test"))
    app_state.self_test = TRUE;
  if (g_variant_dict_contains (options, "bench"))
    app_state.self_test = app_state.bench = TRUE;
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

int
main (int argc, char **argv)
{
  app_state.started = g_get_monotonic_time ();
  setlocale (LC_ALL, "");
  setup_gettext (argv[0]);
  g_set_application_name (_("heaptrail"));
  GtkApplication *app = gtk_application_new (APP_ID, G_APPLICATION_HANDLES_OPEN
                                                       | G_APPLICATION_NON_UNIQUE);
  static const GOptionEntry options[] = {
    { "screenshot", 0, 0, G_OPTION_ARG_FILENAME, NULL,
      N_("Save a PNG of every view of the first recording into DIR, then quit"), N_("DIR") },
    { "self-test", 0, 0, G_OPTION_ARG_NONE, NULL,
      N_("Drive the views of the first recording, check what they show, then quit"), NULL },
    { "bench", 0, 0, G_OPTION_ARG_NONE, NULL,
      N_("Print how long the first recording took to open and each view to build, then quit"),
      NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Print the version"), NULL },
    { NULL },
  };
  g_application_add_main_option_entries (G_APPLICATION (app), options);
  g_application_set_option_context_parameter_string (G_APPLICATION (app), _("[REC...]"));
  g_signal_connect (app, "handle-local-options", G_CALLBACK (handle_local_options), NULL);
  g_signal_connect (app, "activate", G_CALLBACK (on_activate), NULL);
  g_signal_connect (app, "open", G_CALLBACK (on_open), NULL);
  app_state.app = app;
  app_state.settings = settings_or_null ();

  static const GActionEntry app_actions[] = {
    { "open", action_open, NULL, NULL, NULL, { 0 } },
    { "open-recent", action_open_recent, "s", NULL, NULL, { 0 } },
    { "quit", action_quit, NULL, NULL, NULL, { 0 } },
  };
  g_action_map_add_action_entries (G_ACTION_MAP (app), app_actions, G_N_ELEMENTS (app_actions),
                                   NULL);
  const char *open_accels[] = { "<Control>o", NULL };
  const char *quit_accels[] = { "<Control>q", NULL };
  const char *close_accels[] = { "<Control>w", NULL };
  const char *find_accels[] = { "<Control>f", NULL };
  gtk_application_set_accels_for_action (app, "app.open", open_accels);
  gtk_application_set_accels_for_action (app, "app.quit", quit_accels);
  gtk_application_set_accels_for_action (app, "win.close-tab", close_accels);
  gtk_application_set_accels_for_action (app, "win.find", find_accels);
  for (int i = 0; i < HT_VIEW_COUNT; i++)
    {
      /* Alt+1 .. Alt+9, Alt+0 */
      g_autofree char *accel = g_strdup_printf ("<Alt>%d", (i + 1) % 10);
      g_autofree char *action = g_strdup_printf ("win.view::%s", ht_view_ids[i]);
      const char *accels[] = { accel, NULL };
      gtk_application_set_accels_for_action (app, action, accels);
    }
  int status = g_application_run (G_APPLICATION (app), argc, argv);
  g_clear_object (&app_state.settings);
  g_free (app_state.screenshot_dir);
  g_object_unref (app);
  return status ? status : app_state.exit_code;
}
