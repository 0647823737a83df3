/* ht-cli-base.h - what `heaptrail record` needs, and every command with it: exit codes,
 * errors, files installed beside the executable (cli-base.c), and record itself
 * (cmd-record.c).  GLib alone, so that the lean launcher (launcher.c) that runs `record`
 * loads no more than the program it records has to wait for. */
#pragma once

#include <glib/gi18n.h>
#include <sys/types.h>

enum
{
  EXIT_OK = 0,
  EXIT_FAILURE_ = 1, /* anything else */
  EXIT_USAGE = 2,    /* bad command line */
  EXIT_BAD_INPUT = 3, /* not a log or database, corrupt, or from a newer heaptrail */
  EXIT_IO = 4,       /* cannot read or write a file */
  EXIT_INTERRUPTED = 130,
};

extern const char *prog_name;

/* "heaptrail: FILE: message" on stderr; returns code. */
int fail (int code, const char *file, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

/* The first of `relative` paths (from this executable's directory) that passes `test`, or
 * NULL. */
char *find_beside_self (const char *const *relative, guint n, GFileTest test);
/* The recorder library: $HEAPTRAIL_RECORDER, else the one installed beside us. */
char *find_recorder (void);
/* gettext's domain, bound to the translations installed beside us. */
void setup_gettext (void);

/* heaptrail.PROG.PID.htr */
char *default_log_name (const char *prog, pid_t pid);
/* heaptrail record: takes argv from "record" on. */
int cmd_record (int argc, char **argv);
