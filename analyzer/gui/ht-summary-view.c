/* ht-summary-view.c - the Summary view.
 *
 * The figures of `heaptrail summary`, then heap and RSS over time with the snapshots
 * marked.  Dragging across the chart picks a time range for every view: the view says so
 * ("range-selected") and the page decides what it means.
 */
#include "ht-gui.h"
#include "ht-summary-view.h"

struct _HtSummaryView
{
  GtkBox parent_instance;

  /* template children */
  GtkGrid *facts;
  GtkBox *chart_box;
  GtkLabel *range_label;

  GtkWidget *timeline;
  int rows;
};

G_DEFINE_FINAL_TYPE (HtSummaryView, ht_summary_view, GTK_TYPE_BOX)

enum
{
  RANGE_SELECTED,
  N_SIGNALS,
};
static guint signals[N_SIGNALS];

static void
ht_summary_view_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), HT_TYPE_SUMMARY_VIEW);
  G_OBJECT_CLASS (ht_summary_view_parent_class)->dispose (object);
}

static void
ht_summary_view_class_init (HtSummaryViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = ht_summary_view_dispose;
  gtk_widget_class_set_template_from_resource (
    widget_class, "/org/heaptrail/Heaptrail/gtk/ht-summary-view.ui");
  gtk_widget_class_bind_template_child (widget_class, HtSummaryView, facts);
  gtk_widget_class_bind_template_child (widget_class, HtSummaryView, chart_box);
  gtk_widget_class_bind_template_child (widget_class, HtSummaryView, range_label);
  /* the user dragged across the chart: from, to (seconds; to 0 when clicked to clear) */
  signals[RANGE_SELECTED] = g_signal_new ("range-selected", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                                          2, G_TYPE_DOUBLE, G_TYPE_DOUBLE);
}

