/* ht-pycode.c - CPython's location table (Objects/locations.md), read offline.
 *
 * A table is a run of entries, each starting with a byte whose high bit is set:
 * bits 3-6 are a code, bits 0-2 the number of code units it covers, minus one.  The code
 * says how the line changes: 15 no location; 14 long form and 13 no columns carry a signed
 * varint line delta; 10-12 add 0, 1 or 2; 0-9 stay on the line.  The bytes after the first
 * (columns, end lines) are skipped: every entry's first byte is the only one with bit 7.
 * The line starts at the code object's first line.  The same format serves 3.11 to 3.13.
 */
#include "ht-pycode.h"

/* A varint of 6-bit chunks, low first, bit 6 meaning "more". */
static guint
scan_varint (const guint8 *p, const guint8 *end)
{
  guint value = 0, shift = 0;
  while (p < end)
    {
      guint8 b = *p++;
      value |= (guint) (b & 63) << shift;
      if (!(b & 64) || shift > 24)
        break;
      shift += 6;
    }
  return value;
}

static int
line_delta (const guint8 *p, const guint8 *end)
{
  int code = (p[0] >> 3) & 15;
  switch (code)
    {
    case 15:
      return 0;
    case 13:
    case 14:
      {
        guint v = scan_varint (p + 1, end);
        return (v & 1) ? -(int) (v >> 1) : (int) (v >> 1);
      }
    case 10:
    case 11:
    case 12:
      return code - 10;
    default:
      return 0;
    }
}

int
ht_py_code_line (const guint8 *table, gsize len, int first_line, guint offset)
{
  const guint8 *p = table, *end = table + len;
  int line = first_line;
  guint addr = 0; /* code units */
  while (p < end)
    {
      if (!(*p & 128))
        return -1; /* not an entry's first byte: a damaged table */
      line += line_delta (p, end);
      gboolean no_line = ((*p >> 3) & 15) == 15;
      guint next = addr + (guint) (*p & 7) + 1;
      if (offset < next)
        return no_line ? -1 : line;
      addr = next;
      do
        p++;
      while (p < end && !(*p & 128));
    }
  return -1;
}
