"""A Python program whose per-type growth is compared with objgraph's show_growth.

    python3 growth.py objgraph    # prints objgraph.growth()'s deltas as JSON
    python3 growth.py heaptrail   # takes the heaptrail snapshots "before" and "after"
"""
import json
import sys

MODE = sys.argv[1] if len(sys.argv) > 1 else "heaptrail"


class Node:
    def __init__(self, parent):
        self.parent = parent
        self.children = []


class Leaf:
    __slots__ = ("value", "owner")

    def __init__(self, value, owner):
        self.value = value
        self.owner = owner


seq = []


def work():
    root = Node(None)
    for i in range(300):
        node = Node(root)
        root.children.append(node)
        seq.append(node)
    seq.append(root)
    for i in range(200):
        seq.append(Leaf(i, root))


if MODE == "objgraph":
    import objgraph
    objgraph.growth(limit=None)
    work()
    print(json.dumps({name: delta for name, count, delta in objgraph.growth(limit=None)}))
else:
    import heaptrail
    heaptrail.snapshot("before")
    work()
    heaptrail.snapshot("after")
    print(json.dumps({}))
