/* heaptrail-gui.c - main(): a user's session of the application (ht-application.c). */
#include "ht-gui.h"

int
main (int argc, char **argv)
{
  return ht_gui_run (argc, argv, NULL);
}
