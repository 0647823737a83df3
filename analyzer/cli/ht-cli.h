/* ht-cli.h - what the heaptrail commands share (cli-common.c); what `record` needs too is
 * in ht-cli-base.h. */
#pragma once

#include <json-glib/json-glib.h>

#include "ht-cli-base.h"
#include "ht-db.h"
#include "ht-query.h"

int exit_code_for (const GError *error);
void print_warnings (const char *file, const char *warnings);

/* Options that shape the import of a log (a database imported otherwise is imported
 * again), and the ones every grouping command shares. */
extern int import_snapshots;          /* heaptrail import --snapshots N; 0: the default */
extern double import_short_lived_ms;  /* --short-lived MS; 0: the default */
extern char *time_arg;                /* --time FROM..TO as given */
extern double window_from_s, window_to_s; /* parsed; window_to_s 0: the whole run */
extern double time_span_from_s, time_span_to_s; /* what the buckets of --time cover */
gboolean apply_time_range (HtDb *db, HtTopOptions *opt, const char *rec, int *code);
/* time_from_s and time_to_s, the span --time covered, into the object being built */
void json_time_range (JsonBuilder *b);
extern gboolean native_frames;        /* --native: see ht_db_set_native_frames */
extern gboolean json;                 /* --json, for every command that has it */
extern gint64 sample_bytes;           /* the open recording's --sample, or 0 */
extern char **filter_include, **filter_exclude; /* --include / --exclude */

int do_import (const char *log, const char *db_path);
gboolean is_sqlite (const char *path);
/* REC: a database, or a log whose database is (re)built when missing or older.  NULL with
 * *code set (and the error said) when it cannot be opened. */
HtDb *open_recording (const char *rec, int *code);

/* Parses a command's options; FALSE with *code set when they are wrong (the help is shown
 * when the number of arguments is not between min_args and max_args). */
gboolean parse_options (GOptionEntry *entries, const char *params, const char *summary,
                        int *argc, char ***argv, int min_args, int max_args, int *code);
gboolean parse_time_window (void);
void apply_filters (HtTopOptions *opt);

/* Prints the builder's document; a sampled recording's says its figures are estimates. */
void print_json (JsonBuilder *b);
void json_location (JsonBuilder *b, const HtLocation *l);
/* "size_sd" of a sampled recording's stat (ht_sample_deviation); nothing when exact */
void json_size_deviation (JsonBuilder *b, const HtStat *s);

#define JSON_INT(b, k, v)                                                                    \
  G_STMT_START                                                                               \
  {                                                                                          \
    json_builder_set_member_name (b, k);                                                     \
    json_builder_add_int_value (b, (gint64) (v));                                            \
  }                                                                                          \
  G_STMT_END
#define JSON_DBL(b, k, v)                                                                    \
  G_STMT_START                                                                               \
  {                                                                                          \
    json_builder_set_member_name (b, k);                                                     \
    json_builder_add_double_value (b, v);                                                    \
  }                                                                                          \
  G_STMT_END
#define JSON_STR(b, k, v)                                                                    \
  G_STMT_START                                                                               \
  {                                                                                          \
    json_builder_set_member_name (b, k);                                                     \
    json_builder_add_string_value (b, v);                                                    \
  }                                                                                          \
  G_STMT_END
#define HT_TIME_ENTRY                                                                        \
  { "time", 0, 0, G_OPTION_ARG_STRING, &time_arg,                                            \
    N_("Only the allocations made between FROM and TO seconds (1.5..3, ..2s, 4..)"),        \
    N_("FROM..TO") }
#define HT_SHORT_LIVED_ENTRY                                                                 \
  { "short-lived", 0, 0, G_OPTION_ARG_DOUBLE, &import_short_lived_ms,                        \
    N_("Count blocks freed within MS milliseconds as short-lived (default 1)"), "MS" }
#define HT_FILTER_ENTRIES                                                                    \
  { "include", 0, 0, G_OPTION_ARG_STRING_ARRAY, &filter_include,                             \
    N_("Only allocations called from a source file or module matching GLOB (repeatable)"),  \
    N_("GLOB") },                                                                            \
  { "exclude", 0, 0, G_OPTION_ARG_STRING_ARRAY, &filter_exclude,                             \
    N_("Leave out allocations called from a source file or module matching GLOB"),           \
    N_("GLOB") },                                                                            \
  { "native", 0, 0, G_OPTION_ARG_NONE, &native_frames,                                       \
    N_("Show the C frames of Python programs too, not only the Python ones"), NULL }

/* cli-print.c: tracemalloc's text, shared by top, diff and leaks */
gboolean parse_group (const char *by, HtGroupBy *out);
void print_source_line (const char *file, guint line);
void print_traceback (GPtrArray *frames);
void print_stat (const HtStat *s);

/* The commands, one a file (cmd-NAME.c): each takes argv from its own name on. */
int cmd_import (int argc, char **argv);
int cmd_summary (int argc, char **argv);
int cmd_top (int argc, char **argv);
int cmd_snapshots (int argc, char **argv);
int cmd_diff (int argc, char **argv);
int cmd_leaks (int argc, char **argv);
int cmd_growth (int argc, char **argv);
int cmd_snapshot (int argc, char **argv);
int cmd_backrefs (int argc, char **argv);
int cmd_refs (int argc, char **argv);
int cmd_chain (int argc, char **argv);
int cmd_export (int argc, char **argv);
int cmd_check (int argc, char **argv);
int cmd_attach (int argc, char **argv);
