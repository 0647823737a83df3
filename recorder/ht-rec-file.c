/* ht-rec-file.c - the log file: where it is, how it is opened, and how bytes reach it.
 *
 * The log is opened once (HEAPTRAIL_OUTPUT, or heaptrail.PROG.PID.htr in HEAPTRAIL_DIR),
 * moved to a high descriptor number the program is unlikely to use, and written with
 * write(2) / writev(2) only, O_APPEND, one chunk per call (ht-rec-stream.c), so chunks of
 * different threads never interleave.  A log begins with the file header, or, for an
 * exec'd image that goes on with the log of the image before it, with an IMAGE record.
 *
 * A failure to write sets the recorder's state to OFF after one line on stderr, and the
 * hooks pass through from then on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "ht-rec-private.h"

static int log_fd = -1;
static char log_path[PATH_MAX];
static char log_dir[PATH_MAX]; /* where logs of followed children go */
static char cmdline[16384];

/* Everything from here to the writes below runs on the keeper too (ht-rec-keeper.c):
 * system calls made with the instruction, no errno, no locale. */
void
ht_rec_say (const char *msg)
{
  ht_rec_sys (SYS_write, 2, (long) msg, (long) strlen (msg), 0, 0);
}

void
ht_rec_fail (const char *what, int err)
{
  int expected = HT_REC_ON;
  if (!atomic_compare_exchange_strong (&ht_rec_state, &expected, HT_REC_OFF))
    return;
  ht_rec_say ("heaptrail: ");
  ht_rec_say (what);
  ht_rec_say (": ");
  const char *desc = strerrordesc_np (err);
  ht_rec_say (desc ? desc : "error");
  ht_rec_say ("; recording stopped\n");
}

/* Our own descriptors are closed with the system call: the close() this library exports
 * refuses to close the log. */
void
ht_rec_close (int fd)
{
  ht_rec_sys (SYS_close, fd, 0, 0, 0, 0);
}

static int
move_fd_high (int fd)
{
  struct rlimit rl;
  if (ht_rec_sys (SYS_prlimit64, 0, RLIMIT_NOFILE, 0, (long) &rl, 0) != 0 || rl.rlim_cur < 64)
    return fd;
  int high = (int) ht_rec_sys (SYS_fcntl, fd, F_DUPFD_CLOEXEC,
                               (long) (rl.rlim_cur > 4096 ? 4000 : rl.rlim_cur - 32), 0, 0);
  if (high < 0)
    return fd;
  ht_rec_close (fd);
  return high;
}

/* The program closed our descriptor behind our back (a raw close_range syscall, say):
 * open the log again, appending.  The descriptor lives at a high number, so it is not
 * likely to have been reused by the program in the meantime. */
static bool
reopen_log (void)
{
  int fd = (int) ht_rec_sys (SYS_openat, AT_FDCWD, (long) log_path, O_WRONLY | O_APPEND | O_CLOEXEC,
                             0, 0);
  if (fd < 0)
    return false;
  log_fd = move_fd_high (fd);
  return true;
}

bool
ht_rec_file_write (const void *data, size_t len)
{
  const uint8_t *p = data;
  bool reopened = false;
  while (len > 0)
    {
      long n = ht_rec_sys (SYS_write, log_fd, (long) p, (long) len, 0, 0);
      if (n < 0)
        {
          if (n == -EINTR)
            continue;
          if (n == -EBADF && !reopened && reopen_log ())
            {
              reopened = true;
              continue;
            }
          ht_rec_fail ("cannot write the log", (int) -n);
          return false;
        }
      p += n;
      len -= (size_t) n;
    }
  return true;
}

