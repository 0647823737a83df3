// shapes.cpp - a C++ program for heaptrail: new/delete through libstdc++, containers,
// strings, and one forgotten object.
//
//   heaptrail record -- ./shapes && heaptrail top --by function heaptrail.shapes.*.htr
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct Shape
{
  virtual ~Shape () = default;
  virtual double area () const = 0;
  std::string name;
};

struct Circle : Shape
{
  explicit Circle (double r) : r (r) { name = "circle of radius " + std::to_string (r); }
  double area () const override { return 3.14159265 * r * r; }
  double r;
};

struct Square : Shape
{
  explicit Square (double s) : s (s) { name = "square of side " + std::to_string (s); }
  double area () const override { return s * s; }
  double s;
};

static std::vector<std::unique_ptr<Shape>>
make_shapes (int n)
{
  std::vector<std::unique_ptr<Shape>> shapes;
  for (int i = 0; i < n; i++)
    {
      if (i % 2)
        shapes.push_back (std::make_unique<Circle> (i));
      else
        shapes.push_back (std::make_unique<Square> (i));
    }
  return shapes;
}

static std::map<std::string, double>
index_by_name (const std::vector<std::unique_ptr<Shape>> &shapes)
{
  std::map<std::string, double> index;
  for (const auto &s : shapes)
    index[s->name] = s->area ();
  return index;
}

int
main ()
{
  auto shapes = make_shapes (10000);
  auto index = index_by_name (shapes);
  Shape *forgotten = new Circle (42); // never deleted: heaptrail reports it at exit
  std::printf ("shapes: %zu shapes, %zu names, forgotten area %.1f\n", shapes.size (),
               index.size (), forgotten->area ());
  return 0;
}
