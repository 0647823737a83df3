"""The article's tracemalloc scenario, recorded with heaptrail instead of tracemalloc.

    heaptrail record -- python3 examples/article_tracemalloc.py
    heaptrail top heaptrail.python3.PID.htr --at func:after      # statistics('lineno')
    heaptrail top heaptrail.python3.PID.htr --by traceback -n 1  # statistics('traceback')
    heaptrail diff heaptrail.python3.PID.htr func:before peak    # compare_to()

The program needs no change beyond the decorator: heaptrail reads the interpreter's frames.
"""
import sys

import heaptrail

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
kept = []


@heaptrail.trace("func")
def func():
    d = [dict(zip('xy', (0, 1))) for i in range(N)]
    t = [tuple(zip('xy', (0, 1))) for i in range(N)]
    kept.append(d[:N // 1000])  # a little of it outlives the call


if __name__ == '__main__':
    func()
