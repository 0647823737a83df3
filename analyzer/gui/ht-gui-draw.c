/* ht-gui-draw.c - the drawn widgets: memory over time, and the flame graph. */
#include <math.h>

#include "ht-gui.h"

/* ---------------------------------------------------------------------------------------
 * Timeline: heap and RSS over time, snapshots as marks
 */
typedef struct
{
  GArray *a, *b;          /* HtTimePoint; b only when two recordings are overlaid */
  char *label_a, *label_b;
  GPtrArray *snapshots;   /* HtSnapshotInfo*, or NULL */
  double duration;
  double left, width, tmax; /* the plot's place, from the last draw */
  double sel_from, sel_to;  /* the selected range in seconds; sel_to 0: none */
  double drag_x;
  HtRangeFunc on_range;
  gpointer on_range_data;
} Timeline;

static void
timeline_free (gpointer data)
{
  Timeline *t = data;
  g_clear_pointer (&t->a, g_array_unref);
  g_clear_pointer (&t->b, g_array_unref);
  g_clear_pointer (&t->snapshots, g_ptr_array_unref);
  g_free (t->label_a);
  g_free (t->label_b);
  g_free (t);
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
  double tmax = MAX (t->duration, 1e-3), vmax = 1;
  GArray *sets[] = { t->a, t->b };
  for (guint s = 0; s < 2; s++)
    for (guint i = 0; sets[s] && i < sets[s]->len; i++)
      {
        const HtTimePoint *p = &g_array_index (sets[s], HtTimePoint, i);
        tmax = MAX (tmax, p->time_s);
        vmax = MAX (vmax, (double) MAX (p->heap_bytes, p->rss_bytes));
      }
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
  (void) g;
  (void) y;
  Timeline *t = data;
  t->drag_x = x;
}

static void
drag_update (GtkGestureDrag *g, double dx, double dy, gpointer data)
{
  (void) dy;
  Timeline *t = data;
  double a = x_to_time (t, t->drag_x), b = x_to_time (t, t->drag_x + dx);
  t->sel_from = MIN (a, b);
  t->sel_to = MAX (a, b);
  gtk_widget_queue_draw (gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (g)));
}

static void
drag_end (GtkGestureDrag *g, double dx, double dy, gpointer data)
{
  drag_update (g, dx, dy, data);
  Timeline *t = data;
  if (t->sel_to - t->sel_from < t->tmax / 200) /* a click, not a drag: no range */
    t->sel_from = t->sel_to = 0;
  if (t->on_range) /* a range, or (a click) none */
    t->on_range (t->sel_from, t->sel_to, t->on_range_data);
}

static GtkWidget *
timeline_widget (Timeline *t)
{
  GtkWidget *area = gtk_drawing_area_new ();
  g_object_set_data (G_OBJECT (area), "ht-timeline", t);
  gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (area), 220);
  gtk_widget_set_hexpand (area, TRUE);
  gtk_widget_set_vexpand (area, TRUE);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (area), draw_timeline, t, timeline_free);
  return area;
}

void
ht_timeline_set_range (GtkWidget *timeline, double from, double to, HtRangeFunc on_range,
                       gpointer data)
{
  Timeline *t = g_object_get_data (G_OBJECT (timeline), "ht-timeline");
  t->sel_from = from;
  t->sel_to = to;
  if (on_range && !t->on_range)
    {
      GtkGesture *drag = gtk_gesture_drag_new ();
      g_signal_connect (drag, "drag-begin", G_CALLBACK (drag_begin), t);
      g_signal_connect (drag, "drag-update", G_CALLBACK (drag_update), t);
      g_signal_connect (drag, "drag-end", G_CALLBACK (drag_end), t);
      gtk_widget_add_controller (timeline, GTK_EVENT_CONTROLLER (drag));
      gtk_widget_set_tooltip_text (timeline, _("Drag across the chart to look at the allocations "
                                               "made in that time only"));
    }
  t->on_range = on_range;
  t->on_range_data = data;
  gtk_widget_queue_draw (timeline);
}

GtkWidget *
ht_timeline_new (GArray *points, GPtrArray *snapshots, double duration_s)
{
  Timeline *t = g_new0 (Timeline, 1);
  t->a = g_array_ref (points);
  t->snapshots = snapshots ? g_ptr_array_ref (snapshots) : NULL;
  t->duration = duration_s;
  return timeline_widget (t);
}

GtkWidget *
ht_timeline_overlay_new (GArray *a, GArray *b, const char *label_a, const char *label_b)
{
  Timeline *t = g_new0 (Timeline, 1);
  t->a = g_array_ref (a);
  t->b = g_array_ref (b);
  t->label_a = g_strdup (label_a);
  t->label_b = g_strdup (label_b);
  return timeline_widget (t);
}

/* ---------------------------------------------------------------------------------------
 * Flame graph: the top-down call tree, callers at the bottom, width by cost; a click
 * zooms into a frame, a click on the bottom bar zooms out.
 */
typedef struct
{
  HtCallNode *root;  /* owned */
  HtCallNode *focus; /* drawn as full width */
  GtkWidget *area;
} Flame;

#define FLAME_ROW 18.0

static void
flame_free (gpointer data)
{
  Flame *f = data;
  ht_call_node_free (f->root);
  g_free (f);
}

static void
flame_color (cairo_t *cr, const char *name)
{
  guint h = g_str_hash (name);
  cairo_set_source_rgb (cr, 0.85 + (h % 16) / 120.0, 0.35 + (h / 16 % 64) / 140.0,
                        0.15 + (h / 1024 % 32) / 200.0);
}

