#!/usr/bin/env python3
"""heaptrail-gui under Xvfb, for real: windows, screenshots that are looked at, the views
driven through GTK's API.  ctest runs one case per test:

    gui.py CASE --gui PATH --heaptrail PATH --fixtures DIR --schemas DIR --work DIR

Each recording is made by recording a fixture program with the CLI, as a user would.
"""
import argparse
import os
import shutil
import struct
import subprocess
import sys
import zlib


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


class Ctx:
    def __init__(self, a):
        self.gui, self.driver = a.gui, a.driver
        self.heaptrail, self.fixtures, self.schemas = a.heaptrail, a.fixtures, a.schemas
        self.work = a.work
        if os.path.isdir(self.work):
            shutil.rmtree(self.work)
        os.makedirs(self.work)

    def env(self, **extra):
        env = dict(os.environ, GDK_BACKEND="x11", GSK_RENDERER="cairo", NO_AT_BRIDGE="1",
                   GSETTINGS_BACKEND="memory", GSETTINGS_SCHEMA_DIR=self.schemas,
                   LANG="C.UTF-8", LC_ALL="")
        env.pop("LANGUAGE", None)
        env.update(extra)
        return env

    def record(self, name, prog, *args):
        log = os.path.join(self.work, name)
        p = subprocess.run([self.heaptrail, "record", "--graph", "-o", log, "--",
                            os.path.join(self.fixtures, prog), *args],
                           capture_output=True, text=True)
        expect(p.returncode == 0, f"record {prog}: {p.stderr}")
        return log

    def run_gui(self, *args, env=None, timeout=120):
        # --self-test and --bench belong to the driver (gui-driver.c), the product's
        # application driven by the test instead of a user
        prog = self.driver if args and args[0] in ("--self-test", "--bench") else self.gui
        # the X authority file lives beside the test's own directory: without -f, xvfb-run
        # makes a directory in /tmp and, when it cannot remove it, exits 5 in place of
        # the program's status (seen once in CI, on a run whose program had passed)
        auth = self.work.rstrip("/") + ".Xauthority"
        argv = ["xvfb-run", "-a", "-f", auth, "-s", "-screen 0 1280x800x24", prog, *args]
        p = subprocess.run(argv, env=env or self.env(), capture_output=True, text=True,
                           errors="replace", timeout=timeout, cwd=self.work)
        return p


