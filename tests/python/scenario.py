"""A Python program whose live memory per line is compared with tracemalloc's.

    python3 scenario.py tracemalloc   # prints tracemalloc's statistics('lineno') as JSON
    python3 scenario.py heaptrail     # takes the heaptrail snapshot "moment" instead

Both runs do the same work; the snapshot is taken at the same point, with everything
below still alive.
"""
import json
import sys

MODE = sys.argv[1] if len(sys.argv) > 1 else "heaptrail"
if MODE == "tracemalloc":
    import tracemalloc
    tracemalloc.start()


class Node:
    def __init__(self, i):
        self.i = i
        self.name = "node-%d" % i


def build(n):
    dicts = [dict(zip('xy', (i, 1))) for i in range(n)]
    tuples = [tuple(zip('xy', (0, i))) for i in range(n)]
    nodes = [Node(i) for i in range(n // 2)]
    blobs = [bytearray(100 + i % 50) for i in range(n // 4)]
    table = {"key-%d" % i: i * 2 for i in range(n)}
    return dicts, tuples, nodes, blobs, table


kept = build(int(sys.argv[2]) if len(sys.argv) > 2 else 20000)

if MODE == "tracemalloc":
    stats = tracemalloc.take_snapshot().statistics("lineno")
    me = __file__
    out = [{"line": s.traceback[0].lineno, "size": s.size, "count": s.count}
           for s in stats if s.traceback[0].filename == me]
    print(json.dumps(out))
else:
    import heaptrail
    heaptrail.snapshot("moment")
    print(json.dumps([]))
