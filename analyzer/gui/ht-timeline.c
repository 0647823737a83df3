/* ht-timeline.c - HtTimeline: heap and RSS over time, drawn with cairo.
 *
 * One recording's heap and RSS with its snapshots marked, or two recordings overlaid on
 * one scale (Compare).  Axis ticks fall on round values (1, 2, 2.5 or 5 times a power of
 * ten) and the labels of an axis share a unit.  When selectable, dragging across the chart
 * picks a time range ("range-selected"); a click clears it.
 */
#include <math.h>

#include "ht-gui.h"

struct _HtTimeline
{
  GtkDrawingArea parent_instance;
  GArray *a, *b;          /* HtTimePoint; b only when two recordings are overlaid */
  char *label_a, *label_b;
  GPtrArray *snapshots;   /* HtSnapshotInfo*, or NULL */
  double duration;
  double left, width, tmax; /* the plot's place, from the last draw */
  double sel_from, sel_to;  /* the selected range in seconds; sel_to 0: none */
  double drag_x;
  gboolean selectable;
  double scale_t, scale_v; /* the least the axes reach: a scale shared with another chart */
  GtkGesture *drag;          /* template child */
};

G_DEFINE_FINAL_TYPE (HtTimeline, ht_timeline, GTK_TYPE_DRAWING_AREA)

enum
{
  RANGE_SELECTED,
  N_SIGNALS,
};
static guint signals[N_SIGNALS];

typedef HtTimeline Timeline;

static void
ht_timeline_finalize (GObject *object)
{
  Timeline *t = HT_TIMELINE (object);
  g_clear_pointer (&t->a, g_array_unref);
  g_clear_pointer (&t->b, g_array_unref);
  g_clear_pointer (&t->snapshots, g_ptr_array_unref);
  g_free (t->label_a);
  g_free (t->label_b);
  G_OBJECT_CLASS (ht_timeline_parent_class)->finalize (object);
}

static void
plot (cairo_t *cr, GArray *pts, gboolean rss, double x0, double y0, double w, double h,
      double tmax, double vmax)
{
  for (guint i = 0; i < pts->len; i++)
    {
      const HtTimePoint *p = &g_array_index (pts, HtTimePoint, i);
      double x = x0 + w * p->time_s / tmax;
      double y = y0 + h - h * (double) (rss ? p->rss_bytes : p->heap_bytes) / vmax;
      if (i == 0)
        cairo_move_to (cr, x, y);
      else
        cairo_line_to (cr, x, y);
    }
  cairo_stroke (cr);
}

/* 1, 2, 2.5 or 5 times a power of ten, the smallest at least `rough` */
static double
nice_step (double rough)
{
  if (!(rough > 0))
    return 1;
  double p = pow (10, floor (log10 (rough)));
  static const double steps[] = { 1, 2, 2.5, 5, 10 };
  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    if (steps[i] * p >= rough * (1 - 1e-9))
      return steps[i] * p;
  return 10 * p;
}