static void
flame_draw_node (cairo_t *cr, const HtCallNode *n, double x, double w, double y, guint64 total)
{
  if (w < 0.5)
    return;
  if (n->location)
    {
      flame_color (cr, n->location->function);
      cairo_rectangle (cr, x + 0.5, y - FLAME_ROW + 1, MAX (w - 1, 0.5), FLAME_ROW - 2);
      cairo_fill (cr);
      if (w > 30)
        {
          cairo_save (cr);
          cairo_rectangle (cr, x, y - FLAME_ROW, w - 2, FLAME_ROW);
          cairo_clip (cr);
          cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
          cairo_move_to (cr, x + 3, y - 5);
          cairo_show_text (cr, n->location->function);
          cairo_restore (cr);
        }
      y -= FLAME_ROW;
    }
  double cx = x;
  for (guint i = 0; n->children && i < n->children->len; i++)
    {
      const HtCallNode *c = n->children->pdata[i];
      double cw = total ? w * (double) c->total_bytes / (double) n->total_bytes : 0;
      flame_draw_node (cr, c, cx, cw, y, total);
      cx += cw;
    }
}

static void
draw_flame (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  (void) area;
  Flame *f = data;
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  if (!f->focus || f->focus->total_bytes == 0)
    return;
  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, 11);
  /* the focus's callers, full width, below it */
  double y = height - 4;
  g_autoptr (GPtrArray) chain = g_ptr_array_new ();
  for (HtCallNode *p = f->focus->parent; p && p->location; p = p->parent)
    g_ptr_array_insert (chain, 0, p);
  for (guint i = 0; i < chain->len; i++)
    {
      HtCallNode *p = chain->pdata[i];
      cairo_set_source_rgb (cr, 0.85, 0.85, 0.85);
      cairo_rectangle (cr, 0.5, y - FLAME_ROW + 1, width - 1, FLAME_ROW - 2);
      cairo_fill (cr);
      cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
      cairo_move_to (cr, 3, y - 5);
      cairo_show_text (cr, p->location->function);
      y -= FLAME_ROW;
    }
  flame_draw_node (cr, f->focus, 0, width, y, f->focus->total_bytes);
}

/* The node under (x, y), walking the same layout as the drawing. */
static HtCallNode *
flame_hit (HtCallNode *n, double x, double w, double y, double px, double py)
{
  if (n->location)
    {
      if (py <= y && py > y - FLAME_ROW && px >= x && px < x + w)
        return n;
      y -= FLAME_ROW;
    }
  double cx = x;
  for (guint i = 0; n->children && i < n->children->len; i++)
    {
      HtCallNode *c = n->children->pdata[i];
      double cw = n->total_bytes ? w * (double) c->total_bytes / (double) n->total_bytes : 0;
      HtCallNode *hit = flame_hit (c, cx, cw, y, px, py);
      if (hit)
        return hit;
      cx += cw;
    }
  return NULL;
}

static double
flame_base (Flame *f, int height)
{
  double y = height - 4;
  for (HtCallNode *p = f->focus->parent; p && p->location; p = p->parent)
    y -= FLAME_ROW;
  return y;
}

static void
flame_clicked (GtkGestureClick *gesture, int n_press, double x, double y, gpointer data)
{
  (void) n_press;
  Flame *f = data;
  GtkWidget *w = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (gesture));
  int width = gtk_widget_get_width (w), height = gtk_widget_get_height (w);
  if (!f->focus)
    return;
  double base = flame_base (f, height);
  if (y > base && f->focus->parent) /* the callers' bars: zoom out */
    f->focus = f->focus->parent->location ? f->focus->parent : f->root;
  else
    {
      HtCallNode *hit = flame_hit (f->focus, 0, width, base, x, y);
      if (hit)
        f->focus = hit;
    }
  gtk_widget_queue_draw (w);
}

static gboolean
flame_tooltip (GtkWidget *w, int x, int y, gboolean keyboard, GtkTooltip *tooltip, gpointer data)
{
  (void) keyboard;
  Flame *f = data;
  if (!f->focus)
    return FALSE;
  HtCallNode *hit = flame_hit (f->focus, 0, gtk_widget_get_width (w),
                               flame_base (f, gtk_widget_get_height (w)), x, y);
  if (!hit || !hit->location)
    return FALSE;
  g_autofree char *size = ht_format_size ((double) hit->total_bytes, FALSE);
  g_autofree char *where = ht_location_format (hit->location);
  g_autofree char *text = g_strdup_printf (_("%s\n%s: %s in %llu allocations (%.1f%%)"),
                                           hit->location->function, where, size,
                                           (unsigned long long) hit->total_count,
                                           100.0 * (double) hit->total_bytes
                                             / (double) MAX (f->root->total_bytes, 1));
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

GtkWidget *
ht_flame_new (HtCallNode *root)
{
  Flame *f = g_new0 (Flame, 1);
  GtkWidget *area = gtk_drawing_area_new ();
  f->area = area;
  gtk_widget_set_hexpand (area, TRUE);
  gtk_widget_set_vexpand (area, TRUE);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (area), draw_flame, f, flame_free);
  g_object_set_data (G_OBJECT (area), "ht-flame", f);
  GtkGesture *click = gtk_gesture_click_new ();
  g_signal_connect (click, "pressed", G_CALLBACK (flame_clicked), f);
  gtk_widget_add_controller (area, GTK_EVENT_CONTROLLER (click));
  gtk_widget_set_has_tooltip (area, TRUE);
  g_signal_connect (area, "query-tooltip", G_CALLBACK (flame_tooltip), f);
  ht_flame_set_root (area, root);
  return area;
}

void
ht_flame_set_root (GtkWidget *area, HtCallNode *root)
{
  Flame *f = g_object_get_data (G_OBJECT (area), "ht-flame");
  ht_call_node_free (f->root);
  f->root = f->focus = root;
  gtk_widget_queue_draw (area);
}
