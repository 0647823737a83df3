/* ht-snapshot-pair.c - two snapshot pickers, for the views that compare snapshots. */
#include "ht-gui.h"
#include "ht-snapshot-pair.h"

struct _HtSnapshotPair
{
  GtkBox parent_instance;

  /* template children */
  GtkDropDown *a, *b;
  GtkLabel *hint;
  GtkStringList *labels;

  gboolean filling; /* set_snapshots is choosing: no "changed" for each step */
  GArray *times;    /* each snapshot's time (double), in the lists' order */
  guint first, last; /* the default pair */
};

G_DEFINE_FINAL_TYPE (HtSnapshotPair, ht_snapshot_pair, GTK_TYPE_BOX)

enum
{
  CHANGED,
  N_SIGNALS,
};
static guint signals[N_SIGNALS];

static void
pick_changed (HtSnapshotPair *self)
{
  if (!self->filling)
    g_signal_emit (self, signals[CHANGED], 0);
}

static void
ht_snapshot_pair_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), HT_TYPE_SNAPSHOT_PAIR);
  g_clear_pointer (&HT_SNAPSHOT_PAIR (object)->times, g_array_unref);
  G_OBJECT_CLASS (ht_snapshot_pair_parent_class)->dispose (object);
}

static void
ht_snapshot_pair_class_init (HtSnapshotPairClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = ht_snapshot_pair_dispose;
  gtk_widget_class_set_template_from_resource (
    widget_class, "/org/heaptrail/Heaptrail/gtk/ht-snapshot-pair.ui");
  gtk_widget_class_bind_template_child (widget_class, HtSnapshotPair, a);
  gtk_widget_class_bind_template_child (widget_class, HtSnapshotPair, b);
  gtk_widget_class_bind_template_child (widget_class, HtSnapshotPair, hint);
  gtk_widget_class_bind_template_child (widget_class, HtSnapshotPair, labels);
  gtk_widget_class_bind_template_callback (widget_class, pick_changed);
  /* the pair of snapshots changed, by the user or by ht_snapshot_pair_pick() */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
ht_snapshot_pair_init (HtSnapshotPair *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

void
ht_snapshot_pair_set_snapshots (HtSnapshotPair *self, GPtrArray *snapshots)
{
  guint n = snapshots->len;
  /* the program's own snapshots when it took two or more (its first and last), else the
   * whole run: the first snapshot to the end */
  guint first = 0, last = n ? n - 1 : 0, own = 0;
  for (guint i = 0; i < n; i++)
    if (g_str_equal (((HtSnapshotInfo *) snapshots->pdata[i])->kind, "snapshot"))
      {
        if (own++ == 0)
          first = i;
        else
          last = i;
      }
  if (own < 2)
    {
      first = 0;
      last = n ? n - 1 : 0;
    }
  self->first = first;
  self->last = last;
  g_clear_pointer (&self->times, g_array_unref);
  self->times = g_array_sized_new (FALSE, FALSE, sizeof (double), n);
  self->filling = TRUE;
  gtk_string_list_splice (self->labels, 0, g_list_model_get_n_items (G_LIST_MODEL (self->labels)),
                          NULL);
  for (guint i = 0; i < n; i++)
    {
      const HtSnapshotInfo *s = snapshots->pdata[i];
      gtk_string_list_append (self->labels, s->label);
      g_array_append_val (self->times, s->time_s);
    }
  ht_snapshot_pair_pick (self, first, last);
}

void
ht_snapshot_pair_set_hint (HtSnapshotPair *self, const char *hint)
{
  gtk_label_set_text (self->hint, hint);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->hint), hint);
}

static const char *
selected_label (GtkDropDown *d)
{
  GtkStringObject *o = gtk_drop_down_get_selected_item (d);
  return o ? gtk_string_object_get_string (o) : NULL;
}

const char *
ht_snapshot_pair_get_a (HtSnapshotPair *self)
{
  return selected_label (self->a);
}

const char *
ht_snapshot_pair_get_b (HtSnapshotPair *self)
{
  return selected_label (self->b);
}

void
ht_snapshot_pair_pick (HtSnapshotPair *self, guint a, guint b)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->labels));
  if (n == 0)
    return;
  self->filling = TRUE; /* one "changed" for both */
  gtk_drop_down_set_selected (self->a, MIN (a, n - 1));
  gtk_drop_down_set_selected (self->b, MIN (b, n - 1));
  self->filling = FALSE;
  g_signal_emit (self, signals[CHANGED], 0);
}

void
ht_snapshot_pair_set_time_range (HtSnapshotPair *self, double from, double to)
{
  guint n = self->times ? self->times->len : 0;
  if (n == 0)
    return;
  if (to <= from)
    {
      ht_snapshot_pair_pick (self, self->first, self->last);
      return;
    }
  /* the latest snapshot at or before the range, the earliest at or after it */
  guint a = 0, b = n - 1;
  for (guint i = 0; i < n; i++)
    {
      double t = g_array_index (self->times, double, i);
      if (t <= from)
        a = i;
      if (t >= to && b == n - 1)
        {
          b = i;
          break;
        }
    }
  if (b <= a)
    b = MIN (a + 1, n - 1);
  ht_snapshot_pair_pick (self, a, b);
}
