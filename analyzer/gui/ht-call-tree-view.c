/* ht-call-tree-view.c - the Top-down and Bottom-up views.
 *
 * A tree of call stacks weighed by a cost: from main down to the allocating lines
 * (top-down), or from the allocating functions up to their callers (bottom-up).  Children
 * are made when a row is expanded, from the analyzer's HtCallNode tree, which the tree
 * model owns.
 */
#include "ht-call-tree-view.h"
#include "ht-gui.h"

struct _HtCallTreeView
{
  GtkBox parent_instance;

  /* template children */
  GtkDropDown *cost;
  GtkCheckButton *fold;
  GtkLabel *note;
  GtkColumnView *view;

  HtDb *db;
  gboolean bottom_up;
  double time_from, time_to; /* the page's time range; time_to 0: the whole run */
};

G_DEFINE_FINAL_TYPE (HtCallTreeView, ht_call_tree_view, GTK_TYPE_BOX)

HtTopOptions
ht_cost_options (guint cost)
{
  HtTopOptions o = { .by = HT_GROUP_LINE, .at = "peak" };
  if (cost == 1)
    o.allocations = TRUE;
  else if (cost == 2)
    o.temporary = TRUE;
  else if (cost == 3)
    o.at = "end";
  return o;
}

static GListModel *
tree_children (gpointer item, gpointer data)
{
  (void) data;
  const HtCallNode *n = g_object_get_data (G_OBJECT (item), "ht-node");
  if (!n || !n->children || n->children->len == 0)
    return NULL;
  GListStore *store = g_list_store_new (HT_TYPE_ROW);
  for (guint i = 0; i < n->children->len; i++)
    {
      const HtCallNode *c = n->children->pdata[i];
      g_autofree char *where = ht_location_format (c->location);
      g_autoptr (HtRow) row = ht_row_new (c->location->function, where);
      row->values[0] = (gint64) c->total_bytes;
      row->values[1] = (gint64) c->self_bytes;
      row->values[2] = (gint64) c->total_count;
      g_object_set_data (G_OBJECT (row), "ht-node", (gpointer) c);
      g_list_store_append (store, row);
    }
  return G_LIST_MODEL (store);
}

static void
function_setup (GtkSignalListItemFactory *f, GtkListItem *item, gpointer data)
{
  (void) f;
  (void) data;
  GtkWidget *expander = gtk_tree_expander_new ();
  GtkWidget *l = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (l), 0);
  gtk_label_set_ellipsize (GTK_LABEL (l), PANGO_ELLIPSIZE_END);
  gtk_tree_expander_set_child (GTK_TREE_EXPANDER (expander), l);
  gtk_list_item_set_child (item, expander);
}

static void
function_bind (GtkSignalListItemFactory *f, GtkListItem *item, gpointer data)
{
  (void) f;
  (void) data;
  GtkTreeListRow *tr = gtk_list_item_get_item (item);
  GtkTreeExpander *expander = GTK_TREE_EXPANDER (gtk_list_item_get_child (item));
  gtk_tree_expander_set_list_row (expander, tr);
  HtRow *row = gtk_tree_list_row_get_item (tr);
  gtk_label_set_text (GTK_LABEL (gtk_tree_expander_get_child (expander)), row->key);
  ht_set_lazy_tooltip (GTK_WIDGET (expander), row->detail);
  g_object_unref (row);
}

/* The other columns: the location, or one of the row's values. */
typedef struct
{
  int column; /* -1: the detail (location) */
  gboolean size;
} Column;

static void
value_setup (GtkSignalListItemFactory *f, GtkListItem *item, gpointer data)
{
  (void) f;
  const Column *c = data;
  GtkWidget *l = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (l), c->column < 0 ? 0 : 1);
  gtk_label_set_ellipsize (GTK_LABEL (l), PANGO_ELLIPSIZE_START);
  gtk_list_item_set_child (item, l);
}

static void
value_bind (GtkSignalListItemFactory *f, GtkListItem *item, gpointer data)
{
  (void) f;
  const Column *c = data;
  HtRow *row = gtk_tree_list_row_get_item (gtk_list_item_get_item (item));
  g_autofree char *text = c->column < 0 ? g_strdup (row->detail ? row->detail : "")
                          : c->size ? ht_format_size ((double) row->values[c->column], FALSE)
                                    : g_strdup_printf ("%" G_GINT64_FORMAT,
                                                       row->values[c->column]);
  gtk_label_set_text (GTK_LABEL (gtk_list_item_get_child (item)), text);
  g_object_unref (row);
}

