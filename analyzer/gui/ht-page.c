/* ht-page.c - HtPage: one recording, in a tab.
 *
 * A log is imported in a worker thread (GTask) with a progress bar and Cancel; a database
 * that is current opens at once.  Once open, the page holds the views (ht-gui-views.c) in
 * a stack with a sidebar, under a banner when the recording was sampled.  A time range
 * chosen on the summary's chart filters the views from the time buckets the database
 * holds (nothing is imported again).
 */
#include "ht-error.h"
#include "ht-gui.h"
#include "ht-import.h"
#include "ht-page.h"
#include "ht-reader.h"

/* ---------------------------------------------------------------------------------------
 * The recordings open and recent, for Compare
 */
GtkStringList *
ht_gui_recordings (void)
{
  static GtkStringList *list;
  if (!list)
    list = gtk_string_list_new (NULL);
  return list;
}

void
ht_gui_recordings_add (const char *db_path, gboolean open)
{
  GtkStringList *list = ht_gui_recordings ();
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (list)); i++)
    if (g_str_equal (gtk_string_list_get_string (list, i), db_path))
      {
        if (!open)
          return;
        gtk_string_list_remove (list, i); /* an open one goes first */
        break;
      }
  if (open)
    {
      const char *one[] = { db_path, NULL };
      gtk_string_list_splice (list, 0, 0, one);
    }
  else
    gtk_string_list_append (list, db_path);
}

/* ---------------------------------------------------------------------------------------
 * HtPage
 */
struct _HtPage
{
  GtkBox parent;

  /* template children */
  GtkStack *state; /* "loading", "failed" or "open" */
  GtkLabel *loading_label;
  GtkProgressBar *progress;
  GtkLabel *error_label;
  GtkLabel *banner;
  GtkStackSidebar *sidebar;
  GtkBox *views_slot;

  char *path, *title;
  HtDb *db;
  HtViews *views;
  GtkStack *stack; /* the views', in views_slot */
  GCancellable *cancellable;
  double fraction; /* written by the worker, read by a timeout */
  guint progress_source;
  gboolean ready, failed;
  char *error;                 /* why it failed */
  char *log;                   /* the log behind the database; NULL if gone */
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
  gtk_widget_dispose_template (GTK_WIDGET (self), HT_TYPE_PAGE);
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

static void cancel_clicked (HtPage *page);

static void
ht_page_class_init (HtPageClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = ht_page_dispose;
  G_OBJECT_CLASS (klass)->finalize = ht_page_finalize;
  /* opened (error message or NULL) */
  page_signals[SIGNAL_OPENED]
      = g_signal_new ("opened", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 1, G_TYPE_STRING);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/heaptrail/Heaptrail/gtk/ht-page.ui");
  gtk_widget_class_bind_template_child (widget_class, HtPage, state);
  gtk_widget_class_bind_template_child (widget_class, HtPage, loading_label);
  gtk_widget_class_bind_template_child (widget_class, HtPage, progress);
  gtk_widget_class_bind_template_child (widget_class, HtPage, error_label);
  gtk_widget_class_bind_template_child (widget_class, HtPage, banner);
  gtk_widget_class_bind_template_child (widget_class, HtPage, sidebar);
  gtk_widget_class_bind_template_child (widget_class, HtPage, views_slot);
  gtk_widget_class_bind_template_callback (widget_class, cancel_clicked);
}

static void
ht_page_init (HtPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

typedef struct
{
  char *log, *db;
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
  HtImportOptions opt = { .progress = import_progress,
                          .progress_data = page,
                          .cancellable = cancellable };
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
  gtk_label_set_text (page->error_label, message);
  gtk_stack_set_visible_child_name (page->state, "failed");
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
      g_autofree char *msg = g_strdup_printf (_ ("%s: %s"), page->path, error->message);
      page_fail (page, msg);
      return;
    }
  gint64 sample_bytes = ht_db_meta_int (page->db, "sample_bytes");
  if (sample_bytes > 0)
    {
      g_autofree char *rate = ht_format_size ((double) sample_bytes, FALSE);
      g_autofree char *text = g_strdup_printf (
        _ ("Sampled recording: one allocation per %s on average was recorded. Every size and "
           "count shown is an estimate."),
        rate);
      gtk_label_set_text (page->banner, text);
    }
  gtk_widget_set_visible (GTK_WIDGET (page->banner), sample_bytes > 0);
  /* a fresh stack for fresh views (a time range opens the database again) */
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (page->views_slot))))
    gtk_box_remove (page->views_slot, child);
  page->stack = GTK_STACK (gtk_stack_new ());
  gtk_stack_set_transition_type (page->stack, GTK_STACK_TRANSITION_TYPE_NONE);
  gtk_widget_set_hexpand (GTK_WIDGET (page->stack), TRUE);
  gtk_box_append (page->views_slot, GTK_WIDGET (page->stack));
  gtk_stack_sidebar_set_stack (page->sidebar, page->stack);
  gtk_stack_set_visible_child_name (page->state, "open");
  page->views = ht_views_new (page->db, page->path, page->stack);
  if (!page->log)
    {
      g_autofree char *log = ht_db_meta_string (page->db, "log_path");
      if (log && g_file_test (log, G_FILE_TEST_IS_REGULAR))
        page->log = g_steal_pointer (&log);
    }
  ht_views_set_range (page->views, page->range_from, page->range_to, page_range_chosen, page);
  page->ready = TRUE;
  ht_gui_recordings_add (ht_db_path (page->db), TRUE);
  g_signal_emit (page, page_signals[SIGNAL_OPENED], 0, NULL);
}

