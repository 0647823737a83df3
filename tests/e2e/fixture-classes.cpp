// fixture-classes.cpp - C++ objects whose class heaptrail names from their vtables
// (record --graph): 5 Node and 3 Edge live at s1, 2 Node freed and 4 Leaf added by s2.
#include <heaptrail.h>

#include <cstddef>
#include <vector>

struct Base
{
  virtual ~Base () = default;
  virtual int weight () const { return 1; }
  long payload[4] = {};
};

struct Node : Base
{
  int weight () const override { return 2; }
};

struct Edge : Base
{
  int weight () const override { return 3; }
};

struct Leaf : Node
{
  int weight () const override { return 4; }
};

static std::vector<Base *> objects;

int
main ()
{
  objects.reserve (64); // one block, allocated before s0
  heaptrail_snapshot ("s0");
  for (int i = 0; i < 5; i++)
    objects.push_back (new Node);
  for (int i = 0; i < 3; i++)
    objects.push_back (new Edge);
  heaptrail_snapshot ("s1");
  delete objects[0];
  delete objects[1];
  for (int i = 0; i < 4; i++)
    objects.push_back (new Leaf);
  heaptrail_snapshot ("s2");
  int total = 0;
  for (std::size_t i = 2; i < objects.size (); i++)
    total += objects[i]->weight ();
  return total == 5 * 0 + 3 * 2 + 3 * 3 + 4 * 4 ? 0 : 1;
}
