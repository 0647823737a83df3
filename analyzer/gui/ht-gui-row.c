/* ht-gui-row.c - HtRow and the sortable tables that list them. */
#include <string.h>

#include "ht-gui.h"

G_DEFINE_FINAL_TYPE (HtRow, ht_row, G_TYPE_OBJECT)

static void
ht_row_finalize (GObject *object)
{
  HtRow *self = HT_ROW (object);
  g_free (self->key);
  g_free (self->detail);
  g_free (self->match);
  g_clear_pointer (&self->traceback, g_ptr_array_unref);
  G_OBJECT_CLASS (ht_row_parent_class)->finalize (object);
}

static void
ht_row_class_init (HtRowClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = ht_row_finalize;
}

static void
ht_row_init (HtRow *self)
{
  (void) self;
}

HtRow *
ht_row_new (const char *key, const char *detail)
{
  HtRow *row = g_object_new (HT_TYPE_ROW, NULL);
  row->key = g_strdup (key);
  row->detail = g_strdup (detail);
  return row;
}

/* A group of `db` as a row, its source path as short as the recording allows. */
HtRow *
ht_row_from_stat (const HtStat *stat, HtDb *db)
{
  g_autofree char *key = ht_query_display_key (db, stat->key);
  HtRow *row = ht_row_new (key, NULL);
  row->match = g_strdup (stat->match);
  row->values[0] = (gint64) stat->size;
  row->values[1] = (gint64) stat->count;
  row->values[2] = stat->count ? (gint64) (stat->size / stat->count) : 0;
  if (stat->traceback)
    row->traceback = g_ptr_array_ref (stat->traceback);
  return row;
}

void
ht_rows_add_stats (GHashTable *rows, GPtrArray *stats, int column, int count_column,
                   HtDb *db)
{
  for (guint i = 0; i < stats->len; i++)
    {
      const HtStat *s = stats->pdata[i];
      HtRow *row = g_hash_table_lookup (rows, s->match);
      if (!row)
        {
          row = ht_row_from_stat (s, db);
          memset (row->values, 0, sizeof row->values);
          g_hash_table_insert (rows, g_strdup (s->match), row);
        }
      row->values[column] += (gint64) s->size;
      if (count_column >= 0)
        row->values[count_column] += (gint64) s->count;
    }
}

gboolean
ht_row_key_holds (const HtRow *row, const char *text)
{
  if (!text || !*text)
    return TRUE;
  g_autofree char *needle = g_utf8_casefold (text, -1);
  g_autofree char *hay = g_utf8_casefold (row->key, -1);
  return strstr (hay, needle) != NULL;
}

GPtrArray *
ht_rows_values (GHashTable *rows)
{
  GPtrArray *out = g_ptr_array_new_full (g_hash_table_size (rows), g_object_unref);
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, rows);
  while (g_hash_table_iter_next (&it, NULL, &value))
    g_ptr_array_add (out, g_object_ref (value));
  return out;
}

void
ht_store_replace (GListStore *store, GPtrArray *rows)
{
  g_list_store_splice (store, 0, g_list_model_get_n_items (G_LIST_MODEL (store)), rows->pdata,
                       rows->len);
}

/* ---------------------------------------------------------------------------------------
 * Tables
 */
typedef struct
{
  int column; /* -2 key, -1 detail, else a value index */
  gboolean size;
  gboolean expander; /* the key column of a table whose rows expand to their traceback */
} ColumnInfo;

/* A row of a table, whether the table lists rows or tree rows over them (a new ref). */
static HtRow *
row_of (gpointer item)
{
  if (GTK_IS_TREE_LIST_ROW (item))
    return gtk_tree_list_row_get_item (item);
  return item ? g_object_ref (item) : NULL;
}

static gboolean
is_frame (HtRow *row)
{
  return g_object_get_data (G_OBJECT (row), "ht-frame") != NULL;
}