static void
import_done (GObject *source, GAsyncResult *result, gpointer data)
{
  HtPage *page = HT_PAGE (source);
  (void)data;
  if (page->progress_source)
    g_source_remove (page->progress_source);
  page->progress_source = 0;
  g_autoptr (GError) error = NULL;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_autofree char *msg = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                                     || g_error_matches (error, HT_DB_ERROR, HT_DB_ERROR_CANCELLED)
                                 ? g_strdup_printf (_ ("%s: import cancelled"), page->path)
                                 : g_strdup_printf (_ ("%s: %s"), page->path, error->message);
      page_fail (page, msg);
      return;
    }
  ImportJob *job = g_task_get_task_data (G_TASK (result));
  page_open_db (page, job->db);
}

static void
cancel_clicked (HtPage *page)
{
  if (page->cancellable)
    g_cancellable_cancel (page->cancellable);
}

static void page_import (HtPage *page, const char *log, char *db);

/* A database given directly, or a log: its database when current, else an import. */
void
ht_page_start (HtPage *page)
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
  page_import (page, page->path, g_steal_pointer (&db));
}

/* Imports `log` into `db` (taken) in a worker thread, showing progress and Cancel. */
static void
page_import (HtPage *page, const char *log, char *db)
{
  page->ready = FALSE;
  g_autofree char *text = g_strdup_printf (_ ("Importing %s..."), page->title);
  gtk_label_set_text (page->loading_label, text);
  gtk_progress_bar_set_fraction (page->progress, 0);
  page->fraction = 0;
  gtk_stack_set_visible_child_name (page->state, "loading");
  g_clear_object (&page->cancellable);
  page->cancellable = g_cancellable_new ();
  page->progress_source = g_timeout_add (100, poll_progress, page);
  ImportJob *job = g_new0 (ImportJob, 1);
  job->log = g_strdup (log);
  job->db = db;
  GTask *task = g_task_new (page, page->cancellable, import_done, NULL);
  g_task_set_task_data (task, job, import_job_free);
  g_task_run_in_thread (task, import_thread);
  g_object_unref (task);
}

/* A time range is a query of the database's time buckets: the views filter themselves. */
void
ht_page_set_range (HtPage *page, double from, double to)
{
  if (to <= from)
    from = to = 0;
  page->range_from = from;
  page->range_to = to;
  if (page->views)
    ht_views_set_range (page->views, from, to, page_range_chosen, page);
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

const char *
ht_page_path (HtPage *page)
{
  return page->path;
}

gboolean
ht_page_failed (HtPage *page)
{
  return page->failed;
}

const char *
ht_page_error (HtPage *page)
{
  return page->error;
}

const char *
ht_page_log (HtPage *page)
{
  return page->log;
}

HtDb *
ht_page_db (HtPage *page)
{
  return page->db;
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
      return (HtView)i;
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

HtViews *
ht_page_views (HtPage *page)
{
  return page->views;
}
