/* ht-compare-view.c - the Compare view.
 *
 * Live memory at the peak of this recording and of another, location by location, aligned
 * as `heaptrail diff` aligns them (by function, file and line, so differently built
 * binaries compare), with both timelines drawn on one scale.
 */
#include "ht-compare-view.h"
#include "ht-gui.h"

struct _HtCompareView
{
  GtkBox parent_instance;

  /* template children */
  GtkDropDown *pick;
  GtkButton *go;
  GtkLabel *status;
  GtkBox *chart_box;
  GtkScrolledWindow *table_window;

  HtDb *db;
  HtDb *other;
  char *exe;
  GListStore *store; /* HtRow */
  GtkColumnView *table;
};

G_DEFINE_FINAL_TYPE (HtCompareView, ht_compare_view, GTK_TYPE_BOX)

static void
choice_setup (GtkSignalListItemFactory *f, GtkListItem *item, gpointer data)
{
  (void) f;
  (void) data;
  gtk_list_item_set_child (item, gtk_label_new (NULL));
}

static void
choice_bind (GtkSignalListItemFactory *f, GtkListItem *item, gpointer data)
{
  (void) f;
  (void) data;
  const char *path = gtk_string_object_get_string (gtk_list_item_get_item (item));
  g_autofree char *base = g_path_get_basename (path);
  GtkWidget *l = gtk_list_item_get_child (item);
  gtk_label_set_text (GTK_LABEL (l), base);
  gtk_widget_set_tooltip_text (l, path);
}

static const char *
chosen (HtCompareView *self)
{
  GtkStringObject *o = gtk_drop_down_get_selected_item (self->pick);
  return o ? gtk_string_object_get_string (o) : NULL;
}

static void
go_clicked (HtCompareView *self)
{
  const char *path = chosen (self);
  g_autoptr (GError) error = NULL;
  if (path && !ht_compare_view_compare_with (self, path, &error))
    {
      g_autofree char *text = g_strdup_printf (_("Cannot show this: %s"), error->message);
      gtk_label_set_text (self->status, text);
    }
}

static void
choices_changed (GListModel *choices, guint pos, guint removed, guint added,
                 HtCompareView *self)
{
  (void) pos;
  (void) removed;
  (void) added;
  gtk_widget_set_sensitive (GTK_WIDGET (self->go), g_list_model_get_n_items (choices) > 0);
}

static gboolean
is_other_recording (gpointer item, gpointer data)
{
  return g_strcmp0 (gtk_string_object_get_string (item), data) != 0;
}

static void
ht_compare_view_dispose (GObject *object)
{
  HtCompareView *self = HT_COMPARE_VIEW (object);
  gtk_widget_dispose_template (GTK_WIDGET (self), HT_TYPE_COMPARE_VIEW);
  g_clear_pointer (&self->other, ht_db_close);
  g_clear_object (&self->store);
  g_clear_pointer (&self->exe, g_free);
  G_OBJECT_CLASS (ht_compare_view_parent_class)->dispose (object);
}

static void
ht_compare_view_class_init (HtCompareViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = ht_compare_view_dispose;
  gtk_widget_class_set_template_from_resource (
    widget_class, "/org/heaptrail/Heaptrail/gtk/ht-compare-view.ui");
  gtk_widget_class_bind_template_child (widget_class, HtCompareView, pick);
  gtk_widget_class_bind_template_child (widget_class, HtCompareView, go);
  gtk_widget_class_bind_template_child (widget_class, HtCompareView, status);
  gtk_widget_class_bind_template_child (widget_class, HtCompareView, chart_box);
  gtk_widget_class_bind_template_child (widget_class, HtCompareView, table_window);
  gtk_widget_class_bind_template_callback (widget_class, choice_setup);
  gtk_widget_class_bind_template_callback (widget_class, choice_bind);
  gtk_widget_class_bind_template_callback (widget_class, go_clicked);
}

static void
ht_compare_view_init (HtCompareView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->store = g_list_store_new (HT_TYPE_ROW);
  const char *titles[] = { _("Where"), _("This (B)"), _("Other (B)"), _("Change (B)"),
                           _("Count here"), _("Count there"), NULL };
  self->table = GTK_COLUMN_VIEW (ht_table_new (self->store, titles, FALSE, NULL, FALSE));
  gtk_scrolled_window_set_child (self->table_window, GTK_WIDGET (self->table));
}

GtkWidget *
ht_compare_view_new (HtDb *db, const char *exe, GListModel *recordings)
{
  HtCompareView *self = g_object_new (HT_TYPE_COMPARE_VIEW, NULL);
  self->db = db;
  self->exe = g_strdup (exe);
  /* every recording open or recent but this one */
  GtkFilter *others = GTK_FILTER (gtk_custom_filter_new (is_other_recording,
                                                         g_strdup (ht_db_path (db)), g_free));
  GtkFilterListModel *choices = gtk_filter_list_model_new (g_object_ref (recordings), others);
  gtk_drop_down_set_model (self->pick, G_LIST_MODEL (choices));
  choices_changed (G_LIST_MODEL (choices), 0, 0, 0, self);
  g_signal_connect_object (choices, "items-changed", G_CALLBACK (choices_changed), self, 0);
  g_object_unref (choices);
  /* another recording is at hand: the view opens compared with it, not empty */
  const char *first = chosen (self);
  if (first && !ht_compare_view_compare_with (self, first, NULL))
    gtk_label_set_text (self->status, _("Pick a recording to compare with."));
  return GTK_WIDGET (self);
}

gboolean
ht_compare_view_compare_with (HtCompareView *self, const char *db_path, GError **error)
{
  HtDb *other = ht_db_open (db_path, error);
  if (!other)
    return FALSE;
  g_clear_pointer (&self->other, ht_db_close);
  self->other = other;
  HtTopOptions opt = { .by = HT_GROUP_LINE };
  g_autoptr (GPtrArray) diffs = ht_query_diff (self->db, "peak", other, "peak", &opt, error);
  if (!diffs)
    return FALSE;
  g_list_store_remove_all (self->store);
  for (guint i = 0; i < diffs->len; i++)
    {
      const HtStatDiff *d = diffs->pdata[i];
      g_autoptr (HtRow) row = ht_row_from_stat (d->stat, self->exe);
      row->values[0] = (gint64) d->stat->size - d->size_diff;
      row->values[1] = (gint64) d->stat->size;
      row->values[2] = d->size_diff;
      row->values[3] = (gint64) d->stat->count - d->count_diff;
      row->values[4] = (gint64) d->stat->count;
      g_list_store_append (self->store, row);
    }
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->chart_box))))
    gtk_box_remove (self->chart_box, child);
  g_autoptr (GArray) a = ht_query_timeline (self->db, NULL);
  g_autoptr (GArray) b = ht_query_timeline (other, NULL);
  if (a && b)
    gtk_box_append (self->chart_box, ht_timeline_overlay_new (a, b, _("this"), _("other")));
  g_autofree char *base = g_path_get_basename (db_path);
  g_autofree char *status = g_strdup_printf (_("Compared with %s: %u locations, at the peak of "
                                               "each; positive change: more in the other."),
                                             base, diffs->len);
  gtk_label_set_text (self->status, status);
  return TRUE;
}

GListModel *
ht_compare_view_rows (HtCompareView *self)
{
  return ht_table_visible (self->table);
}