/* A header and a payload with one writev, so that O_APPEND keeps the chunk whole. */
void
ht_rec_file_write_chunk (struct iovec *iov)
{
  size_t total = iov[0].iov_len + iov[1].iov_len;
  long n;
  do
    n = ht_rec_sys (SYS_writev, log_fd, (long) iov, 2, 0, 0);
  while (n == -EINTR);
  if (n == (long) total)
    return;
  if (n < 0 && !(n == -EBADF && reopen_log ()))
    {
      ht_rec_fail ("cannot write the log", (int) -n);
      return;
    }
  if (n < 0)
    n = 0;
  /* a short write (disk full?): finish byte-wise, or fail trying */
  size_t done = (size_t) n;
  if (done < iov[0].iov_len)
    {
      if (!ht_rec_file_write ((uint8_t *) iov[0].iov_base + done, iov[0].iov_len - done))
        return;
      done = iov[0].iov_len;
    }
  ht_rec_file_write ((uint8_t *) iov[1].iov_base + (done - iov[0].iov_len),
                     iov[1].iov_len - (done - iov[0].iov_len));
}

/* The file header, the program's path and its command line: the start of a new log. */
bool
ht_rec_file_write_header (void)
{
  char exe[PATH_MAX];
  ssize_t exe_len = (ssize_t) ht_rec_program_path (exe, sizeof exe);
  ssize_t cmd_len = (ssize_t) ht_rec_read_cmdline (cmdline, sizeof cmdline);

  struct timespec rt;
  clock_gettime (CLOCK_REALTIME, &rt);
  HtFileHeader h = {
    .version = HT_FORMAT_VERSION,
    .header_size = sizeof h,
    .pid = (uint32_t) getpid (),
    .ppid = (uint32_t) getppid (),
    .clock = ht_rec_use_tsc ? HT_CLOCK_TSC : HT_CLOCK_MONOTONIC,
    .stamp_shift = ht_rec_use_tsc ? HT_STAMP_SHIFT_TSC : HT_STAMP_SHIFT_NS,
    .max_frames = (uint8_t) ht_rec_max_frames,
    .flags = ht_rec_attached ? HT_HEADER_ATTACHED : 0,
    .start_unix_ns = (uint64_t) rt.tv_sec * 1000000000u + (uint64_t) rt.tv_nsec,
    .start_stamp = ht_rec_stamp (),
    .exe_len = (uint32_t) exe_len,
    .cmdline_len = (uint32_t) cmd_len,
  };
  memcpy (h.magic, HT_FILE_MAGIC, sizeof h.magic);
  ht_rec_streams_reset_encoder (ht_rec_control_stream (), h.start_stamp);
  return ht_rec_file_write (&h, sizeof h) && ht_rec_file_write (exe, (size_t) exe_len)
         && ht_rec_file_write (cmdline, (size_t) cmd_len);
}

/* An exec'd image that goes on with the log of the one before: IMAGE names the new
 * program, in place of a header (ht-format.h). */
bool
ht_rec_file_write_image (void)
{
  char exe[PATH_MAX];
  size_t exe_len = ht_rec_program_path (exe, sizeof exe);
  size_t cmd_len = ht_rec_read_cmdline (cmdline, sizeof cmdline);
  HtRecStream *s = ht_rec_control_stream ();
  ht_rec_streams_reset_encoder (s, ht_rec_stamp ());
  ht_rec_stream_lock (s);
  /* one record: 4 KiB of path and 16 KiB of arguments fit a buffer */
  uint8_t *p = ht_rec_record_begin (s, HT_REC_IMAGE, ht_rec_stamp (),
                                    3 * HT_VARINT_MAX + exe_len + cmd_len);
  p += ht_varint_put (p, (uint64_t) getpid ());
  p = ht_bytes_put (p, exe, exe_len);
  ht_rec_record_end (s, ht_bytes_put (p, cmdline, cmd_len));
  ht_rec_stream_flush (s);
  ht_rec_stream_unlock (s);
  return atomic_load (&ht_rec_state) == HT_REC_ON;
}

/* heaptrail.PROG.PID.htr in log_dir, or .2, .3 ... when a previous image of this process
 * (before an exec) already wrote that name.  Returns false, with errno set. */