/* A group's children: the frames of its traceback, innermost first. */
static GListModel *
traceback_children (gpointer item, gpointer data)
{
  (void) data;
  HtRow *row = item;
  if (is_frame (row) || !row->traceback || row->traceback->len == 0)
    return NULL;
  GListStore *store = g_list_store_new (HT_TYPE_ROW);
  for (guint i = 0; i < row->traceback->len; i++)
    {
      const HtLocation *l = row->traceback->pdata[i];
      g_autofree char *where = ht_location_format (l);
      g_autofree char *base = g_path_get_basename (where);
      g_autofree char *key = g_str_equal (where, l->function)
                               ? g_strdup (l->function)
                               : g_strdup_printf ("%s (%s)", l->function, base);
      g_autoptr (HtRow) frame = ht_row_new (key, NULL);
      g_object_set_data (G_OBJECT (frame), "ht-frame", GINT_TO_POINTER (1));
      /* frames sort in stack order whatever the column: by their depth */
      for (int k = 0; k < HT_ROW_VALUES; k++)
        frame->values[k] = -(gint64) i;
      g_list_store_append (store, frame);
    }
  return G_LIST_MODEL (store);
}

static void
setup_label (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  (void) factory;
  const ColumnInfo *info = data;
  GtkWidget *label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (label), info->column >= 0 ? 1.0f : 0.0f);
  if (info->column < 0)
    gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_MIDDLE); /* file and line
                                                                              stay readable */
  else
    gtk_widget_add_css_class (label, "numeric");
  if (info->expander)
    {
      GtkWidget *expander = gtk_tree_expander_new ();
      gtk_tree_expander_set_child (GTK_TREE_EXPANDER (expander), label);
      gtk_list_item_set_child (item, expander);
      return;
    }
  gtk_list_item_set_child (item, label);
}

static void
bind_label (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  (void) factory;
  const ColumnInfo *info = data;
  gpointer it = gtk_list_item_get_item (item);
  g_autoptr (HtRow) row = row_of (it);
  GtkWidget *child = gtk_list_item_get_child (item);
  if (GTK_IS_TREE_EXPANDER (child))
    {
      gtk_tree_expander_set_list_row (GTK_TREE_EXPANDER (child), it);
      child = gtk_tree_expander_get_child (GTK_TREE_EXPANDER (child));
    }
  GtkLabel *label = GTK_LABEL (child);
  if (info->column == -2)
    {
      gtk_label_set_text (label, row->key);
      ht_set_lazy_tooltip (GTK_WIDGET (label), row->key);
      return;
    }
  if (is_frame (row))
    {
      gtk_label_set_text (label, "");
      return;
    }
  if (info->column == -1)
    {
      gtk_label_set_text (label, row->detail ? row->detail : "");
      return;
    }
  gint64 v = row->values[info->column];
  g_autofree char *text = info->size ? ht_format_size ((double) v, FALSE)
                                     : g_strdup_printf ("%" G_GINT64_FORMAT, v);
  gtk_label_set_text (label, text);
}

static int
compare_rows (gconstpointer a, gconstpointer b, gpointer data)
{
  const ColumnInfo *info = data;
  const HtRow *x = a, *y = b;
  if (info->column == -2)
    return g_strcmp0 (x->key, y->key);
  if (info->column == -1)
    return g_strcmp0 (x->detail, y->detail);
  gint64 u = x->values[info->column], v = y->values[info->column];
  return u < v ? -1 : u > v;
}

static GtkColumnViewColumn *
add_column (GtkColumnView *view, const char *title, int column, gboolean size, gboolean expand,
            gboolean expander)
{
  ColumnInfo *info = g_new0 (ColumnInfo, 1);
  info->column = column;
  info->size = size;
  info->expander = expander;
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (setup_label), info);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_label), info);
  GtkColumnViewColumn *col = gtk_column_view_column_new (title, factory);
  g_object_set_data_full (G_OBJECT (col), "ht-info", info, g_free);
  GtkSorter *sorter = GTK_SORTER (gtk_custom_sorter_new (compare_rows, info, NULL));
  gtk_column_view_column_set_sorter (col, sorter);
  g_object_unref (sorter);
  gtk_column_view_column_set_expand (col, expand);
  gtk_column_view_column_set_resizable (col, TRUE);
  gtk_column_view_append_column (view, col);
  g_object_unref (col);
  return col;
}

