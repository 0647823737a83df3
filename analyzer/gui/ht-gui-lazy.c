/* ht-gui-lazy.c - HtBlockList: a heap graph's blocks, fetched from SQLite as they are shown.
 *
 * GtkColumnView asks for the items it draws (a screenful, plus what it keeps around); each
 * ask maps to a page of 256 rows, read by the analyzer library (ht_block_pages_read: one
 * indexed query) and kept while a handful of pages are; further away, pages are read again.
 * The view knows nothing of the database's tables.
 */
#include "ht-graph.h"
#include "ht-gui.h"

#define PAGE 256
#define PAGES_KEPT 32

struct _HtBlockList
{
  GObject parent;
  HtDb *db; /* borrowed: the views own it and outlive their models */
  gint64 snapshot;
  guint n;
  HtBlockPages *source;
  HtTraceNames *names;
  GHashTable *pages; /* page number -> GPtrArray of HtRow */
  guint pages_read;
};

static void ht_block_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (HtBlockList, ht_block_list, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      ht_block_list_model_init))

static void
ht_block_list_finalize (GObject *object)
{
  HtBlockList *self = HT_BLOCK_LIST (object);
  ht_block_pages_free (self->source);
  ht_trace_names_free (self->names);
  g_hash_table_unref (self->pages);
  G_OBJECT_CLASS (ht_block_list_parent_class)->finalize (object);
}

static void
ht_block_list_class_init (HtBlockListClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = ht_block_list_finalize;
}

static void
ht_block_list_init (HtBlockList *self)
{
  self->pages = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_ptr_array_unref);
}

static GType
get_item_type (GListModel *model)
{
  (void) model;
  return HT_TYPE_ROW;
}

static guint
get_n_items (GListModel *model)
{
  return HT_BLOCK_LIST (model)->n;
}

static GPtrArray *
read_page (HtBlockList *self, guint page)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func (g_object_unref);
  if (!self->source)
    return rows;
  g_autoptr (GArray) blocks = ht_block_pages_read (self->source, page * PAGE, PAGE);
  for (guint i = 0; i < blocks->len; i++)
    {
      const HtGraphBlock *b = &g_array_index (blocks, HtGraphBlock, i);
      char addr[32];
      g_snprintf (addr, sizeof addr, "0x%llx", (unsigned long long) b->address);
      const HtLocation *site = !b->type && self->names && b->trace_id
                                 ? ht_trace_names_site (self->names, b->trace_id)
                                 : NULL;
      HtRow *row = ht_row_new (addr, b->type ? b->type : site ? site->function : "?");
      row->address = b->address;
      row->values[0] = (gint64) b->size;
      row->values[1] = (gint64) b->retained;
      row->values[2] = b->reach;
      g_ptr_array_add (rows, row);
    }
  self->pages_read++;
  return rows;
}

static gpointer
get_item (GListModel *model, guint position)
{
  HtBlockList *self = HT_BLOCK_LIST (model);
  if (position >= self->n)
    return NULL;
  guint page = position / PAGE;
  GPtrArray *rows = g_hash_table_lookup (self->pages, GUINT_TO_POINTER (page + 1));
  if (!rows)
    {
      if (g_hash_table_size (self->pages) >= PAGES_KEPT)
        g_hash_table_remove_all (self->pages);
      rows = read_page (self, page);
      g_hash_table_insert (self->pages, GUINT_TO_POINTER (page + 1), rows);
    }
  guint i = position % PAGE;
  return i < rows->len ? g_object_ref (rows->pdata[i]) : ht_row_new ("?", NULL);
}

static void
ht_block_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = get_item_type;
  iface->get_n_items = get_n_items;
  iface->get_item = get_item;
}

HtBlockList *
ht_block_list_new (HtDb *db, gint64 snapshot, guint n_blocks)
{
  HtBlockList *self = g_object_new (HT_TYPE_BLOCK_LIST, NULL);
  self->db = db;
  self->snapshot = snapshot;
  self->n = n_blocks;
  self->names = ht_trace_names_new (db, NULL);
  self->source = ht_block_pages_new (db, snapshot, NULL);
  if (!self->source)
    self->n = 0;
  return self;
}

guint
ht_block_list_pages_read (HtBlockList *self)
{
  return self->pages_read;
}
