/* fixture-exit.c - echoes a line of stdin and exits with the status given as argument. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main (int argc, char **argv)
{
  char *line = NULL;
  size_t cap = 0;
  if (getline (&line, &cap, stdin) > 0)
    printf ("read: %s", line);
  free (line);
  return argc > 1 ? atoi (argv[1]) : 0;
}