/* The columns, from titles: the key, the detail when asked, then the values. */
static GtkColumnViewColumn *
add_columns (GtkColumnView *cv, const char *const *titles, gboolean detail_column,
             gboolean expandable, gboolean sortable)
{
  gtk_column_view_set_show_column_separators (cv, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (cv), "data-table");
  GtkColumnViewColumn *key = add_column (cv, titles[0], -2, FALSE, TRUE, expandable);
  gtk_column_view_column_set_fixed_width (key, 300);
  guint first_value = 1;
  if (detail_column)
    {
      add_column (cv, titles[1], -1, FALSE, FALSE, FALSE);
      first_value = 2;
    }
  GtkColumnViewColumn *first_numeric = NULL;
  for (guint i = first_value; titles[i]; i++)
    {
      /* a title ending in " (B)" marks a column of byte counts: shown as sizes with their
       * unit ("12.3 KiB"), so the title itself goes without one */
      gboolean size = g_str_has_suffix (titles[i], " (B)");
      g_autofree char *title = size ? g_strndup (titles[i], strlen (titles[i]) - 4)
                                    : g_strdup (titles[i]);
      GtkColumnViewColumn *c = add_column (cv, title, (int) (i - first_value), size, FALSE,
                                           FALSE);
      if (!first_numeric)
        first_numeric = c;
    }
  if (!sortable)
    {
      GListModel *cols = gtk_column_view_get_columns (cv);
      for (guint i = 0; i < g_list_model_get_n_items (cols); i++)
        {
          g_autoptr (GtkColumnViewColumn) c = g_list_model_get_item (cols, i);
          gtk_column_view_column_set_sorter (c, NULL);
        }
    }
  return first_numeric;
}

static void
set_selection (GtkColumnView *cv, GListModel *model)
{
  GtkSingleSelection *selection = gtk_single_selection_new (model);
  gtk_single_selection_set_autoselect (selection, FALSE);
  gtk_single_selection_set_can_unselect (selection, TRUE);
  gtk_single_selection_set_selected (selection, GTK_INVALID_LIST_POSITION);
  gtk_column_view_set_model (cv, GTK_SELECTION_MODEL (selection));
  g_object_unref (selection);
}

GtkWidget *
ht_table_new (GListStore *store, const char *const *titles, gboolean detail_column,
              GtkFilter *filter, gboolean expandable)
{
  GtkWidget *view = gtk_column_view_new (NULL);
  GtkColumnView *cv = GTK_COLUMN_VIEW (view);
  GtkColumnViewColumn *first_numeric = add_columns (cv, titles, detail_column, expandable, TRUE);
  GListModel *model = G_LIST_MODEL (g_object_ref (store));
  if (filter)
    model = G_LIST_MODEL (gtk_filter_list_model_new (model, g_object_ref (filter)));
  GtkSorter *sorter = g_object_ref (gtk_column_view_get_sorter (cv));
  if (expandable)
    {
      /* rows expand to their traceback; sorting keeps each frame under its row */
      model = G_LIST_MODEL (gtk_tree_list_model_new (model, FALSE, FALSE, traceback_children,
                                                     NULL, NULL));
      sorter = GTK_SORTER (gtk_tree_list_row_sorter_new (sorter));
    }
  set_selection (cv, G_LIST_MODEL (gtk_sort_list_model_new (model, sorter)));
  if (first_numeric)
    gtk_column_view_sort_by_column (cv, first_numeric, GTK_SORT_DESCENDING);
  return view;
}

GtkWidget *
ht_table_new_lazy (GListModel *model, const char *const *titles, gboolean detail_column)
{
  GtkWidget *view = gtk_column_view_new (NULL);
  add_columns (GTK_COLUMN_VIEW (view), titles, detail_column, FALSE, FALSE);
  set_selection (GTK_COLUMN_VIEW (view), g_object_ref (model));
  return view;
}

/* Sorts `table` by its column `index` (0 is the first), largest first. */
void
ht_table_sort_by (GtkWidget *table, guint index)
{
  GListModel *columns = gtk_column_view_get_columns (GTK_COLUMN_VIEW (table));
  g_autoptr (GtkColumnViewColumn) column = g_list_model_get_item (columns, index);
  if (column)
    gtk_column_view_sort_by_column (GTK_COLUMN_VIEW (table), column, GTK_SORT_DESCENDING);
}

HtRow *
ht_table_selected (GtkColumnView *table)
{
  GtkSingleSelection *sel = GTK_SINGLE_SELECTION (gtk_column_view_get_model (table));
  gpointer item = gtk_single_selection_get_selected_item (sel);
  if (!item)
    return NULL;
  HtRow *row = row_of (item);
  g_object_unref (row); /* the model keeps it alive */
  return row;
}

HtRow *
ht_table_row (GtkColumnView *table, guint position)
{
  g_autoptr (GObject) item = g_list_model_get_item (ht_table_visible (table), position);
  return row_of (item);
}

GListModel *
ht_table_visible (GtkColumnView *table)
{
  return G_LIST_MODEL (gtk_column_view_get_model (table));
}
