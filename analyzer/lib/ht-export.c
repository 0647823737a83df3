/* ht-export.c - a recording in the formats other tools read.
 *
 *   collapsed   one "outer;...;inner VALUE" line per stack: flamegraph.pl, inferno
 *   speedscope  speedscope's file format (its JSON schema): one profile of the bytes live at
 *               a moment, one of the bytes allocated over the run
 *   massif      a massif.out file: the heap over time, each snapshot with its allocation
 *               tree, for ms_print and massif-visualizer
 *   pprof       a gzipped profile.proto with alloc_objects, alloc_space, inuse_objects and
 *               inuse_space: pprof, Pyroscope, and what reads Go's heap profiles
 *
 * Every format is built from the same stacks `top --by traceback` groups by (filters and
 * --native apply), so its totals are summary's.  Each returns the file's bytes.
 */
#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "ht-export.h"
#include "profile.pb-c.h"

typedef struct
{
  GPtrArray *frames; /* HtLocation*, innermost first; owned by the HtStat arrays kept */
  guint64 alloc_count, alloc_bytes, live_count, live_bytes;
} HtExportStack;

typedef struct
{
  GPtrArray *stacks; /* HtExportStack* */
  GPtrArray *kept;   /* the HtStat arrays the frames belong to */
  guint64 alloc_count, alloc_bytes, live_count, live_bytes;
} HtExportData;

static void
export_data_clear (HtExportData *d)
{
  g_clear_pointer (&d->stacks, g_ptr_array_unref);
  g_clear_pointer (&d->kept, g_ptr_array_unref);
}

/* Each stack's allocations over the run and its blocks live at `at`. */
static gboolean
collect (HtDb *db, const HtExportOptions *o, HtExportData *d, GError **error)
{
  memset (d, 0, sizeof *d);
  d->stacks = g_ptr_array_new_with_free_func (g_free);
  d->kept = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  g_autoptr (GHashTable) by_match = g_hash_table_new (g_str_hash, g_str_equal);
  for (int pass = 0; pass < 2; pass++)
    {
      HtTopOptions top = { .by = HT_GROUP_TRACEBACK, .allocations = pass == 0,
                           .at = pass == 0 ? NULL : o->at };
      if (o->filters)
        {
          top.include = o->filters->include;
          top.exclude = o->filters->exclude;
        }
      GPtrArray *stats = ht_query_top (db, &top, error);
      if (!stats)
        {
          export_data_clear (d);
          return FALSE;
        }
      g_ptr_array_add (d->kept, stats);
      for (guint i = 0; i < stats->len; i++)
        {
          const HtStat *s = stats->pdata[i];
          HtExportStack *st = g_hash_table_lookup (by_match, s->match);
          if (!st)
            {
              st = g_new0 (HtExportStack, 1);
              st->frames = s->traceback;
              g_hash_table_insert (by_match, s->match, st);
              g_ptr_array_add (d->stacks, st);
            }
          if (pass == 0)
            {
              st->alloc_count += s->count;
              st->alloc_bytes += s->size;
              d->alloc_count += s->count;
              d->alloc_bytes += s->size;
            }
          else
            {
              st->live_count += s->count;
              st->live_bytes += s->size;
              d->live_count += s->count;
              d->live_bytes += s->size;
            }
        }
    }
  return TRUE;
}

static const char *
frame_name (const HtLocation *l)
{
  return l->function ? l->function : "??";
}

/* What makes two frames one: function, file and line (as `diff` matches them). */
static char *
frame_key (const HtLocation *l)
{
  return g_strdup_printf ("%s\1%s\1%u", frame_name (l), l->file ? l->file : "", l->line);
}

/* ---------------------------------------------------------------------------------------
 * collapsed
 */
GBytes *
ht_export_collapsed (HtDb *db, const HtExportOptions *o, GError **error)
{
  HtExportData d;
  if (!collect (db, o, &d, error))
    return NULL;
  GString *out = g_string_new (NULL);
  for (guint i = 0; i < d.stacks->len; i++)
    {
      const HtExportStack *st = d.stacks->pdata[i];
      guint64 value = o->allocations ? (o->count ? st->alloc_count : st->alloc_bytes)
                                     : (o->count ? st->live_count : st->live_bytes);
      if (!value)
        continue;
      for (guint k = st->frames->len; k-- > 0;)
        {
          /* ';' separates frames and the last space the value: neither may be in a name */
          g_autofree char *name = g_strdup (frame_name (st->frames->pdata[k]));
          g_strdelimit (name, "; \t\n", '_');
          g_string_append (out, name);
          g_string_append_c (out, k ? ';' : ' ');
        }
      g_string_append_printf (out, "%" G_GUINT64_FORMAT "\n", value);
    }
  export_data_clear (&d);
  return g_string_free_to_bytes (out);
}

