"""The article's objgraph scenario, recorded with heaptrail instead of objgraph.

    heaptrail record --graph -- python3 examples/article_objgraph.py
    heaptrail growth heaptrail.python3.PID.htr objgraph:before objgraph:after  # show_growth()
    heaptrail backrefs heaptrail.python3.PID.htr --type Test --at objgraph:after \\
        -o object_backref.dot                                                  # show_backrefs()
"""
import heaptrail

seq = list()


class Test(object):
    pass


@heaptrail.trace("objgraph")
def func():
    o = Test()
    seq.append(o)
    return
    seq.remove(o)


if __name__ == '__main__':
    func()