def read_png(path):
    """(width, height, rows of RGB(A) bytes): 8-bit, non-interlaced PNGs, as GDK writes them"""
    with open(path, "rb") as f:
        data = f.read()
    expect(data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG")
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            expect(depth == 8 and ctype in (2, 6) and interlace == 0,
                   f"{path}: depth {depth}, colour type {ctype}, interlace {interlace}")
            bpp = 4 if ctype == 6 else 3
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def colours(rows, bpp, step=7):
    """distinct colours among a sample of pixels"""
    seen = set()
    for y in range(0, len(rows), step):
        r = rows[y]
        for x in range(0, len(r) // bpp, step):
            seen.add(r[x * bpp:x * bpp + 3])
    return seen


VIEWS = ["summary", "allocations", "top-down", "bottom-up", "flame", "snapshots", "types",
         "leaks", "graph", "compare"]


def case_screenshots(c):
    """--screenshot saves one PNG per view, each the window's size and showing something"""
    log = c.record("graph.htr", "fixture-graph")
    shots = os.path.join(c.work, "shots")
    p = c.run_gui("--screenshot", shots, log)
    expect(p.returncode == 0, f"heaptrail-gui --screenshot exited {p.returncode}:\n{p.stderr}")
    for i, view in enumerate(VIEWS):
        path = os.path.join(shots, f"{i:02d}-{view}.png")
        expect(os.path.exists(path), f"no screenshot of {view}:\n{p.stdout}\n{p.stderr}")
        w, h, bpp, rows = read_png(path)
        expect(1000 <= w <= 1100 and 600 <= h <= 720, f"{view}: {w}x{h}, not the 1024x700 window")
        n = len(colours(rows, bpp))
        # a blank or single-colour window has a handful; a view with text, tables or a chart
        # has hundreds (antialiased text alone brings dozens of greys)
        expect(n >= 40, f"{view}: only {n} colours, the view looks empty")
        print(f"{view}: {w}x{h}, {n} colours")


def case_heaptrack(c):
    """a recording Debian's heaptrack made opens as it is: every view but the graph shows it"""
    if not shutil.which("heaptrack"):
        print("heaptrack is not installed: nothing to open")
        return
    base = os.path.join(c.work, "heaptrack.fixture-known")
    p = subprocess.run(["heaptrack", "-o", base, os.path.join(c.fixtures, "fixture-known")],
                       capture_output=True, text=True, cwd=c.work)
    rec = [os.path.join(c.work, f) for f in os.listdir(c.work) if f.startswith("heaptrack.")]
    expect(p.returncode == 0 and rec, f"heaptrack failed: {p.stderr[-500:]}")
    shots = os.path.join(c.work, "shots")
    p = c.run_gui("--screenshot", shots, rec[0])
    expect(p.returncode == 0, f"heaptrail-gui --screenshot exited {p.returncode}:\n{p.stderr}")
    for i, view in enumerate(VIEWS):
        if view in ("graph", "compare"):
            continue
        path = os.path.join(shots, f"{i:02d}-{view}.png")
        expect(os.path.exists(path), f"no screenshot of {view}:\n{p.stderr}")
        n = len(colours(read_png(path)[3], read_png(path)[2]))
        expect(n >= 40, f"{view}: only {n} colours, the view looks empty")
        print(f"{view}: {n} colours")


def case_self_test(c):
    """the views driven through GTK: group-by, sort, select, graph, snapshots, compare"""
    a = c.record("a.htr", "fixture-graph")
    b = c.record("b.htr", "fixture-graph", "evil")
    p = c.run_gui("--self-test", a, b, env=c.env(HT_SELF_TEST_EXPECT_GRAPH="1"))
    print(p.stdout)
    expect(p.returncode == 0 and "FAIL" not in p.stderr,
           f"self-test exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    for what in ("by line", "by function", "sorted by allocations, descending",
                 "has a traceback", "the row's graph", "diff between", "compare:",
                 "time range ("):
        expect(f"ok: {what}" in p.stdout or f"self-test: ok: {what}" in p.stdout
               or what in p.stdout, f"no '{what}' check ran:\n{p.stdout}")


def case_chinese(c):
    """in zh_CN the window shows Chinese"""
    log = c.record("graph.htr", "fixture-graph")
    labels = os.path.join(c.work, "labels.txt")
    p = c.run_gui("--self-test", log, env=c.env(LANGUAGE="zh_CN", HT_SELF_TEST_LABELS=labels))
    expect(os.path.exists(labels), f"no labels written:\n{p.stdout}\n{p.stderr}")
    with open(labels, encoding="utf-8") as f:
        text = f.read()
    chinese = [l for l in text.splitlines() if any("\u4e00" <= ch <= "\u9fff" for ch in l)]
    expect(len(chinese) >= 5, f"few Chinese labels on screen:\n{text}")
    for word in ("概要", "分配"):
        expect(word in text, f"'{word}' is not on screen:\n{text}")
    print(f"{len(chinese)} Chinese labels, e.g. {chinese[:5]}")


def case_sampled(c):
    """a sampled recording: the banner says every figure is an estimate, and Allocations has
    a column of each estimate's standard deviation, which an exact recording has not"""
    log = os.path.join(c.work, "sampled.htr")
    p = subprocess.run([c.heaptrail, "record", "--sample", "8KiB", "-o", log, "--",
                        os.path.join(c.fixtures, "fixture-sampling")], capture_output=True,
                       text=True)
    expect(p.returncode == 0, p.stderr)
    labels = os.path.join(c.work, "labels.txt")
    p = c.run_gui("--self-test", log, env=c.env(HT_SELF_TEST_LABELS=labels,
                                                 HT_SELF_TEST_VIEW="allocations"))
    print(p.stdout)
    expect(p.returncode == 0 and "FAIL" not in p.stderr,
           f"self-test exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    expect("lines have a deviation" in p.stdout, f"the deviation was not checked:\n{p.stdout}")
    with open(labels, encoding="utf-8") as f:
        text = f.read()
    expect("Sampled recording: one allocation per 8192 B" in text and "\n±\n" in text,
           f"no banner or no deviation column on screen:\n{text}")
    shots = os.path.join(c.work, "shots")
    p = c.run_gui("--screenshot", shots, log)
    expect(p.returncode == 0, f"heaptrail-gui --screenshot exited {p.returncode}:\n{p.stderr}")
    shot = os.path.join(shots, f"{VIEWS.index('allocations'):02d}-allocations.png")
    w, h, bpp, rows = read_png(shot)
    n = len(colours(rows, bpp))
    expect(n >= 40, f"the sampled Allocations view: only {n} colours, it looks empty")
    print(f"allocations, sampled: {w}x{h}, {n} colours")
    # an exact recording of the same program: no such column
    exact = c.record("exact.htr", "fixture-sampling")
    p = c.run_gui("--self-test", exact, env=c.env(HT_SELF_TEST_LABELS=labels,
                                                   HT_SELF_TEST_VIEW="allocations"))
    with open(labels, encoding="utf-8") as f:
        text = f.read()
    expect(p.returncode == 0 and "\n±\n" not in text and "Sampled recording" not in text,
           f"an exact recording shows the sampled column or banner:\n{text}")


def case_no_graph(c):
    """a recording without --graph: the graph view says why and how, instead of sitting empty"""
    log = os.path.join(c.work, "plain.htr")
    p = subprocess.run([c.heaptrail, "record", "-o", log, "--",
                        os.path.join(c.fixtures, "fixture-graph")], capture_output=True, text=True)
    expect(p.returncode == 0, p.stderr)
    labels = os.path.join(c.work, "labels.txt")
    p = c.run_gui("--self-test", log, env=c.env(HT_SELF_TEST_LABELS=labels,
                                                 HT_SELF_TEST_VIEW="graph"))
    with open(labels, encoding="utf-8") as f:
        text = f.read()
    expect("no heap graph" in text and "heaptrail record --graph" in text,
           f"the graph view does not say how to get a graph:\n{text}")


def case_bad_input(c):
    """a text file, a corrupt log and a directory: the tab says why, nothing crashes"""
    text = os.path.join(c.work, "notes.htr")
    with open(text, "w") as f:
        f.write("not a recording\n")
    corrupt = os.path.join(c.work, "corrupt.htr")
    with open(corrupt, "wb") as f:
        f.write(b"HTRAIL\r\n\x00\x00" + b"\xff" * 64)
    folder = os.path.join(c.work, "folder")
    os.makedirs(folder)
    for path in (text, corrupt, folder):
        p = c.run_gui("--self-test", path, timeout=60)
        expect(p.returncode == 1 and f"{path} could not be opened" in p.stderr,
               f"{path}: exit {p.returncode}\n{p.stderr}")
        expect("CRITICAL" not in p.stderr or "minimum height" in p.stderr,
               f"{path}: {p.stderr}")


def case_cancel(c):
    """Cancel during an import: the tab says so, no database or temporary file is left"""
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else shutil.which("python3")
    log = os.path.join(c.work, "big.htr")
    code = "d = [dict(zip('xy', (0, i))) for i in range(1000000)]"
    p = subprocess.run([c.heaptrail, "record", "-o", log, "--", py, "-c", code],
                       env=dict(os.environ, PYTHONMALLOC="malloc"), capture_output=True, text=True)
    expect(p.returncode == 0, p.stderr)
    p = c.run_gui("--self-test", log, env=c.env(HT_SELF_TEST_CANCEL="1"))
    expect(p.returncode == 1 and "import cancelled" in p.stderr,
           f"exit {p.returncode}: {p.stderr}")
    left = [f for f in os.listdir(c.work) if f != "big.htr"]
    expect(not left, f"left behind: {left}")


def count_pixels(rows, bpp, test):
    n = 0
    for r in rows:
        for x in range(0, len(r) // bpp):
            if test(r[x * bpp], r[x * bpp + 1], r[x * bpp + 2]):
                n += 1
    return n


def case_compare(c):
    """heaptrail-gui --compare A B: both side by side and the difference, whose flame graph
    is red where B grew and blue where it shrank (python3 making 2,000 dicts, then 40,000)"""
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else shutil.which("python3")
    logs = []
    for n in (2000, 40000):
        log = os.path.join(c.work, f"dicts{n}.htr")
        p = subprocess.run([c.heaptrail, "record", "-o", log, "--", py, "-c",
                            f"d = [dict(a=i, b=str(i)) for i in range({n})]"],
                           env=dict(os.environ, PYTHONMALLOC="malloc"), capture_output=True,
                           text=True)
        expect(p.returncode == 0, p.stderr)
        logs.append(log)
    # saturated frames of the differential flame graph, not the timelines' orange and blue
    red = lambda r, g, b: r >= 235 and g <= 80 and b <= 70
    blue = lambda r, g, b: b >= 235 and r <= 60 and g <= 100
    for name, pair, want, other in (("grew", logs, red, blue),
                                    ("shrank", logs[::-1], blue, red)):
        shots = os.path.join(c.work, name)
        p = c.run_gui("--screenshot", shots, "--compare", *pair)
        expect(p.returncode == 0, f"--compare exited {p.returncode}:\n{p.stderr}")
        for shot in ("09-compare.png", "10-compare-difference.png"):
            expect(os.path.exists(os.path.join(shots, shot)), f"{name}: no {shot}:\n{p.stdout}")
        w, h, bpp, rows = read_png(os.path.join(shots, "10-compare-difference.png"))
        hits, wrong = count_pixels(rows, bpp, want), count_pixels(rows, bpp, other)
        expect(hits > 2000 and wrong < hits / 20,
               f"B {name}: {hits} pixels of its colour in the flame graph, {wrong} of the other")
        print(f"B {name}: {hits} pixels of its colour, {wrong} of the other")
    p = c.run_gui("--compare", logs[0])
    expect(p.returncode == 2 and "--compare takes two recordings" in p.stderr,
           f"--compare with one recording: exit {p.returncode}, {p.stderr}")


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=sorted(CASES))
    for opt in ("--gui", "--driver", "--heaptrail", "--fixtures", "--schemas", "--work"):
        ap.add_argument(opt, required=True)
    args = ap.parse_args()
    try:
        CASES[args.case](Ctx(args))
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