/* ---------------------------------------------------------------------------------------
 * speedscope: https://www.speedscope.app/file-format-schema.json
 */
typedef struct
{
  GHashTable *index; /* "function\1file\1line" -> index + 1 */
  JsonBuilder *frames;
  guint n;
} HtFrameTable;

static guint
frame_index (HtFrameTable *t, const HtLocation *l)
{
  g_autofree char *key = frame_key (l);
  gpointer v = g_hash_table_lookup (t->index, key);
  if (v)
    return GPOINTER_TO_UINT (v) - 1;
  json_builder_begin_object (t->frames);
  json_builder_set_member_name (t->frames, "name");
  json_builder_add_string_value (t->frames, frame_name (l));
  if (l->file)
    {
      json_builder_set_member_name (t->frames, "file");
      json_builder_add_string_value (t->frames, l->file);
      json_builder_set_member_name (t->frames, "line");
      json_builder_add_int_value (t->frames, l->line);
    }
  json_builder_end_object (t->frames);
  g_hash_table_insert (t->index, g_steal_pointer (&key), GUINT_TO_POINTER (++t->n));
  return t->n - 1;
}

static void
speedscope_profile (JsonBuilder *b, HtFrameTable *frames, const HtExportData *d,
                    const char *name, gboolean live)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "sampled");
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, name);
  json_builder_set_member_name (b, "unit");
  json_builder_add_string_value (b, "bytes");
  json_builder_set_member_name (b, "startValue");
  json_builder_add_int_value (b, 0);
  json_builder_set_member_name (b, "endValue");
  json_builder_add_int_value (b, (gint64) (live ? d->live_bytes : d->alloc_bytes));
  json_builder_set_member_name (b, "samples");
  json_builder_begin_array (b);
  g_autoptr (GArray) weights = g_array_new (FALSE, FALSE, sizeof (guint64));
  for (guint i = 0; i < d->stacks->len; i++)
    {
      const HtExportStack *st = d->stacks->pdata[i];
      guint64 w = live ? st->live_bytes : st->alloc_bytes;
      if (!w)
        continue;
      json_builder_begin_array (b); /* outermost frame first */
      for (guint k = st->frames->len; k-- > 0;)
        json_builder_add_int_value (b, frame_index (frames, st->frames->pdata[k]));
      json_builder_end_array (b);
      g_array_append_val (weights, w);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "weights");
  json_builder_begin_array (b);
  for (guint i = 0; i < weights->len; i++)
    json_builder_add_int_value (b, (gint64) g_array_index (weights, guint64, i));
  json_builder_end_array (b);
  json_builder_end_object (b);
}

GBytes *
ht_export_speedscope (HtDb *db, const HtExportOptions *o, GError **error)
{
  HtExportData d;
  if (!collect (db, o, &d, error))
    return NULL;
  g_autofree char *cmd = ht_db_meta_string (db, "command_line");
  HtFrameTable frames = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
                          json_builder_new (), 0 };
  json_builder_begin_array (frames.frames);
  /* the profiles first (they fill the frame table), then the document around them */
  g_autoptr (JsonBuilder) profiles = json_builder_new ();
  json_builder_begin_array (profiles);
  g_autofree char *live_name = g_strdup_printf ("live at %s", o->at ? o->at : "peak");
  speedscope_profile (profiles, &frames, &d, live_name, TRUE);
  speedscope_profile (profiles, &frames, &d, "allocated over the run", FALSE);
  json_builder_end_array (profiles);
  json_builder_end_array (frames.frames);

  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "$schema");
  json_builder_add_string_value (b, "https://www.speedscope.app/file-format-schema.json");
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, cmd ? cmd : "heaptrail");
  json_builder_set_member_name (b, "exporter");
  json_builder_add_string_value (b, "heaptrail");
  json_builder_set_member_name (b, "activeProfileIndex");
  json_builder_add_int_value (b, o->allocations ? 1 : 0);
  json_builder_set_member_name (b, "shared");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "frames");
  json_builder_add_value (b, json_builder_get_root (frames.frames));
  json_builder_end_object (b);
  json_builder_set_member_name (b, "profiles");
  json_builder_add_value (b, json_builder_get_root (profiles));
  json_builder_end_object (b);

  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, root);
  gsize len = 0;
  char *text = json_generator_to_data (gen, &len);
  g_hash_table_unref (frames.index);
  g_object_unref (frames.frames);
  export_data_clear (&d);
  return g_bytes_new_take (text, len);
}

