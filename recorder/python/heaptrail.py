"""heaptrail - what a Python program can tell the heaptrail recorder.

Under ``heaptrail record`` (or with libheaptrail.so in LD_PRELOAD) these functions reach
the recorder through ctypes; without it they do nothing, so a program can keep them.
``heaptrail record`` puts this module on the interpreter's path: no install step.

    import heaptrail

    heaptrail.snapshot("loaded")          # tracemalloc.take_snapshot(), by label

    @heaptrail.trace("build")             # snapshots build:before and build:after
    def build():
        ...

    node = heaptrail.tag(Node(), "Node")  # growth and graphs count it as a Node

Then ``heaptrail diff REC build:before build:after`` shows what build() left behind.
"""

import ctypes
import functools

__all__ = ["is_recording", "snapshot", "tag", "pause", "resume", "trace"]

# Python object layout (CPython 3.8-3.13): what precedes an object in its malloc block.
_HAVE_GC = 1 << 14           # Py_TPFLAGS_HAVE_GC: a PyGC_Head (16 bytes) comes first
_MANAGED_DICT = 1 << 4       # 3.11+: the dict and weakref pointers come before that
_MANAGED_WEAKREF = 1 << 3    # 3.12+


def _recorder():
    try:
        lib = ctypes.CDLL(None)
        snap = lib.heaptrail_rec_snapshot
    except (OSError, AttributeError):
        return None
    snap.argtypes = [ctypes.c_char_p]
    snap.restype = None
    lib.heaptrail_rec_tag.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.heaptrail_rec_tag.restype = None
    lib.heaptrail_rec_is_recording.restype = ctypes.c_int
    return lib


_lib = _recorder()


def is_recording():
    """True while the recorder is recording this process."""
    return bool(_lib and _lib.heaptrail_rec_is_recording())


def snapshot(label):
    """Takes a snapshot of the live heap named LABEL (at most 255 bytes of UTF-8)."""
    if _lib:
        _lib.heaptrail_rec_snapshot(str(label).encode("utf-8"))


def _block_of(obj):
    """The address of the malloc block holding OBJ: its id() less what CPython puts
    before a garbage-collected object (the GC header, and on 3.11+ the managed dict)."""
    import sys
    flags = type(obj).__flags__
    pre = 0
    if flags & _HAVE_GC:
        pre += 16
        if sys.version_info >= (3, 12):
            if flags & (_MANAGED_DICT | _MANAGED_WEAKREF):
                pre += 16
        elif sys.version_info >= (3, 11) and flags & _MANAGED_DICT:
            pre += 16
    return id(obj) - pre


def tag(obj, type_name=None):
    """Names the type of OBJ's block (default: its class name), as objgraph's type names:
    ``heaptrail growth`` counts live blocks per type.  Returns OBJ."""
    if _lib:
        name = type_name if type_name is not None else type(obj).__name__
        _lib.heaptrail_rec_tag(_block_of(obj), str(name).encode("utf-8"))
    return obj


def pause():
    """Stops recording allocations (frees are still recorded) until resume(); nests."""
    if _lib:
        _lib.heaptrail_rec_pause()


def resume():
    if _lib:
        _lib.heaptrail_rec_resume()


def trace(label):
    """The article's decorator: snapshots LABEL:before and LABEL:after around each call."""
    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            snapshot(f"{label}:before")
            try:
                return fn(*args, **kwargs)
            finally:
                snapshot(f"{label}:after")
        return inner
    return wrap
