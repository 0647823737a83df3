/* ht-flame-view.c - the Flame graph view.
 *
 * The call tree by function (ht-gui-draw.c draws it), weighed by the cost chosen above it,
 * recursion folded or not.
 */
#include "ht-call-tree-view.h"
#include "ht-flame-view.h"
#include "ht-gui.h"

struct _HtFlameView
{
  GtkBox parent_instance;

  /* template children */
  GtkDropDown *cost;
  GtkCheckButton *fold;
  GtkBox *graph_box;

  HtDb *db;
  GtkWidget *flame;
  double time_from, time_to; /* the page's time range; time_to 0: the whole run */
};

G_DEFINE_FINAL_TYPE (HtFlameView, ht_flame_view, GTK_TYPE_BOX)

static HtCallNode *
query (HtFlameView *self)
{
  HtTopOptions opt = ht_cost_options (gtk_drop_down_get_selected (self->cost));
  opt.by = HT_GROUP_FUNCTION;
  opt.fold_recursion = gtk_check_button_get_active (self->fold);
  opt.time_from_s = self->time_from;
  opt.time_to_s = self->time_to;
  return ht_query_call_tree (self->db, &opt, FALSE, NULL);
}

static void
options_changed (HtFlameView *self)
{
  if (self->flame)
    ht_flame_graph_set_root (HT_FLAME_GRAPH (self->flame), query (self));
}

static void
ht_flame_view_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), HT_TYPE_FLAME_VIEW);
  G_OBJECT_CLASS (ht_flame_view_parent_class)->dispose (object);
}

static void
ht_flame_view_class_init (HtFlameViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = ht_flame_view_dispose;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/heaptrail/Heaptrail/gtk/ht-flame-view.ui");
  gtk_widget_class_bind_template_child (widget_class, HtFlameView, cost);
  gtk_widget_class_bind_template_child (widget_class, HtFlameView, fold);
  gtk_widget_class_bind_template_child (widget_class, HtFlameView, graph_box);
  gtk_widget_class_bind_template_callback (widget_class, options_changed);
}

static void
ht_flame_view_init (HtFlameView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
ht_flame_view_new (HtDb *db)
{
  HtFlameView *self = g_object_new (HT_TYPE_FLAME_VIEW, NULL);
  self->db = db;
  self->flame = ht_flame_graph_new (query (self));
  gtk_widget_set_vexpand (self->flame, TRUE);
  gtk_box_append (self->graph_box, self->flame);
  return GTK_WIDGET (self);
}

void
ht_flame_view_set_time_range (HtFlameView *self, double from, double to)
{
  self->time_from = from;
  self->time_to = to;
  options_changed (self);
}