/* ---------------------------------------------------------------------------------------
 * massif.out: what `valgrind --tool=massif` writes, read by ms_print and massif-visualizer
 */
typedef struct HtMassifNode HtMassifNode;
struct HtMassifNode
{
  const HtLocation *location; /* NULL for the root */
  guint64 bytes;
  GPtrArray *children; /* HtMassifNode* */
};

static void
massif_node_free (gpointer p)
{
  HtMassifNode *n = p;
  if (n->children)
    g_ptr_array_unref (n->children);
  g_free (n);
}

static HtMassifNode *
massif_child (HtMassifNode *n, const HtLocation *l)
{
  if (!n->children)
    n->children = g_ptr_array_new_with_free_func (massif_node_free);
  for (guint i = 0; i < n->children->len; i++)
    {
      HtMassifNode *c = n->children->pdata[i];
      if (c->location == l
          || (g_strcmp0 (frame_name (c->location), frame_name (l)) == 0
              && g_strcmp0 (c->location->file, l->file) == 0 && c->location->line == l->line))
        return c;
    }
  HtMassifNode *c = g_new0 (HtMassifNode, 1);
  c->location = l;
  g_ptr_array_add (n->children, c);
  return c;
}

static gint
massif_by_bytes (gconstpointer a, gconstpointer b)
{
  const HtMassifNode *x = *(HtMassifNode *const *) a, *y = *(HtMassifNode *const *) b;
  return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

/* One tree line and its children, as massif writes them: children under 1% of the total
 * are summed into one "in N places" line. */
static void
massif_write_node (GString *out, const HtMassifNode *n, int depth, guint64 total)
{
  guint64 threshold = total / 100, below = 0;
  guint shown = 0, hidden = 0;
  if (n->children)
    {
      g_ptr_array_sort (n->children, massif_by_bytes);
      for (guint i = 0; i < n->children->len; i++)
        {
          const HtMassifNode *c = n->children->pdata[i];
          if (c->bytes >= threshold && c->bytes > 0)
            shown++;
          else
            {
              hidden++;
              below += c->bytes;
            }
        }
    }
  guint lines = shown + (hidden ? 1 : 0);
  g_string_append_printf (out, "%*sn%u: %" G_GUINT64_FORMAT " ", depth, "", lines, n->bytes);
  if (!n->location)
    g_string_append (out, "(heap allocation functions) malloc/new/new[], --alloc-fns, etc.\n");
  else if (n->location->file)
    g_string_append_printf (out, "0x0: %s (%s:%u)\n", frame_name (n->location),
                            n->location->file, n->location->line);
  else
    g_string_append_printf (out, "0x0: %s (in %s)\n", frame_name (n->location),
                            n->location->module ? n->location->module : "???");
  for (guint i = 0; i < shown; i++)
    massif_write_node (out, n->children->pdata[i], depth + 1, total);
  if (hidden == 1)
    g_string_append_printf (out, "%*sn0: %" G_GUINT64_FORMAT " in 1 place, below massif's "
                            "threshold (1.00%%)\n", depth + 1, "", below);
  else if (hidden)
    g_string_append_printf (out, "%*sn0: %" G_GUINT64_FORMAT " in %u places, all below "
                            "massif's threshold (1.00%%)\n", depth + 1, "", below, hidden);
}

GBytes *
ht_export_massif (HtDb *db, const HtExportOptions *o, GError **error)
{
  g_autoptr (GPtrArray) snaps = ht_query_snapshots (db, error);
  if (!snaps)
    return NULL;
  g_autofree char *cmd = ht_db_meta_string (db, "command_line");
  GString *out = g_string_new (NULL);
  g_string_append_printf (out, "desc: (recorded by heaptrail)\ncmd: %s\ntime_unit: ms\n",
                          cmd ? cmd : "?");
  guint number = 0;
  double last_ms = 0;
  for (guint i = 0; i < snaps->len; i++)
    {
      const HtSnapshotInfo *s = snaps->pdata[i];
      HtTopOptions top = { .by = HT_GROUP_TRACEBACK, .at = s->label };
      if (o->filters)
        {
          top.include = o->filters->include;
          top.exclude = o->filters->exclude;
        }
      g_autoptr (GPtrArray) stats = ht_query_top (db, &top, error);
      if (!stats)
        {
          g_string_free (out, TRUE);
          return NULL;
        }
      HtMassifNode root = { 0 };
      for (guint k = 0; k < stats->len; k++)
        {
          const HtStat *st = stats->pdata[k];
          root.bytes += st->size;
          HtMassifNode *n = &root;
          for (guint f = 0; f < st->traceback->len; f++)
            {
              n = massif_child (n, st->traceback->pdata[f]);
              n->bytes += st->size;
            }
        }
      double ms = MAX (last_ms, s->time_s * 1000);
      last_ms = ms;
      g_string_append_printf (out,
                              "#-----------\nsnapshot=%u\n#-----------\ntime=%.0f\n"
                              "mem_heap_B=%" G_GUINT64_FORMAT "\nmem_heap_extra_B=0\n"
                              "mem_stacks_B=0\nheap_tree=%s\n",
                              number++, ms, root.bytes,
                              g_strcmp0 (s->kind, "peak") == 0 ? "peak" : "detailed");
      massif_write_node (out, &root, 0, root.bytes);
      if (root.children)
        g_ptr_array_unref (root.children);
    }
  return g_string_free_to_bytes (out);
}

/* ---------------------------------------------------------------------------------------
 * pprof: a gzipped profile.proto, written with protobuf-c
 */
typedef struct
{
  GPtrArray *strings; /* char*, owned */
  GHashTable *string_index;
  GPtrArray *functions, *locations; /* protobuf-c messages, owned */
  GHashTable *location_index;       /* "function\1file\1line" -> location id */
} HtPprof;

static int64_t
pprof_string (HtPprof *p, const char *s)
{
  if (!s)
    s = "";
  gpointer v;
  if (g_hash_table_lookup_extended (p->string_index, s, NULL, &v))
    return GPOINTER_TO_INT (v);
  char *copy = g_strdup (s);
  g_ptr_array_add (p->strings, copy);
  g_hash_table_insert (p->string_index, copy, GINT_TO_POINTER (p->strings->len - 1));
  return p->strings->len - 1;
}

static uint64_t
pprof_location (HtPprof *p, const HtLocation *l)
{
  g_autofree char *key = frame_key (l);
  gpointer v = g_hash_table_lookup (p->location_index, key);
  if (v)
    return GPOINTER_TO_UINT (v);
  Perftools__Profiles__Function *f = g_new0 (Perftools__Profiles__Function, 1);
  perftools__profiles__function__init (f);
  f->id = p->functions->len + 1;
  f->name = f->system_name = pprof_string (p, frame_name (l));
  f->filename = pprof_string (p, l->file ? l->file : l->module);
  g_ptr_array_add (p->functions, f);
  Perftools__Profiles__Line *line = g_new0 (Perftools__Profiles__Line, 1);
  perftools__profiles__line__init (line);
  line->function_id = f->id;
  line->line = l->line;
  Perftools__Profiles__Location *loc = g_new0 (Perftools__Profiles__Location, 1);
  perftools__profiles__location__init (loc);
  loc->id = p->locations->len + 1;
  loc->n_line = 1;
  loc->line = g_new (Perftools__Profiles__Line *, 1);
  loc->line[0] = line;
  g_ptr_array_add (p->locations, loc);
  g_hash_table_insert (p->location_index, g_steal_pointer (&key), GUINT_TO_POINTER (loc->id));
  return loc->id;
}

static void
pprof_location_free (gpointer data)
{
  Perftools__Profiles__Location *loc = data;
  g_free (loc->line[0]);
  g_free (loc->line);
  g_free (loc);
}

static Perftools__Profiles__ValueType *
pprof_value_type (HtPprof *p, const char *type, const char *unit)
{
  Perftools__Profiles__ValueType *v = g_new0 (Perftools__Profiles__ValueType, 1);
  perftools__profiles__value_type__init (v);
  v->type = pprof_string (p, type);
  v->unit = pprof_string (p, unit);
  return v;
}

GBytes *
ht_export_pprof (HtDb *db, const HtExportOptions *o, GError **error)
{
  HtExportData d;
  if (!collect (db, o, &d, error))
    return NULL;
  HtPprof p = { g_ptr_array_new_with_free_func (g_free),
                g_hash_table_new (g_str_hash, g_str_equal),
                g_ptr_array_new_with_free_func (g_free),
                g_ptr_array_new_with_free_func (pprof_location_free),
                g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL) };
  pprof_string (&p, ""); /* index 0 */

  Perftools__Profiles__Profile profile;
  perftools__profiles__profile__init (&profile);
  static const char *const types[4][2] = { { "alloc_objects", "count" },
                                           { "alloc_space", "bytes" },
                                           { "inuse_objects", "count" },
                                           { "inuse_space", "bytes" } };
  Perftools__Profiles__ValueType *sample_types[4];
  for (int i = 0; i < 4; i++)
    sample_types[i] = pprof_value_type (&p, types[i][0], types[i][1]);
  profile.n_sample_type = 4;
  profile.sample_type = sample_types;
  profile.default_sample_type = pprof_string (&p, o->allocations ? "alloc_space" : "inuse_space");
  Perftools__Profiles__ValueType *period = pprof_value_type (&p, "space", "bytes");
  profile.period_type = period;
  profile.period = 1;
  profile.time_nanos = ht_db_meta_int (db, "start_unix_ns");
  profile.duration_nanos = (int64_t) (ht_db_meta_double (db, "duration_s") * 1e9);
  g_autofree char *cmd = ht_db_meta_string (db, "command_line");
  g_autofree char *at_note = g_strdup_printf ("heaptrail: inuse_* are the blocks live at %s; "
                                              "%s", o->at ? o->at : "peak", cmd ? cmd : "");
  int64_t comment = pprof_string (&p, at_note);
  profile.n_comment = 1;
  profile.comment = &comment;

  g_autoptr (GPtrArray) samples = g_ptr_array_new ();
  for (guint i = 0; i < d.stacks->len; i++)
    {
      const HtExportStack *st = d.stacks->pdata[i];
      Perftools__Profiles__Sample *s = g_new0 (Perftools__Profiles__Sample, 1);
      perftools__profiles__sample__init (s);
      s->n_location_id = st->frames->len;
      s->location_id = g_new (uint64_t, MAX (st->frames->len, 1));
      for (guint k = 0; k < st->frames->len; k++) /* innermost first, as pprof wants */
        s->location_id[k] = pprof_location (&p, st->frames->pdata[k]);
      s->n_value = 4;
      s->value = g_new (int64_t, 4);
      s->value[0] = (int64_t) st->alloc_count;
      s->value[1] = (int64_t) st->alloc_bytes;
      s->value[2] = (int64_t) st->live_count;
      s->value[3] = (int64_t) st->live_bytes;
      g_ptr_array_add (samples, s);
    }
  profile.n_sample = samples->len;
  profile.sample = (Perftools__Profiles__Sample **) samples->pdata;
  profile.n_function = p.functions->len;
  profile.function = (Perftools__Profiles__Function **) p.functions->pdata;
  profile.n_location = p.locations->len;
  profile.location = (Perftools__Profiles__Location **) p.locations->pdata;
  profile.n_string_table = p.strings->len;
  profile.string_table = (char **) p.strings->pdata;

  gsize len = perftools__profiles__profile__get_packed_size (&profile);
  g_autofree guint8 *packed = g_malloc (MAX (len, 1));
  perftools__profiles__profile__pack (&profile, packed);

  /* gzip, as pprof reads it (and GIO has the compressor) */
  g_autoptr (GZlibCompressor) gz = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 9);
  g_autoptr (GOutputStream) mem = g_memory_output_stream_new_resizable ();
  g_autoptr (GOutputStream) zout = g_converter_output_stream_new (mem, G_CONVERTER (gz));
  gboolean ok = g_output_stream_write_all (zout, packed, len, NULL, NULL, error)
                && g_output_stream_close (zout, NULL, error);
  GBytes *result = ok ? g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (mem))
                      : NULL;

  for (guint i = 0; i < samples->len; i++)
    {
      Perftools__Profiles__Sample *s = samples->pdata[i];
      g_free (s->location_id);
      g_free (s->value);
      g_free (s);
    }
  for (int i = 0; i < 4; i++)
    g_free (sample_types[i]);
  g_free (period);
  g_ptr_array_unref (p.strings);
  g_hash_table_unref (p.string_index);
  g_ptr_array_unref (p.functions);
  g_ptr_array_unref (p.locations);
  g_hash_table_unref (p.location_index);
  export_data_clear (&d);
  return result;
}
