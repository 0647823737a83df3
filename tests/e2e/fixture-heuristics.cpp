/* fixture-heuristics.cpp - one block for each of memcheck's leak heuristics, each kept only
 * by an interior pointer that the heuristic explains:
 *
 *   stdstring             +24 of (length, capacity, refcount, characters): a COW string
 *   length64              +8 of a block whose first word is its size - 8
 *   newarray              +8 of new[] of objects with a destructor (the count comes first)
 *   multipleinheritance   the second base of a class with two polymorphic bases
 *
 * With the heuristics (valgrind's default) the four are still reachable; without, possibly
 * lost. */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

struct Counted
{
  int value = 0;
  ~Counted () { value = -1; }
};

struct Left
{
  virtual ~Left () {}
  long left = 1;
};

struct Right
{
  virtual ~Right () {}
  long right = 2;
};

struct Both : Left, Right
{
  long both = 3;
};

static char *string_chars;
static char *length_prefixed;
static Counted *array;
static Right *second_base;

int
main ()
{
  /* a COW std::string: length, capacity, refcount, then capacity + 1 characters */
  uint64_t *rep = static_cast<uint64_t *> (malloc (3 * 8 + 40 + 1));
  rep[0] = 5;
  rep[1] = 40;
  rep[2] = 0;
  string_chars = reinterpret_cast<char *> (rep + 3);
  memcpy (string_chars, "hello", 6);

  uint64_t *block = static_cast<uint64_t *> (malloc (8 + 100));
  block[0] = 100;
  length_prefixed = reinterpret_cast<char *> (block + 1);

  array = new Counted[7];
  second_base = new Both;

  printf ("%s %d %ld\n", string_chars, array[0].value, second_base->right);
  return 0;
}
