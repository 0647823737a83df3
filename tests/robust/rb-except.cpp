// rb-except.cpp - C++ exceptions thrown through allocation sites, caught higher up.
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

static std::vector<std::string> kept;

[[gnu::noinline]] static void
parse (int i)
{
  std::string s = "record number " + std::to_string (i) + " with a long enough payload";
  if (i % 3 == 0)
    throw std::runtime_error ("bad record: " + s);
  kept.push_back (s);
}

int
main ()
{
  int errors = 0;
  for (int i = 0; i < 3000; i++)
    {
      try
        {
          parse (i);
        }
      catch (const std::exception &e)
        {
          errors++;
        }
    }
  std::printf ("{\"kept\": %zu, \"errors\": %d}\n", kept.size (), errors);
  return 0;
}
