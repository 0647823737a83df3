/* ht-leaks-view.c - the Leaks view.
 *
 * What `heaptrail leaks` prints: a summary by memcheck's classes (or, without a heap graph,
 * the blocks not freed at exit), what the suppressions took out and why, and a table of
 * the leaking stacks; the selected row's stack shows in the pane under it.
 */
#include "ht-graph.h"
#include "ht-gui.h"
#include "ht-leaks-view.h"

struct _HtLeaksView
{
  GtkBox parent_instance;

  /* template children */
  GtkLabel *summary;
  GtkPaned *paned;
  GtkScrolledWindow *table_window;
  GtkLabel *stack_panel;

  GListStore *store; /* HtRow */
  GtkColumnView *table;
  HtDb *db;
  HtSuppressions *supp;
  double time_from, time_to; /* the page's time range; time_to 0: the whole run */
};

G_DEFINE_FINAL_TYPE (HtLeaksView, ht_leaks_view, GTK_TYPE_BOX)

static void
ht_leaks_view_dispose (GObject *object)
{
  HtLeaksView *self = HT_LEAKS_VIEW (object);
  gtk_widget_dispose_template (GTK_WIDGET (self), HT_TYPE_LEAKS_VIEW);
  g_clear_object (&self->store);
  g_clear_pointer (&self->supp, ht_suppressions_free);
  G_OBJECT_CLASS (ht_leaks_view_parent_class)->dispose (object);
}

static void
ht_leaks_view_class_init (HtLeaksViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = ht_leaks_view_dispose;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/heaptrail/Heaptrail/gtk/ht-leaks-view.ui");
  gtk_widget_class_bind_template_child (widget_class, HtLeaksView, summary);
  gtk_widget_class_bind_template_child (widget_class, HtLeaksView, paned);
  gtk_widget_class_bind_template_child (widget_class, HtLeaksView, table_window);
  gtk_widget_class_bind_template_child (widget_class, HtLeaksView, stack_panel);
}

static void
ht_leaks_view_init (HtLeaksView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->store = g_list_store_new (HT_TYPE_ROW);
}

static void
selection_changed (GtkSelectionModel *model, guint pos, guint n, HtLeaksView *self)
{
  (void) model;
  (void) pos;
  (void) n;
  HtRow *row = ht_table_selected (self->table);
  if (row)
    {
      g_autofree char *text = ht_traceback_text (row->traceback);
      gtk_label_set_text (self->stack_panel, text);
    }
}

static char *
summary_text (const HtLeaks *leaks, const char *const *class_names)
{
  GString *s = g_string_new (NULL);
  if (leaks->classified)
    {
      g_string_append (s, _("Leak summary (memcheck's classes):"));
      for (int c = HT_REACH_COUNT - 1; c >= 0; c--)
        {
          g_autofree char *size = ht_format_size ((double) leaks->class_bytes[c], FALSE);
          g_string_append_printf (s, _("   %s: %s in %llu blocks"), class_names[c], size,
                                  (unsigned long long) leaks->class_blocks[c]);
        }
    }
  else
    g_string_append (s, _("Blocks not freed at exit, by stack. Record with heaptrail record "
                          "--graph to tell lost blocks from reachable ones."));
  if (leaks->suppressed->len)
    {
      g_autofree char *supp_size = ht_format_size ((double) leaks->suppressed_bytes, FALSE);
      g_string_append_printf (s, _("\nSuppressed, kept by glibc and the C++ runtime for "
                                   "themselves: %s in %llu blocks"),
                              supp_size, (unsigned long long) leaks->suppressed_blocks);
      for (guint i = 0; i < leaks->suppressed->len; i++)
        {
          const HtSuppressed *g = &g_array_index (leaks->suppressed, HtSuppressed, i);
          g_autofree char *size = ht_format_size ((double) g->bytes, FALSE);
          g_string_append_printf (s, i ? "; %s %s" : " (%s %s", g->reason, size);
        }
      g_string_append (s, ")");
    }
  return g_string_free (s, FALSE);
}

/* The leaks (of the time range, when there is one) into the summary and the table. */
static gboolean
refill (HtLeaksView *self, GError **error)
{
  HtTopOptions filters = { .time_from_s = self->time_from, .time_to_s = self->time_to };
  HtLeaks leaks;
  if (!ht_query_leaks (self->db, self->supp, &filters, &leaks, error))
    return FALSE;
  const char *class_names[] = { _("still reachable"), _("possibly lost"), _("indirectly lost"),
                                _("definitely lost") };
  g_autofree char *summary = summary_text (&leaks, class_names);
  g_autofree char *text
    = self->time_to > self->time_from
        ? g_strdup_printf (_("Of the blocks allocated between %.3f s and %.3f s: %s"),
                           self->time_from, self->time_to, summary)
        : g_strdup (summary);
  gtk_label_set_text (self->summary, text);
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < leaks.leaks->len; i++)
    {
      const HtStat *st = leaks.leaks->pdata[i];
      HtRow *row = ht_row_from_stat (st, self->db);
      g_free (row->detail);
      row->detail = g_strdup (st->reach >= 0 ? class_names[st->reach] : _("not freed"));
      row->values[2] = st->reach >= 0 ? st->reach : 0;
      g_ptr_array_add (rows, row);
    }
  ht_leaks_clear (&leaks);
  ht_store_replace (self->store, rows);
  return TRUE;
}

GtkWidget *
ht_leaks_view_new (HtDb *db)
{
  HtLeaksView *self = g_object_new (HT_TYPE_LEAKS_VIEW, NULL);
  self->db = db;
  self->supp = ht_suppressions_new ();
  ht_suppressions_add_builtin (self->supp);
  ht_suppressions_add_program (self->supp, db);
  g_autoptr (GError) error = NULL;
  if (!refill (self, &error))
    {
      g_object_ref_sink (self);
      g_object_unref (self);
      return ht_unavailable_new (_("Leaks cannot be listed"), error->message);
    }
  const char *titles[] = { _("Where"), _("Class"), _("Size (B)"), _("Blocks"), NULL };
  self->table = GTK_COLUMN_VIEW (ht_table_new (self->store, titles, TRUE, NULL, TRUE));
  gtk_scrolled_window_set_child (self->table_window, GTK_WIDGET (self->table));
  g_signal_connect_object (gtk_column_view_get_model (self->table), "selection-changed",
                           G_CALLBACK (selection_changed), self, 0);
  return GTK_WIDGET (self);
}

void
ht_leaks_view_set_time_range (HtLeaksView *self, double from, double to)
{
  self->time_from = from;
  self->time_to = to;
  g_autoptr (GError) error = NULL;
  if (!refill (self, &error))
    {
      g_autofree char *text = g_strdup_printf (_("Cannot show this: %s"), error->message);
      gtk_label_set_text (self->summary, text);
      g_list_store_remove_all (self->store);
    }
}
