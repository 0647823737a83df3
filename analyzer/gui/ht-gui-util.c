/* ht-gui-util.c - small pieces the views share. */
#include "ht-gui.h"

/* A view's stand-in when the recording lacks what it shows: why, and how to get it. */
GtkWidget *
ht_unavailable_new (const char *why, const char *how)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  gtk_widget_set_valign (box, GTK_ALIGN_CENTER);
  gtk_widget_set_halign (box, GTK_ALIGN_CENTER);
  GtkWidget *icon = gtk_image_new_from_icon_name ("dialog-information-symbolic");
  gtk_image_set_pixel_size (GTK_IMAGE (icon), 48);
  gtk_box_append (GTK_BOX (box), icon);
  GtkWidget *title = gtk_label_new (why);
  gtk_widget_add_css_class (title, "title-2");
  gtk_box_append (GTK_BOX (box), title);
  GtkWidget *hint = gtk_label_new (how);
  gtk_label_set_selectable (GTK_LABEL (hint), TRUE);
  gtk_widget_add_css_class (hint, "dim-label");
  gtk_box_append (GTK_BOX (box), hint);
  return box;
}

/* A traceback as text, innermost frame first: the function, then where it is. */
char *
ht_traceback_text (GPtrArray *tb)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; tb && i < tb->len; i++)
    {
      const HtLocation *l = tb->pdata[i];
      if (!l->file) /* no source: the function is all there is to say, once */
        {
          g_string_append_printf (s, "%s\n", l->function);
          continue;
        }
      g_autofree char *where = ht_location_format (l);
      g_string_append_printf (s, "%s\n    %s\n", l->function, where);
    }
  return g_string_free (s, FALSE);
}

static gboolean
lazy_tooltip_query (GtkWidget *w, int x, int y, gboolean keyboard, GtkTooltip *tooltip,
                    gpointer data)
{
  (void) x;
  (void) y;
  (void) keyboard;
  (void) data;
  const char *text = g_object_get_data (G_OBJECT (w), "ht-tooltip");
  if (!text || !*text)
    return FALSE;
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

void
ht_set_lazy_tooltip (GtkWidget *w, const char *text)
{
  if (!g_object_get_data (G_OBJECT (w), "ht-tooltip-set"))
    {
      g_object_set_data (G_OBJECT (w), "ht-tooltip-set", GINT_TO_POINTER (1));
      g_signal_connect (w, "query-tooltip", G_CALLBACK (lazy_tooltip_query), NULL);
      gtk_widget_set_has_tooltip (w, TRUE);
    }
  g_object_set_data_full (G_OBJECT (w), "ht-tooltip", g_strdup (text), g_free);
}