static void
draw_timeline (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  (void) area;
  Timeline *t = data;
  double left = 78, right = 16, top = 30, bottom = 28;
  double w = width - left - right, h = height - top - bottom;
  if (w < 10 || h < 10)
    return;
  double tmax, vmax;
  ht_timeline_get_axes (t, &tmax, &vmax);
  GArray *sets[] = { t->a, t->b };
  t->left = left;
  t->width = w;
  t->tmax = tmax;
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_rectangle (cr, left, top, w, h);
  cairo_fill (cr);
  if (t->sel_to > t->sel_from)
    {
      cairo_set_source_rgba (cr, 0.2, 0.5, 0.9, 0.15);
      cairo_rectangle (cr, left + w * t->sel_from / tmax, top, w * (t->sel_to - t->sel_from) / tmax,
                       h);
      cairo_fill (cr);
    }
  cairo_set_source_rgb (cr, 0.8, 0.8, 0.8);
  cairo_set_line_width (cr, 1);
  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, 11);
  /* the size axis: round steps, every label in one unit */
  double unit = 1;
  const char *unit_name = "B";
  static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
  for (guint u = 1; u < G_N_ELEMENTS (units) && vmax / unit >= 4096; u++)
    {
      unit *= 1024;
      unit_name = units[u];
    }
  double step = nice_step (vmax / unit / 4) * unit;
  vmax = MAX (step, ceil (vmax / step - 1e-9) * step);
  for (double v = 0; v <= vmax + step / 2; v += step)
    {
      double y = top + h - h * v / vmax;
      cairo_set_source_rgb (cr, 0.85, 0.85, 0.85);
      cairo_move_to (cr, left, y);
      cairo_line_to (cr, left + w, y);
      cairo_stroke (cr);
      char text[48];
      double n = v / unit;
      g_snprintf (text, sizeof text, n == floor (n) ? "%.0f %s" : "%.1f %s", n, unit_name);
      cairo_text_extents_t ext;
      cairo_text_extents (cr, text, &ext);
      cairo_set_source_rgb (cr, 0.3, 0.3, 0.3);
      cairo_move_to (cr, left - 6 - ext.x_advance, y + 4);
      cairo_show_text (cr, text);
    }
  /* the time axis: round steps too, each label centred on its tick and kept inside */
  double tstep = nice_step (tmax / 5);
  for (double tv = 0; tv <= tmax + tstep * 1e-6; tv += tstep)
    {
      char text[32];
      if (tstep >= 1)
        g_snprintf (text, sizeof text, "%.0fs", tv);
      else if (tstep >= 0.1)
        g_snprintf (text, sizeof text, "%.1fs", tv);
      else
        g_snprintf (text, sizeof text, "%.0fms", tv * 1000);
      cairo_text_extents_t ext;
      cairo_text_extents (cr, text, &ext);
      double x = left + w * tv / tmax - ext.x_advance / 2;
      x = CLAMP (x, left - 4, width - 2 - ext.x_advance);
      cairo_move_to (cr, x, top + h + 18);
      cairo_show_text (cr, text);
    }
  /* snapshots: a dashed line and the label, on one of two rows; a label that would overlap
   * both rows' last ones is left out (its line stays), one too long is cut */
  double row_end[2] = { -1e9, -1e9 };
  for (guint i = 0; t->snapshots && i < t->snapshots->len; i++)
    {
      const HtSnapshotInfo *s = t->snapshots->pdata[i];
      if (g_str_equal (s->kind, "auto"))
        continue;
      double x = left + w * s->time_s / tmax;
      double dash = 3;
      cairo_set_dash (cr, &dash, 1, 0);
      cairo_set_source_rgba (cr, 0.55, 0.35, 0.0, 0.8);
      cairo_move_to (cr, x, top);
      cairo_line_to (cr, x, top + h);
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
      cairo_text_extents_t ext;
      cairo_text_extents (cr, s->label, &ext);
      double tx = MIN (x + 2, width - 2 - ext.x_advance); /* never past the right edge */
      tx = MAX (tx, 2);
      int row = tx > row_end[0] + 4 ? 0 : tx > row_end[1] + 4 ? 1 : -1;
      if (row < 0)
        continue;
      row_end[row] = tx + ext.x_advance;
      cairo_move_to (cr, tx, top - 4 - 11 * row);
      cairo_show_text (cr, s->label);
    }
  cairo_set_line_width (cr, 1.8);
  static const double colors[2][2][3] = { { { 0.10, 0.45, 0.80 }, { 0.55, 0.70, 0.90 } },
                                          { { 0.85, 0.35, 0.10 }, { 0.95, 0.65, 0.45 } } };
  for (guint s = 0; s < 2; s++)
    {
      if (!sets[s])
        continue;
      cairo_set_source_rgb (cr, colors[s][1][0], colors[s][1][1], colors[s][1][2]);
      plot (cr, sets[s], TRUE, left, top, w, h, tmax, vmax);
      cairo_set_source_rgb (cr, colors[s][0][0], colors[s][0][1], colors[s][0][2]);
      plot (cr, sets[s], FALSE, left, top, w, h, tmax, vmax);
    }
  /* legend */
  const char *names[2][2] = { { t->label_a, NULL }, { t->label_b, NULL } };
  double lx = left + 8, ly = top + 14;
  for (guint s = 0; s < 2; s++)
    {
      if (!sets[s])
        continue;
      const char *what[2] = { _("heap"), _("RSS") };
      for (guint k = 0; k < 2; k++)
        {
          g_autofree char *text = names[s][0] ? g_strdup_printf ("%s %s", names[s][0], what[k])
                                              : g_strdup (what[k]);
          cairo_set_source_rgb (cr, colors[s][k][0], colors[s][k][1], colors[s][k][2]);
          cairo_rectangle (cr, lx, ly - 8, 12, 8);
          cairo_fill (cr);
          cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
          cairo_move_to (cr, lx + 16, ly);
          cairo_show_text (cr, text);
          cairo_text_extents_t ext;
          cairo_text_extents (cr, text, &ext);
          lx += 30 + ext.x_advance;
        }
    }
}

static double
x_to_time (Timeline *t, double x)
{
  return t->width > 0 ? CLAMP ((x - t->left) / t->width, 0, 1) * t->tmax : 0;
}