static void
ht_summary_view_init (HtSummaryView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

static void
fact (HtSummaryView *self, const char *name, const char *value)
{
  GtkWidget *n = gtk_label_new (name);
  GtkWidget *v = gtk_label_new (value);
  for (GtkWidget *l = n; l; l = l == n ? v : NULL)
    {
      gtk_label_set_xalign (GTK_LABEL (l), 0);
      gtk_label_set_wrap (GTK_LABEL (l), TRUE);
      gtk_label_set_wrap_mode (GTK_LABEL (l), PANGO_WRAP_WORD_CHAR);
    }
  gtk_widget_add_css_class (n, "dim-label");
  gtk_label_set_selectable (GTK_LABEL (v), TRUE);
  gtk_grid_attach (self->facts, n, 0, self->rows, 1, 1);
  gtk_grid_attach (self->facts, v, 1, self->rows, 1, 1);
  self->rows++;
}

static void
facts_of (HtSummaryView *self, const HtSummary *s, gboolean has_graph)
{
  g_autofree char *total = ht_format_size ((double) s->allocated_bytes, FALSE);
  g_autofree char *peak = ht_format_size ((double) s->peak_heap_bytes, FALSE);
  g_autofree char *leaked = ht_format_size ((double) s->leaked_bytes, FALSE);
  g_autofree char *rss = ht_format_size ((double) s->peak_rss_bytes, FALSE);
  g_autofree char *rec = ht_format_size ((double) s->recorder_peak_bytes, FALSE);
  g_autofree char *prog = g_strdup_printf ("%s (pid %" G_GINT64_FORMAT ")", s->command_line,
                                           s->pid);
  g_autofree char *dur = g_strdup_printf (_("%.2f s, ended by %s"), s->duration_s,
                                          s->end_reason);
  g_autofree char *counted = ht_format_size ((double) s->counted_bytes, FALSE);
  g_autofree char *allocs
    = s->sample_bytes > 0 && s->counted_allocations > 0
        ? g_strdup_printf (_("%lld calls, %s in total, counted exactly (the sample estimates "
                             "%lld calls, %s)"),
                           (long long) s->counted_allocations, counted,
                           (long long) s->allocations, total)
        : g_strdup_printf (_("%lld calls, %s in total"), (long long) s->allocations, total);
  g_autofree char *peak_s = g_strdup_printf (_("%s in %lld blocks, at %.3f s"), peak,
                                             (long long) s->peak_heap_blocks, s->peak_time_s);
  g_autofree char *supp = ht_format_size ((double) s->suppressed_bytes, FALSE);
  g_autofree char *leak_s
    = s->suppressed_blocks
        ? g_strdup_printf (_("%s in %lld blocks, and %s in %lld blocks suppressed (the "
                             "runtime's own, or the program's rules: see Leaks)"),
                           leaked, (long long) s->leaked_blocks, supp,
                           (long long) s->suppressed_blocks)
        : g_strdup_printf (_("%s in %lld blocks"), leaked, (long long) s->leaked_blocks);
  g_autofree char *temp = g_strdup_printf ("%" G_GINT64_FORMAT, s->temporary);
  g_autofree char *rec_s = g_strdup_printf (_("%s, %.3f s"), rec, s->recorder_time_s);
  fact (self, _("Program"), prog);
  fact (self, _("Duration"), dur);
  fact (self, _("Allocations"), allocs);
  fact (self, _("Peak heap"), peak_s);
  fact (self, _("Peak RSS"), rss);
  fact (self, _("Not freed at exit"), leak_s);
  if (s->sample_bytes > 0)
    {
      g_autofree char *rate = ht_format_size ((double) s->sample_bytes, FALSE);
      g_autofree char *sampling = g_strdup_printf (
        _("one allocation per %s on average (%lld recorded): figures are estimates"), rate,
        (long long) s->sampled_allocations);
      fact (self, _("Sampling"), sampling);
    }
  else
    fact (self, _("Temporary allocations"), temp);
  fact (self, _("Recorder's memory and time"), rec_s);
  fact (self, _("Heap graph"),
        has_graph ? _("yes: leak classes, retained sizes and the graph view")
                  : _("no (record with heaptrail record --graph)"));
  if (s->warning && *s->warning)
    fact (self, _("Warning"), s->warning);
}

static void
range_chosen (HtTimeline *timeline, double from, double to, HtSummaryView *self)
{
  (void) timeline;
  g_signal_emit (self, signals[RANGE_SELECTED], 0, from, to);
}

GtkWidget *
ht_summary_view_new (HtDb *db, GPtrArray *snapshots, gboolean has_graph)
{
  HtSummary s = { 0 };
  g_autoptr (GError) error = NULL;
  if (!ht_query_summary (db, &s, &error))
    return ht_unavailable_new (_("This database cannot be read"), error->message);
  HtSummaryView *self = g_object_new (HT_TYPE_SUMMARY_VIEW, NULL);
  facts_of (self, &s, has_graph);
  double duration = s.duration_s;
  ht_summary_clear (&s);

  g_autoptr (GArray) points = ht_query_timeline (db, NULL);
  if (points && points->len > 1)
    {
      self->timeline = ht_timeline_new (points, snapshots, duration);
      gtk_box_append (self->chart_box, self->timeline);
      ht_timeline_set_selectable (HT_TIMELINE (self->timeline), TRUE);
      g_signal_connect_object (self->timeline, "range-selected", G_CALLBACK (range_chosen),
                               self, 0);
      gtk_label_set_text (self->range_label, _("Drag across the chart to keep only the "
                                               "allocations made in that time, in every view."));
    }
  else
    gtk_label_set_text (self->range_label, _("The recording is too short for a timeline."));
  return GTK_WIDGET (self);
}

void
ht_summary_view_show_range (HtSummaryView *self, double from, double to)
{
  if (!self->timeline)
    return;
  ht_timeline_set_range (HT_TIMELINE (self->timeline), from, to);
  if (to > 0)
    {
      g_autofree char *text = g_strdup_printf (_("Every view shows the allocations made between "
                                                 "%.3f s and %.3f s. Click the chart to show "
                                                 "them all again."),
                                               from, to);
      gtk_label_set_text (self->range_label, text);
    }
}