static void
add_column (GtkColumnView *view, const char *title, int column, gboolean size)
{
  GtkListItemFactory *f = gtk_signal_list_item_factory_new ();
  Column *c = g_new (Column, 1);
  c->column = column;
  c->size = size;
  g_signal_connect (f, "setup", G_CALLBACK (value_setup), c);
  g_signal_connect (f, "bind", G_CALLBACK (value_bind), c);
  GtkColumnViewColumn *col = gtk_column_view_column_new (title, f);
  g_object_set_data_full (G_OBJECT (col), "ht-column", c, g_free);
  gtk_column_view_column_set_resizable (col, TRUE);
  gtk_column_view_append_column (view, col);
  g_object_unref (col);
}

/* Queries the tree for the chosen cost and shows it. */
static void
options_changed (HtCallTreeView *self)
{
  if (!self->db)
    return;
  HtTopOptions opt = ht_cost_options (gtk_drop_down_get_selected (self->cost));
  opt.fold_recursion = gtk_check_button_get_active (self->fold);
  opt.time_from_s = self->time_from;
  opt.time_to_s = self->time_to;
  HtCallNode *root = ht_query_call_tree (self->db, &opt, self->bottom_up, NULL);
  if (!root)
    {
      gtk_column_view_set_model (self->view, NULL);
      return;
    }
  g_autoptr (HtRow) top = ht_row_new ("", NULL);
  g_object_set_data (G_OBJECT (top), "ht-node", root);
  GListModel *kids = tree_children (top, NULL);
  if (!kids)
    kids = G_LIST_MODEL (g_list_store_new (HT_TYPE_ROW));
  GtkTreeListModel *tree = gtk_tree_list_model_new (kids, FALSE, FALSE, tree_children, NULL, NULL);
  /* the tree owns the nodes: freed with the model */
  g_object_set_data_full (G_OBJECT (tree), "ht-root", root, (GDestroyNotify) ht_call_node_free);
  GtkSingleSelection *sel = gtk_single_selection_new (G_LIST_MODEL (tree));
  gtk_column_view_set_model (self->view, GTK_SELECTION_MODEL (sel));
  g_object_unref (sel);
}

static void
ht_call_tree_view_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), HT_TYPE_CALL_TREE_VIEW);
  G_OBJECT_CLASS (ht_call_tree_view_parent_class)->dispose (object);
}

static void
ht_call_tree_view_class_init (HtCallTreeViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = ht_call_tree_view_dispose;
  gtk_widget_class_set_template_from_resource (
    widget_class, "/org/heaptrail/Heaptrail/gtk/ht-call-tree-view.ui");
  gtk_widget_class_bind_template_child (widget_class, HtCallTreeView, cost);
  gtk_widget_class_bind_template_child (widget_class, HtCallTreeView, fold);
  gtk_widget_class_bind_template_child (widget_class, HtCallTreeView, note);
  gtk_widget_class_bind_template_child (widget_class, HtCallTreeView, view);
  gtk_widget_class_bind_template_callback (widget_class, options_changed);
  gtk_widget_class_bind_template_callback (widget_class, function_setup);
  gtk_widget_class_bind_template_callback (widget_class, function_bind);
}

static void
ht_call_tree_view_init (HtCallTreeView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  add_column (self->view, _("Location"), -1, FALSE);
  add_column (self->view, _("Total"), 0, TRUE);
  add_column (self->view, _("Self"), 1, TRUE);
  add_column (self->view, _("Count"), 2, FALSE);
}

GtkWidget *
ht_call_tree_view_new (HtDb *db, gboolean bottom_up)
{
  HtCallTreeView *self = g_object_new (HT_TYPE_CALL_TREE_VIEW, NULL);
  self->db = db;
  self->bottom_up = bottom_up;
  const char *note = bottom_up ? _("Allocating functions first, then who called them.")
                               : _("Callers first: from main down to the allocating lines.");
  gtk_label_set_text (self->note, note);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->note), note);
  options_changed (self);
  return GTK_WIDGET (self);
}

void
ht_call_tree_view_set_time_range (HtCallTreeView *self, double from, double to)
{
  self->time_from = from;
  self->time_to = to;
  options_changed (self);
}