bool
ht_rec_file_open_default (void)
{
  char exe[PATH_MAX];
  ht_rec_program_path (exe, sizeof exe);
  const char *base = strrchr (exe, '/');
  base = base ? base + 1 : "prog";
  for (int i = 1; i < 1000; i++)
    {
      int n = i == 1 ? snprintf (log_path, sizeof log_path, "%s/heaptrail.%s.%d.htr", log_dir,
                                 base, (int) getpid ())
                     : snprintf (log_path, sizeof log_path, "%s/heaptrail.%s.%d.%d.htr",
                                 log_dir, base, (int) getpid (), i);
      if (n < 0 || (size_t) n >= sizeof log_path)
        {
          errno = ENAMETOOLONG;
          return false;
        }
      int fd = open (log_path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
      if (fd >= 0)
        {
          log_fd = move_fd_high (fd);
          return true;
        }
      if (errno != EEXIST)
        return false;
    }
  errno = EEXIST;
  return false;
}

/* HEAPTRAIL_DIR, or the current directory. */
void
ht_rec_file_set_dir (void)
{
  const char *dir = getenv ("HEAPTRAIL_DIR");
  if (dir && *dir && strlen (dir) < sizeof log_dir)
    memcpy (log_dir, dir, strlen (dir) + 1);
  else if (!getcwd (log_dir, sizeof log_dir))
    snprintf (log_dir, sizeof log_dir, ".");
}

const char *
ht_rec_file_dir (void)
{
  return log_dir;
}

const char *
ht_rec_file_path (void)
{
  return log_path;
}

/* Opens HEAPTRAIL_CONTINUE (an exec'd image going on with its predecessor's log: sets
 * *continuing), else HEAPTRAIL_OUTPUT, else heaptrail.PROG.PID.htr in the log directory.
 * When exec'd programs are followed, HEAPTRAIL_OUTPUT names only the first image's log: it
 * is blanked in place (no allocation) so the next image picks its own name.  Returns
 * false, with a message, when recording cannot start. */
bool
ht_rec_file_open (bool follow_exec, bool *continuing)
{
  char *out = getenv ("HEAPTRAIL_OUTPUT");
  const char *cont = getenv ("HEAPTRAIL_CONTINUE");
  int fd = -1;
  bool opened = false;
  *continuing = false;
  if (cont && *cont && strlen (cont) < sizeof log_path)
    {
      memcpy (log_path, cont, strlen (cont) + 1);
      fd = open (log_path, O_WRONLY | O_APPEND | O_CLOEXEC);
      *continuing = fd >= 0;
      if (out && follow_exec)
        *out = 0;
    }
  else if (out && *out)
    {
      int n = snprintf (log_path, sizeof log_path, "%s", out);
      if (n < 0 || (size_t) n >= sizeof log_path)
        {
          ht_rec_say ("heaptrail: HEAPTRAIL_OUTPUT is too long; not recording\n");
          return false;
        }
      fd = open (log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
      if (follow_exec)
        *out = 0;
    }
  else
    opened = ht_rec_file_open_default ();
  if (fd >= 0)
    {
      log_fd = move_fd_high (fd);
      opened = true;
    }
  if (!opened)
    {
      ht_rec_say ("heaptrail: cannot open ");
      ht_rec_say (log_path);
      ht_rec_say (": ");
      ht_rec_say (strerror (errno));
      ht_rec_say ("; not recording\n");
    }
  return opened;
}

/* A log at `path`, made anew (heaptrail attach, a second time). */
bool
ht_rec_file_open_path (const char *path)
{
  size_t len = strlen (path);
  if (len >= sizeof log_path)
    return false;
  memcpy (log_path, path, len + 1);
  int fd = open (log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    return false;
  log_fd = move_fd_high (fd);
  return true;
}

/* A forked child that is not recorded, or records into a log of its own. */
void
ht_rec_file_forget (void)
{
  if (log_fd >= 0)
    ht_rec_close (log_fd);
  log_fd = -1;
}

int
ht_rec_log_fd (void)
{
  return atomic_load (&ht_rec_state) == HT_REC_ON ? log_fd : -1;
}

/* The program wants our descriptor's number (dup2 onto it): move the log elsewhere. */
void
ht_rec_log_fd_move (void)
{
  int fd = fcntl (log_fd, F_DUPFD_CLOEXEC, log_fd + 1);
  if (fd < 0)
    fd = fcntl (log_fd, F_DUPFD_CLOEXEC, 3);
  if (fd >= 0)
    {
      int old = log_fd;
      log_fd = fd;
      ht_rec_close (old);
    }
}