static void
drag_begin (GtkGestureDrag *g, double x, double y, gpointer data)
{
  (void) y;
  (void) data;
  Timeline *t = HT_TIMELINE (gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (g)));
  t->drag_x = x;
}

static void
drag_update (GtkGestureDrag *g, double dx, double dy, gpointer data)
{
  (void) dy;
  (void) data;
  Timeline *t = HT_TIMELINE (gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (g)));
  double a = x_to_time (t, t->drag_x), b = x_to_time (t, t->drag_x + dx);
  t->sel_from = MIN (a, b);
  t->sel_to = MAX (a, b);
  gtk_widget_queue_draw (gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (g)));
}

static void
drag_end (GtkGestureDrag *g, double dx, double dy, gpointer data)
{
  drag_update (g, dx, dy, data);
  Timeline *t = HT_TIMELINE (gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (g)));
  if (t->sel_to - t->sel_from < t->tmax / 200) /* a click, not a drag: no range */
    t->sel_from = t->sel_to = 0;
  g_signal_emit (t, signals[RANGE_SELECTED], 0, t->sel_from, t->sel_to); /* or (a click) none */
}

static void
ht_timeline_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), HT_TYPE_TIMELINE);
  G_OBJECT_CLASS (ht_timeline_parent_class)->dispose (object);
}

static void
ht_timeline_class_init (HtTimelineClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = ht_timeline_dispose;
  G_OBJECT_CLASS (klass)->finalize = ht_timeline_finalize;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/heaptrail/Heaptrail/gtk/ht-timeline.ui");
  gtk_widget_class_bind_template_child (widget_class, HtTimeline, drag);
  gtk_widget_class_bind_template_callback (widget_class, drag_begin);
  gtk_widget_class_bind_template_callback (widget_class, drag_update);
  gtk_widget_class_bind_template_callback (widget_class, drag_end);
  /* a time range was dragged across the chart: from, to in seconds (to 0: a click, none) */
  signals[RANGE_SELECTED] = g_signal_new ("range-selected", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                                          2, G_TYPE_DOUBLE, G_TYPE_DOUBLE);
}

static void
ht_timeline_init (HtTimeline *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self), draw_timeline, self, NULL);
}

void
ht_timeline_get_axes (HtTimeline *t, double *tmax, double *vmax)
{
  *tmax = MAX (MAX (t->duration, 1e-3), t->scale_t);
  *vmax = MAX (1, t->scale_v);
  GArray *sets[] = { t->a, t->b };
  for (guint s = 0; s < 2; s++)
    for (guint i = 0; sets[s] && i < sets[s]->len; i++)
      {
        const HtTimePoint *p = &g_array_index (sets[s], HtTimePoint, i);
        *tmax = MAX (*tmax, p->time_s);
        *vmax = MAX (*vmax, (double) MAX (p->heap_bytes, p->rss_bytes));
      }
}

void
ht_timeline_set_scale (HtTimeline *t, double tmax, double vmax)
{
  t->scale_t = tmax;
  t->scale_v = vmax;
  gtk_widget_queue_draw (GTK_WIDGET (t));
}

void
ht_timeline_set_range (HtTimeline *t, double from, double to)
{
  t->sel_from = from;
  t->sel_to = to;
  gtk_widget_queue_draw (GTK_WIDGET (t));
}

void
ht_timeline_set_selectable (HtTimeline *t, gboolean selectable)
{
  if (!selectable || t->selectable)
    return;
  t->selectable = TRUE;
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (t->drag), GTK_PHASE_BUBBLE);
  gtk_widget_set_tooltip_text (GTK_WIDGET (t), _("Drag across the chart to look at the "
                                                 "allocations made in that time only"));
}

GtkWidget *
ht_timeline_new (GArray *points, GPtrArray *snapshots, double duration_s)
{
  Timeline *t = g_object_new (HT_TYPE_TIMELINE, NULL);
  t->a = g_array_ref (points);
  t->snapshots = snapshots ? g_ptr_array_ref (snapshots) : NULL;
  t->duration = duration_s;
  return GTK_WIDGET (t);
}

GtkWidget *
ht_timeline_overlay_new (GArray *a, GArray *b, const char *label_a, const char *label_b)
{
  Timeline *t = g_object_new (HT_TYPE_TIMELINE, NULL);
  t->a = g_array_ref (a);
  t->b = g_array_ref (b);
  t->label_a = g_strdup (label_a);
  t->label_b = g_strdup (label_b);
  return GTK_WIDGET (t);
}
