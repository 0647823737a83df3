// fixture-api-cpp.cpp - heaptrail.h from C++: it compiles, links without the recorder, and
// works with it.
#include <heaptrail.h>

#include <cstdio>
#include <memory>
#include <vector>

int
main ()
{
  std::vector<std::unique_ptr<int[]>> kept;
  heaptrail_snapshot ("cpp:start");
  HEAPTRAIL_SCOPE ("cpp")
  {
    for (int i = 0; i < 10; i++)
      kept.emplace_back (new int[100]);
  }
  heaptrail_pause ();
  heaptrail_resume ();
  std::printf ("{\"recording\": %d, \"kept\": %zu}\n", heaptrail_is_recording (), kept.size ());
  return 0;
}
