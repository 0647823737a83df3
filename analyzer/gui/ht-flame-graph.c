/* ht-flame-graph.c - HtFlameGraph: the top-down call tree drawn as a flame graph.
 *
 * Callers at the bottom, each frame as wide as its cost; a click zooms into a frame, a
 * click on the bars below it zooms out; a frame's tooltip says what it costs.  Given a
 * baseline (another recording's tree), it is a differential flame graph, as Brendan
 * Gregg's: the shape of this tree, each frame coloured by its change since the frame of
 * the same functions in the baseline, red for growth, blue for shrinkage.
 */
#include <math.h>

#include "ht-gui.h"

struct _HtFlameGraph
{
  GtkDrawingArea parent_instance;
  HtCallNode *root;  /* owned */
  HtCallNode *focus; /* drawn as full width */
  HtCallNode *baseline; /* owned, or NULL */
  GHashTable *before;   /* node of root -> its node in baseline (absent: new) */
};

G_DEFINE_FINAL_TYPE (HtFlameGraph, ht_flame_graph, GTK_TYPE_DRAWING_AREA)

typedef HtFlameGraph Flame;

#define FLAME_ROW 18.0

static void
ht_flame_graph_finalize (GObject *object)
{
  Flame *f = HT_FLAME_GRAPH (object);
  ht_call_node_free (f->root);
  ht_call_node_free (f->baseline);
  g_clear_pointer (&f->before, g_hash_table_unref);
  G_OBJECT_CLASS (ht_flame_graph_parent_class)->finalize (object);
}

static void
flame_color (cairo_t *cr, const char *name)
{
  guint h = g_str_hash (name);
  cairo_set_source_rgb (cr, 0.85 + (h % 16) / 120.0, 0.35 + (h / 16 % 64) / 140.0,
                        0.15 + (h / 1024 % 32) / 200.0);
}

/* A frame's change since the baseline: light grey for none, to full red (grew by at least
 * half of what it is now) or full blue (shrank by at least half of what it was). */
static void
diff_color (Flame *f, cairo_t *cr, const HtCallNode *n)
{
  const HtCallNode *old = g_hash_table_lookup (f->before, n);
  double now = (double) n->total_bytes, was = old ? (double) old->total_bytes : 0;
  double change = (now - was) / MAX (MAX (now, was), 1.0);
  double k = MIN (fabs (change) * 2, 1.0);
  const double grey = 0.88;
  if (change >= 0)
    cairo_set_source_rgb (cr, grey + (0.95 - grey) * k, grey * (1 - k) + 0.25 * k,
                          grey * (1 - k) + 0.2 * k);
  else
    cairo_set_source_rgb (cr, grey * (1 - k) + 0.2 * k, grey * (1 - k) + 0.35 * k,
                          grey + (0.95 - grey) * k);
}

static void
flame_draw_node (Flame *f, cairo_t *cr, const HtCallNode *n, double x, double w, double y,
                 guint64 total)
{
  if (w < 0.5)
    return;
  if (n->location)
    {
      if (f->before)
        diff_color (f, cr, n);
      else
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
      flame_draw_node (f, cr, c, cx, cw, y, total);
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
  flame_draw_node (f, cr, f->focus, 0, width, y, f->focus->total_bytes);
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
  if (f->before)
    {
      const HtCallNode *old = g_hash_table_lookup (f->before, hit);
      guint64 was = old ? old->total_bytes : 0;
      g_autofree char *then = ht_format_size ((double) was, FALSE);
      g_autofree char *change = ht_format_size ((double) hit->total_bytes - (double) was, TRUE);
      g_autofree char *more = g_strdup_printf (_("%s\nbefore: %s (%s)"), text, then, change);
      gtk_tooltip_set_text (tooltip, more);
      return TRUE;
    }
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
ht_flame_graph_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), HT_TYPE_FLAME_GRAPH);
  G_OBJECT_CLASS (ht_flame_graph_parent_class)->dispose (object);
}

static void
ht_flame_graph_class_init (HtFlameGraphClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = ht_flame_graph_dispose;
  G_OBJECT_CLASS (klass)->finalize = ht_flame_graph_finalize;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/heaptrail/Heaptrail/gtk/ht-flame-graph.ui");
  gtk_widget_class_bind_template_callback (widget_class, flame_clicked);
  gtk_widget_class_bind_template_callback (widget_class, flame_tooltip);
}

static void
ht_flame_graph_init (HtFlameGraph *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self), draw_flame, self, NULL);
}

GtkWidget *
ht_flame_graph_new (HtCallNode *root)
{
  HtFlameGraph *self = g_object_new (HT_TYPE_FLAME_GRAPH, NULL);
  ht_flame_graph_set_root (self, root);
  return GTK_WIDGET (self);
}

void
ht_flame_graph_set_root (HtFlameGraph *self, HtCallNode *root)
{
  ht_flame_graph_set_baseline (self, NULL);
  ht_call_node_free (self->root);
  self->root = self->focus = root;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* Pairs each node of `now` with the node of the same function under the pair of its
 * parent in `was`. */
static void
pair_nodes (GHashTable *before, const HtCallNode *now, const HtCallNode *was)
{
  for (guint i = 0; now->children && i < now->children->len; i++)
    {
      const HtCallNode *c = now->children->pdata[i];
      const HtCallNode *match = NULL;
      for (guint j = 0; was && was->children && j < was->children->len && !match; j++)
        {
          const HtCallNode *o = was->children->pdata[j];
          if (g_str_equal (o->location->function, c->location->function))
            match = o;
        }
      if (match)
        g_hash_table_insert (before, (gpointer) c, (gpointer) match);
      pair_nodes (before, c, match);
    }
}

void
ht_flame_graph_set_baseline (HtFlameGraph *self, HtCallNode *baseline)
{
  ht_call_node_free (self->baseline);
  g_clear_pointer (&self->before, g_hash_table_unref);
  self->baseline = baseline;
  if (baseline && self->root)
    {
      self->before = g_hash_table_new (NULL, NULL);
      pair_nodes (self->before, self->root, baseline);
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}
