#!/usr/bin/env python3
"""End-to-end tests: record real programs with the heaptrail CLI and check its answers
against numbers known to be true.  ctest runs one case per test:

    e2e.py CASE --heaptrail PATH --fixtures DIR --work DIR

Each case raises (non-zero exit, message on stderr) when heaptrail is wrong.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time


class Ctx:
    def __init__(self, args):
        self.heaptrail = args.heaptrail
        self.fixtures = args.fixtures
        self.robust = args.robust
        self.dot_check = args.dot_check
        self.work = args.work
        if os.path.isdir(self.work):
            shutil.rmtree(self.work)
        os.makedirs(self.work)

    def run(self, *argv, stdin=None, check=True):
        p = subprocess.run(argv, cwd=self.work, input=stdin, capture_output=True, text=True)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {p.returncode}:\n{p.stderr}")
        return p

    def ht(self, *args, check=True, stdin=None):
        return self.run(self.heaptrail, *args, check=check, stdin=stdin)

    def ht_json(self, *args):
        return json.loads(self.ht(*args, "--json").stdout)

    def record(self, log, *prog, stdin=None, options=(), check=True):
        path = os.path.join(self.work, log)
        for stale in (path, path + ".db"):
            if os.path.exists(stale):
                os.unlink(stale)
        p = self.ht("record", "-o", path, *options, "--", *prog, stdin=stdin, check=check)
        return path, p

    def rb(self, name="rb"):
        return os.path.join(self.robust, name)

    def line_count(self, log, line, *view):
        """allocations (count, bytes) at `line` of a tests/robust source, in a top view"""
        stats = self.ht_json("top", log, "-n", "0", *view)["stats"]
        for s in stats:
            if s["key"].endswith(f".c:{line}") or s["key"].endswith(f".cpp:{line}"):
                return s["count"], s["size"]
        return 0, 0


def json_lines(text):
    """the fixture's JSON lines merged into one dict"""
    out = {}
    for line in text.splitlines():
        if line.startswith("{"):
            out.update(json.loads(line))
    return out


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def by_line(stats, filename):
    """key 'path/to/file.c:LINE' -> stat, for the stats of one source file"""
    out = {}
    for s in stats:
        m = re.match(r"(.*):(\d+)$", s["key"])
        if m and os.path.basename(m.group(1)) == filename:
            out[int(m.group(2))] = s
    return out


# ---------------------------------------------------------------------------------------
def case_known_allocations(c):
    """counts and bytes per line, exactly, at the peak, at the end and over the run"""
    log, p = c.record("known.htr", os.path.join(c.fixtures, "fixture-known"))
    exp = json.loads(p.stdout)
    fname = os.path.basename(exp["file"])
    views = {
        "peak": by_line(c.ht_json("top", log, "-n", "0", "--at", "peak")["stats"], fname),
        "end": by_line(c.ht_json("top", log, "-n", "0", "--at", "end")["stats"], fname),
        "all": by_line(c.ht_json("top", log, "-n", "0", "--allocations")["stats"], fname),
    }
    checked = 0
    for site in exp["sites"]:
        for view, stats in views.items():
            want_count, want_bytes = site[view + "_count"], site[view + "_bytes"]
            got = stats.get(site["line"])
            got_count, got_bytes = (got["count"], got["size"]) if got else (0, 0)
            expect((got_count, got_bytes) == (want_count, want_bytes),
                   f"{site['name']} (line {site['line']}) at {view}: heaptrail says "
                   f"count={got_count} size={got_bytes}, the program says "
                   f"count={want_count} size={want_bytes}")
            checked += 1
    # the summary's totals agree with the per-line numbers
    s = c.ht_json("summary", log)
    peak_lines = sum(x["size"] for x in views["peak"].values())
    expect(s["peak_heap_bytes"] >= peak_lines, "peak total below the sum of its lines")
    expect(s["temporary"] >= 50, f"50 temporaries expected, summary says {s['temporary']}")
    for key in ("allocations", "frees", "peak_heap_bytes", "peak_rss_bytes", "leaked_bytes",
                "leaked_blocks", "temporary", "duration_s"):
        expect(key in s, f"summary --json lacks {key}")
    # the text output is tracemalloc's
    text = c.ht("top", log, "-n", "3").stdout.splitlines()
    expect(len(text) == 3, f"top -n 3 printed {len(text)} lines")
    for line in text:
        expect(re.match(r"^\S+:\d+: size=\d+(\.\d)? (B|KiB|MiB), count=\d+, average=\d+(\.\d)? "
                        r"(B|KiB|MiB)$", line), f"not tracemalloc's format: {line!r}")
    expect(text[0].endswith(f":{[s for s in exp['sites'] if s['name'] == 'P'][0]['line']}: "
                            "size=293 KiB, count=3, average=97.7 KiB"),
           f"largest at the peak should be the 3 x 100000 B line, got {text[0]!r}")
    print(f"{checked} per-line figures match")


def case_threads_handoff(c):
    """blocks allocated on one thread and freed on another: nothing lost or doubled"""
    log, p = c.record("threads.htr", os.path.join(c.fixtures, "fixture-threads"))
    exp = json.loads(p.stdout)
    fname = os.path.basename(exp["file"])
    s = c.ht_json("summary", log)
    expect(s["unmatched_frees"] == 0,
           f"{s['unmatched_frees']} frees did not match an allocation: streams merged out of order")
    all_ = by_line(c.ht_json("top", log, "-n", "0", "--allocations")["stats"], fname)
    end = by_line(c.ht_json("top", log, "-n", "0", "--at", "end")["stats"], fname)
    got = all_.get(exp["line"], {}).get("count", 0)
    expect(got == exp["blocks"], f"{got} allocations at the producer line, expected {exp['blocks']}")
    expect(exp["line"] not in end, f"producer blocks still live at the end: {end.get(exp['line'])}")
    expect(s["threads"] >= 9, f"expected 9 threads, summary says {s['threads']}")
    per = s["per_thread"]
    expect(len(per) >= 9 and sum(t["allocations"] for t in per) == s["allocations"],
           f"per-thread figures do not add up: {per}")
    producers = sorted(t["allocations"] for t in per)[-4:]
    expect(all(n >= 50000 for n in producers), f"four producers of 50,000 blocks each: {per}")
    print(f"{got} blocks handed between threads, 0 unmatched")


def valgrind_total_allocs(argv, stdin):
    p = subprocess.run(["valgrind", "--trace-children=no", *argv], input=stdin,
                       capture_output=True, text=True)
    m = re.search(r"total heap usage: ([\d,]+) allocs, ([\d,]+) frees, ([\d,]+) bytes", p.stderr)
    if not m:
        raise AssertionError("valgrind printed no heap summary:\n" + p.stderr[-2000:])
    return int(m.group(1).replace(",", "")), int(m.group(3).replace(",", ""))


SQL = """CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 20000)
INSERT INTO t SELECT x, 'name-' || x, x * 1.5 FROM c;
CREATE INDEX t_name ON t(name);
SELECT count(*), sum(v) FROM t WHERE name LIKE 'name-1%';
UPDATE t SET v = v * 2 WHERE id % 3 = 0;
SELECT name, v FROM t ORDER BY v DESC LIMIT 3;
DELETE FROM t WHERE id % 2 = 0;
SELECT count(*) FROM t;
"""


def case_sqlite3_vs_valgrind(c):
    """sqlite3's allocation count within 0.1% of valgrind's total heap usage"""
    sqlite3 = shutil.which("sqlite3")
    expect(sqlite3, "sqlite3 is not installed")
    dbfile = os.path.join(c.work, "work.sqlite")

    def fresh():
        if os.path.exists(dbfile):
            os.unlink(dbfile)

    fresh()
    want_out = c.run(sqlite3, dbfile, stdin=SQL).stdout
    fresh()
    log, p = c.record("sqlite3.htr", sqlite3, dbfile, stdin=SQL)
    expect(p.stdout == want_out, "sqlite3's output changed under the recorder")
    fresh()
    v_allocs, v_bytes = valgrind_total_allocs([sqlite3, dbfile], SQL)
    s = c.ht_json("summary", log)
    diff = abs(s["allocations"] - v_allocs) / v_allocs
    expect(diff <= 0.001, f"heaptrail counts {s['allocations']} allocations, valgrind "
                          f"{v_allocs} ({diff:.3%} apart)")
    print(f"allocations: heaptrail {s['allocations']}, valgrind {v_allocs}; bytes: heaptrail "
          f"{s['allocated_bytes']}, valgrind {v_bytes}")


def python_module_dir(c):
    """where `import heaptrail` comes from in a recorded interpreter: python/ beside the
    recorder, which record puts on PYTHONPATH"""
    lib = c.ht("record", "--print-recorder").stdout.strip()
    return os.path.join(os.path.dirname(os.path.realpath(lib)), "python")


def case_python3_vs_valgrind(c):
    """python3 (PYTHONMALLOC=malloc) allocation count within 0.1% of valgrind's"""
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    code = "d = [dict(zip('xy', (0, 1))) for i in range(20000)]; print(len(d))"
    os.environ["PYTHONMALLOC"] = "malloc"
    # under record the heaptrail module's directory is on PYTHONPATH (import heaptrail):
    # valgrind's run gets the same, so both run the same program
    os.environ["PYTHONPATH"] = python_module_dir(c)
    log, p = c.record("python3.htr", py, "-c", code)
    expect(p.stdout == "20000\n", f"python3's output changed: {p.stdout!r}")
    v_allocs, _ = valgrind_total_allocs([py, "-c", code], None)
    s = c.ht_json("summary", log)
    diff = abs(s["allocations"] - v_allocs) / v_allocs
    expect(diff <= 0.001, f"heaptrail counts {s['allocations']} allocations, valgrind "
                          f"{v_allocs} ({diff:.3%} apart)")
    print(f"allocations: heaptrail {s['allocations']}, valgrind {v_allocs}")


def same_as_valgrind(c, name, argv, stdin=None, cwd=None):
    """record argv; its output and exit status unchanged, its allocation count within 0.1%
    of valgrind's"""
    want = subprocess.run(argv, input=stdin, capture_output=True, text=True, cwd=cwd)
    log = os.path.join(c.work, name + ".htr")
    p = subprocess.run([c.heaptrail, "record", "-o", log, "--", *argv], input=stdin,
                       capture_output=True, text=True, cwd=cwd)
    expect(p.returncode == want.returncode, f"{name}: exit {p.returncode}, {want.returncode} alone")
    expect(p.stdout == want.stdout, f"{name}: output changed under the recorder")
    pv = subprocess.run(["valgrind", "--trace-children=no", *argv], input=stdin,
                        capture_output=True, text=True, cwd=cwd)
    m = re.search(r"total heap usage: ([\d,]+) allocs", pv.stderr)
    expect(m, f"valgrind printed no heap summary for {name}")
    v = int(m.group(1).replace(",", ""))
    got = c.ht_json("summary", log)["allocations"]
    expect(abs(got - v) <= v * 0.001, f"{name}: heaptrail {got} allocations, valgrind {v}")
    print(f"{name}: heaptrail {got} allocations, valgrind {v}; output and exit status unchanged")


def valgrind_heap(argv, stdin=None, cwd=None, env=None):
    """valgrind's allocations and blocks in use at exit, with nothing freed for it at the
    end (no __libc_freeres, no __gnu_cxx::__freeres), as a program exits without it"""
    p = subprocess.run(["valgrind", "--trace-children=no", "--run-libc-freeres=no",
                        "--run-cxx-freeres=no", *argv], input=stdin, capture_output=True,
                       cwd=cwd, env=env)
    err = p.stderr.decode(errors="replace")
    m = re.search(r"total heap usage: ([\d,]+) allocs, ([\d,]+) frees, ([\d,]+) bytes", err)
    expect(m, f"valgrind printed no heap summary for {argv}:\n{err[-1500:]}")
    u = re.search(r"in use at exit: ([\d,]+) bytes in ([\d,]+) blocks", err)
    num = lambda s: int(s.replace(",", ""))
    return {"allocations": num(m.group(1)), "bytes": num(m.group(3)),
            "in_use_blocks": num(u.group(2)) if u else 0}


def case_real_programs_vs_valgrind(c):
    """Debian programs nobody here wrote, recorded as a user would: output and exit status
    (a death by signal included) unchanged, allocations and frees within 0.1% of valgrind's"""
    w = c.work
    data = os.path.join(w, "data.txt")
    with open(data, "w") as f:
        for i in range(20000):
            f.write(f"{i} item-{i % 97} {i * 7 % 1013} lorem ipsum dolor sit amet\n")
    repo = os.path.join(w, "repo")
    g = make_git_repo(repo, 5, 40) if shutil.which("git") else ["git", "-C", repo]
    lua = shutil.which("lua5.4") or shutil.which("lua")
    programs = [
        ("xz", ["xz", "-T2", "-c", data], None),
        ("bzip2", ["bzip2", "-c", data], None),
        ("sed", ["sed", "-E", "s/item-([0-9]+)/<\\1>/g; /7$/d", data], None),
        ("gawk", ["gawk", "{ n[$2] += $3 } END { for (k in n) s += n[k]; print s, length(n) }",
                  data], None),
        ("tar", ["tar", "-cf", "-", "data.txt"], None),
        ("git", g[:3] + ["log", "-p", "--stat"], None),
        ("sqlite3", ["sqlite3", ":memory:"], SQL),
        ("perl", ["perl", "-e", "my %h; $h{$_ % 977} .= 'x' x ($_ % 13) for 1..50000; "
                  "print scalar(keys %h), qq(\\n)"], None),
        ("lua", [lua or "lua", "-e", "local t = {} for i = 1, 30000 do t[i] = tostring(i) .. "
                 "'-' end print(#table.concat(t))"], None),
        ("cmake", ["cmake", "--version"], None),
        ("curl", ["curl", "--version"], None),
        ("dlopen", [os.path.join(c.fixtures, "fixture-dlopen")], None),
        ("sigsegv", ["perl", "-e", "kill 'SEGV', $$"], None),
    ]
    # valgrind adds these four to the program's environment (and programs such as gawk
    # allocate per variable): every run gets them, so all three runs see the same
    env = dict(os.environ, PERL_HASH_SEED="0", PERL_PERTURB_KEYS="0", LC_ALL="C",
               GLIBCPP_FORCE_NEW="1", GLIBCXX_FORCE_NEW="1", LD_LIBRARY_PATH="/usr/lib/debug",
               LD_PRELOAD="")
    skipped, checked = [], []
    for name, argv, stdin in programs:
        if not shutil.which(argv[0]) or (name == "git" and not os.path.isdir(repo + "/.git")):
            skipped.append(name)
            continue
        stdin_b = stdin.encode() if stdin else None
        alone = subprocess.run(argv, input=stdin_b, capture_output=True, cwd=w, env=env)
        log = os.path.join(w, name + ".htr")
        rec = subprocess.run([c.heaptrail, "record", "-o", log, "--", *argv], input=stdin_b,
                             capture_output=True, cwd=w, env=env)
        expect(rec.returncode == alone.returncode,
               f"{name}: exit {rec.returncode} under record, {alone.returncode} alone")
        expect(rec.stdout == alone.stdout, f"{name}: output changed under the recorder")
        v = valgrind_heap(argv, stdin_b, cwd=w, env=env)
        s = c.ht_json("summary", log)
        ours = {"allocations": s["allocations"], "frees": s["allocations"] - s["not_freed_blocks"]}
        theirs = {"allocations": v["allocations"], "frees": v["allocations"] - v["in_use_blocks"]}
        for key in ours:
            expect(abs(ours[key] - theirs[key]) <= theirs[key] * 0.001,
                   f"{name}: {key}: heaptrail {ours[key]}, valgrind {theirs[key]}")
        checked.append(f"{name} {ours['allocations']}/{ours['frees']}")
    expect(len(checked) >= 10, f"only {len(checked)} programs could be checked; "
                               f"missing: {', '.join(skipped)} (scripts/deps installs them)")
    print("allocations/frees equal to valgrind's: " + ", ".join(checked))
    if skipped:
        print("skipped (not installed): " + ", ".join(skipped))


def case_jq_vs_valgrind(c):
    """jq over generated JSON"""
    expect(shutil.which("jq"), "jq is not installed")
    data = os.path.join(c.work, "data.json")
    with open(data, "w") as f:
        json.dump([{"name": f"item-{i}", "v": i % 1000, "tags": ["a", str(i)]}
                   for i in range(20000)], f)
    same_as_valgrind(c, "jq", ["jq", "[.[] | select(.v > 500) | .name] | length", data])


def make_git_repo(repo, commits, lines):
    """a repository of `commits` commits, each adding a file of `lines` lines; returns the
    git command that works on it"""
    os.makedirs(repo)
    g = ["git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(g + ["init", "-q"], check=True)
    for i in range(commits):
        with open(os.path.join(repo, f"f{i}"), "w") as f:
            f.write(f"line {i}\n" * lines)
        subprocess.run(g + ["add", "."], check=True)
        subprocess.run(g + ["commit", "-qm", f"c{i}"], check=True)
    return g


def case_git_vs_valgrind(c):
    """git log -p on a generated repository"""
    repo = os.path.join(c.work, "repo")
    make_git_repo(repo, 10, 50)
    same_as_valgrind(c, "git", ["git", "-C", repo, "log", "-p", "--stat"])


def diff_by_line(c, *args):
    """heaptrail diff --json, keyed by line of fixture-api.c"""
    stats = c.ht_json("diff", *args, "-n", "0")["stats"]
    out = {}
    for st in stats:
        m = re.match(r"(.*):(\d+)$", st["key"])
        if m and os.path.basename(m.group(1)) == "fixture-api.c":
            out[int(m.group(2))] = (st["size"], st["size_diff"], st["count"], st["count_diff"])
    return out


def case_api_snapshots(c):
    """heaptrail_snapshot, HEAPTRAIL_SCOPE, pause/resume: snapshots and diffs known exactly"""
    log, p = c.record("api.htr", os.path.join(c.fixtures, "fixture-api"))
    exp = json.loads(p.stdout)
    expect(exp["recording"] == 1, "heaptrail_is_recording() says 0 under the recorder")
    snaps = c.ht_json("snapshots", log)
    labels = [s["label"] for s in snaps]
    for want in ("start", "work:before", "work:after", "after-free", "peak", "end"):
        expect(want in labels, f"snapshot {want} missing: {labels}")
    autos = [s for s in snaps if s["kind"] == "auto"]
    expect(len(autos) == 50, f"{len(autos)} evenly spaced snapshots, 50 by default")
    order = [s["label"] for s in snaps if s["kind"] not in ("peak", "auto")]
    expect(order == ["start", "work:before", "work:after", "after-free", "end"],
           f"snapshots out of order: {labels}")
    times = [s["time_s"] for s in snaps]
    expect(times == sorted(times), f"snapshot times not increasing: {times}")
    la, lb, lc, ld = exp["la"], exp["lb"], exp["lc"], exp["ld"]
    # tracemalloc's compare_to between the snapshots, per line: (size, size_diff, count, count_diff)
    d = diff_by_line(c, log, "start", "work:after")
    expect(d.get(la) == (6400, 6400, 100, 100), f"start -> work:after, line {la}: {d.get(la)}")
    expect(d.get(lb) == (6400, 6400, 50, 50), f"start -> work:after, line {lb}: {d.get(lb)}")
    expect(lc not in d, f"the block's freed allocations appear: {d.get(lc)}")
    d = diff_by_line(c, log, "work:before", "work:after")
    expect(d.get(la) == (6400, 0, 100, 0), f"work:before -> work:after, line {la}: {d.get(la)}")
    expect(d.get(lb) == (6400, 6400, 50, 50), f"work:before -> work:after, line {lb}: {d.get(lb)}")
    d = diff_by_line(c, log, "work:after", "after-free")
    expect(d.get(la) == (3200, -3200, 50, -50), f"work:after -> after-free, line {la}: {d.get(la)}")
    for a, b in (("start", "end"), ("work:after", "after-free")):
        expect(ld not in diff_by_line(c, log, a, b), "allocations made while paused were recorded")
    # the text is tracemalloc's StatisticDiff
    first = c.ht("diff", log, "work:before", "work:after", "-n", "1").stdout.strip()
    expect(first.endswith(f"fixture-api.c:{lb}: size=6400 B (+6400 B), count=50 (+50), "
                          "average=128 B"), f"not tracemalloc's format: {first!r}")
    top = c.line_count(log, la, "--at", "after-free")
    expect(top == (50, 3200), f"top --at after-free, line {la}: {top}")
    # a time picks the latest snapshot at or before it
    t_start = [s["time_s"] for s in snaps if s["label"] == "start"][0]
    t_end = [s["time_s"] for s in snaps if s["label"] == "end"][0]
    expect(c.line_count(log, la, "--at", f"{t_end + 1:.3f}s") == (50, 3200), "--at after the end")
    expect(c.line_count(log, la, "--at", f"{t_start!r}s") == (0, 0), "--at start's time")
    p = c.ht("top", log, "--at", "0s", check=False)
    expect(p.returncode == 2 and "no snapshot at or before" in p.stderr, p.stderr)
    p = c.ht("import", log, "-o", log + ".none.db", "--snapshots", "0")
    kinds = {s["kind"] for s in c.ht_json("snapshots", log + ".none.db")}
    expect("auto" not in kinds, f"--snapshots 0 still took some: {kinds}")
    p = c.ht("diff", log, "start", "nonsense", check=False)
    expect(p.returncode == 2 and "nonsense" in p.stderr, f"unknown label: {p.stderr!r}")
    # paused under --sample too (whose hooks test the pause and --sample at once): with one
    # byte in one, every allocation is recorded but those made while paused, and only
    # they are not counted either
    slog, sp = c.record("api-sampled.htr", os.path.join(c.fixtures, "fixture-api"),
                        options=("--sample", "1"))
    expect(json.loads(sp.stdout)["recording"] == 1, "heaptrail_is_recording() under --sample")
    se, ss = c.ht_json("summary", log), c.ht_json("summary", slog)
    expect((ss["counted_allocations"], ss["sampled_allocations"])
           == (se["allocations"], se["allocations"]),
           f"--sample 1: {ss['counted_allocations']} counted, {ss['sampled_allocations']} "
           f"recorded; the exact run {se['allocations']}")
    expect(c.line_count(slog, ld, "--allocations") == (0, 0),
           "allocations made while paused were recorded under --sample")
    expect(c.line_count(slog, lb, "--allocations") == (50, 6400),
           f"--sample 1, line {lb}: {c.line_count(slog, lb, '--allocations')}")
    print("snapshots, scope and pause: every diff figure as the program says")


def case_api_two_builds(c):
    """two recordings of differently built binaries compare by location"""
    fa = os.path.join(c.fixtures, "fixture-api")
    fb = os.path.join(c.fixtures, "fixture-api-pad")
    addr = lambda f: subprocess.run(["nm", f], capture_output=True, text=True).stdout
    main_a = [l for l in addr(fa).splitlines() if l.endswith(" T main")]
    main_b = [l for l in addr(fb).splitlines() if l.endswith(" T main")]
    expect(main_a != main_b, "the two builds put main at the same address: the test proves nothing")
    la, pa = c.record("a.htr", fa)
    lb, pb = c.record("b.htr", fb)
    exp = json.loads(pa.stdout)
    expect(json.loads(pb.stdout)["la"] == exp["la"], "the builds moved a line")
    for by in ("line", "function", "traceback"):
        stats = c.ht_json("diff", la + ":after-free", lb + ":after-free", "--by", by, "-n", "0")
        changed = [s for s in stats["stats"] if s["size_diff"] or s["count_diff"]]
        mine = [s for s in stats["stats"] if "fixture-api.c" in json.dumps(s["traceback"])]
        expect(not [s for s in changed if s in mine],
               f"--by {by}: same program, same allocations, yet: {changed}")
        expect(len(mine) >= (1 if by == "function" else 2),
               f"--by {by}: the fixture's groups are missing: {stats}")
    d = diff_by_line(c, la + ":start", lb + ":after-free")
    expect(d.get(exp["la"]) == (3200, 3200, 50, 50), f"start of A -> after-free of B: {d}")
    print("two builds at different addresses compare line by line, function and traceback")


def case_api_without_recorder(c):
    """heaptrail.h without the recorder: the program runs unchanged (C and C++)"""
    for prog in ("fixture-api", "fixture-api-cpp"):
        p = c.run(os.path.join(c.fixtures, prog))
        out = json.loads(p.stdout)
        expect(out["recording"] == 0, f"{prog}: heaptrail_is_recording() without the recorder")
        log, p = c.record(prog + ".htr", os.path.join(c.fixtures, prog))
        expect(json.loads(p.stdout)["recording"] == 1, f"{prog}: not recording under heaptrail")
    labels = [s["label"] for s in c.ht_json("snapshots", os.path.join(c.work, "fixture-api-cpp.htr"))]
    expect("cpp:before" in labels and "cpp:after" in labels, f"C++ scope snapshots: {labels}")
    print("C and C++ programs run with and without the recorder")


def case_leaks_suppressions(c):
    """leaks by stack; LeakSanitizer-format suppressions; the built-in list"""
    log, p = c.record("leaks.htr", os.path.join(c.fixtures, "fixture-leaks"))
    exp = json.loads(p.stdout)

    def leaks(*opts):
        j = c.ht_json("leaks", log, "-n", "0", *opts)
        lines = {}
        for s in j["leaks"]:
            m = re.match(r".*fixture-leaks\.c:(\d+)$", s["key"])
            if m:
                lines[int(m.group(1))] = (s["count"], s["size"])
        return j, lines

    j, lines = leaks()
    expect(lines == {exp["plain"]: (3, 300), exp["cache"]: (1, 500)},
           f"default leaks: {lines}, expected lines {exp}")
    expect(j["leaked_bytes"] == 800, f"leaked_bytes {j['leaked_bytes']} (stdio's buffer not hidden?)")
    expect(j["suppressed_bytes"] >= 1024, "stdio's buffer was not suppressed")
    supp = os.path.join(c.work, "my.supp")
    with open(supp, "w") as f:
        f.write("# LeakSanitizer format\nleak:cache_keep\nrace:ignored_kind\n")
    j, lines = leaks("--suppressions", supp)
    expect(lines == {exp["plain"]: (3, 300)}, f"with leak:cache_keep: {lines}")
    with open(supp, "w") as f:
        f.write("leak:^cache$\n")  # anchored: matches no whole function name
    j, lines = leaks("--suppressions", supp)
    expect(exp["cache"] in lines, f"an anchored pattern suppressed a partial match: {lines}")
    j, lines = leaks("--exclude", "fixture-leaks.c")
    expect(lines == {}, f"--exclude on leaks: {lines}")
    j, lines = leaks("--no-default-suppressions")
    expect(j["leaked_bytes"] > 800, "--no-default-suppressions still hides stdio's buffer")
    p = c.ht("leaks", log, "--suppressions", os.path.join(c.work, "missing.supp"), check=False)
    expect(p.returncode == 4 and len(p.stderr.strip().splitlines()) == 1, p.stderr)
    text = c.ht("leaks", log).stdout
    expect("not freed at exit: 800 B in 4 blocks" in text, f"summary line: {text[-200:]!r}")
    # summary and leaks count the same blocks as the program's, and the same as suppressed
    summ = c.ht_json("summary", log)
    j, _ = leaks()
    for key in ("leaked_bytes", "leaked_blocks", "suppressed_bytes", "suppressed_blocks"):
        expect(summ[key] == j[key], f"summary says {key}={summ[key]}, leaks {j[key]}")
    expect(summ["not_freed_bytes"] == j["leaked_bytes"] + j["suppressed_bytes"],
           f"not freed {summ['not_freed_bytes']} != leaked + suppressed")
    expect([g["reason"] for g in j["suppressed"]] == ["stdio buffers (glibc)"],
           f"suppressed for: {j['suppressed']}")
    text = c.ht("leaks", log).stdout
    expect(re.search(r"^suppressed: \d+ B in 1 blocks: stdio buffers \(glibc\)$", text, re.M),
           text[-300:])
    # where a program is installed suppresses nothing: the same program under /usr/lib
    try:
        sysdir = tempfile.mkdtemp(prefix="heaptrail-test-", dir="/usr/lib")
    except OSError as e:
        print(f"skipped the copy under /usr/lib: {e}")
    else:
        try:
            prog = os.path.join(sysdir, "fixture-leaks")
            shutil.copy2(os.path.join(c.fixtures, "fixture-leaks"), prog)
            log2, _ = c.record("leaks-usr-lib.htr", prog)
            j2 = c.ht_json("leaks", log2, "-n", "0")
            expect(j2["leaked_bytes"] == 800 and j2["leaked_blocks"] == 4,
                   f"installed under /usr/lib, its leaks were hidden: {j2['leaked_bytes']} B in "
                   f"{j2['leaked_blocks']} blocks, expected 800 B in 4")
        finally:
            shutil.rmtree(sysdir)
    print("leaks: 3 x 100 B and 1 x 500 B found; suppressions work as LeakSanitizer's")


def case_leaks_program_suppressions(c):
    """a program's __lsan_default_suppressions() is honoured, by leaks and by summary"""
    log, _ = c.record("lsan.htr", os.path.join(c.fixtures, "fixture-lsan"))
    j = c.ht_json("leaks", log, "-n", "0")
    expect(j["leaked_bytes"] == 55 and j["leaked_blocks"] == 1,
           f"leaked {j['leaked_bytes']} B in {j['leaked_blocks']}, expected only real_leak's 55 B")
    reasons = {g["reason"]: g["bytes"] for g in j["suppressed"]}
    expect(reasons.get("__lsan_default_suppressions(): leak:known_cache") == 77,
           f"suppressed: {reasons}")
    s = c.ht_json("summary", log)
    expect(s["leaked_bytes"] == 55, f"summary says {s['leaked_bytes']} B leaked")
    j = c.ht_json("leaks", log, "--no-default-suppressions")
    expect(j["leaked_bytes"] >= 132, "--no-default-suppressions still applies the program's")
    print("__lsan_default_suppressions() hides known_cache's 77 B; real_leak's 55 B stay")


def case_growth_types(c):
    """objgraph's show_growth: tagged types and allocating functions, exactly"""
    log, _ = c.record("growth.htr", os.path.join(c.fixtures, "fixture-growth"))

    def growth(a, b):
        steps = c.ht_json("growth", log, a, b)
        return {t["type"]: (t["count"], t["delta"]) for t in steps[0]["types"]}

    g = growth("s0", "s1")
    expect(g.get("Node") == (5, 5), f"s0 -> s1 Node: {g.get('Node')}")
    expect(g.get("make_buffer") == (3, 3), f"s0 -> s1 make_buffer: {g.get('make_buffer')}")
    expect("main" not in g or g["main"][1] == 0, f"tagged blocks counted under main: {g.get('main')}")
    g = growth("s1", "s2")
    expect(g.get("Edge") == (4, 4), f"s1 -> s2 Edge: {g.get('Edge')}")
    expect(g.get("Node") == (3, -2), f"s1 -> s2 Node: {g.get('Node')}")
    text = c.ht("growth", log, "s1", "s2", "--all").stdout.splitlines()
    expect(text[0].split() == ["Edge", "4", "+4"], f"objgraph's format, growth first: {text}")
    expect(["Node", "3", "-2"] in [l.split() for l in text], f"--all shows the shrinkage: {text}")
    expect(["Node", "3", "-2"] not in [l.split() for l in c.ht("growth", log, "s1", "s2").stdout.splitlines()],
           "shrinkage shown without --all")
    steps = c.ht_json("growth", log)
    pairs = [(st["a"], st["b"]) for st in steps]
    expect(pairs[:2] == [("s0", "s1"), ("s1", "s2")], f"consecutive steps: {pairs}")
    # backwards nothing grew: objgraph would print nothing, we say what was compared
    text = c.ht("growth", log, "s2", "s0").stdout
    expect(text.startswith("No type grew between s2 and s0 ("), f"growth backwards: {text!r}")
    print("growth per type: Node +5 then -2, Edge +4, make_buffer +3, as the program does")


def case_snapshot_from_outside(c):
    """heaptrail snapshot PID LABEL, and kill -USR2: a snapshot while the program sleeps,
    exact and under --sample (the recorder's keeper serves it; the program is asleep)"""
    for how, options in (("cli", []), ("sigusr2", []), ("cli", ["--sample", "1"])):
        log = os.path.join(c.work, how + "".join(options) + ".htr")
        # a 3 s sleep: on a loaded machine the request, written by a second heaptrail,
        # once missed a 1 s one
        p = subprocess.Popen([c.heaptrail, "record", "-o", log] + options + ["--",
                              os.path.join(c.fixtures, "fixture-waits"), "3"],
                             cwd=c.work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        pid = int(p.stdout.readline())
        if how == "cli":
            c.ht("snapshot", str(pid), "while asleep")
        else:
            os.kill(pid, signal.SIGUSR2)
        out, _ = p.communicate()
        exp = json.loads(out)
        label = "while asleep" if how == "cli" else "signal 1"
        labels = [s["label"] for s in c.ht_json("snapshots", log)]
        expect(label in labels, f"{how}: no snapshot {label!r}: {labels}")
        got = c.line_count(log, exp["line"], "--at", label)
        expect(got == (50, 50000), f"{how}: {got} in the snapshot, 50 blocks expected")
        if how == "cli":
            expect(exp["slept_full"] == 1, "heaptrail snapshot interrupted the program's sleep")
    p = c.ht("snapshot", "999999999", check=False)
    expect(p.returncode != 0 and len(p.stderr.strip().splitlines()) == 1, p.stderr)
    print("snapshots from outside: 50 blocks, and the program's sleep left alone")


def case_filters(c):
    """--include / --exclude, tracemalloc's Filter, on the innermost frame's file or module"""
    log, p = c.record("leaks.htr", os.path.join(c.fixtures, "fixture-leaks"))
    exp = json.loads(p.stdout)
    everything = c.ht_json("top", log, "-n", "0", "--at", "end")["stats"]
    mine = c.ht_json("top", log, "-n", "0", "--at", "end", "--include", "fixture-leaks.c")["stats"]
    keys = sorted(s["key"].rsplit(":", 1)[1] for s in mine)
    expect(keys == sorted([str(exp["plain"]), str(exp["cache"])]), f"--include: {mine}")
    others = c.ht_json("top", log, "-n", "0", "--at", "end", "--exclude", "fixture-*.c")["stats"]
    expect(not any(s["key"].endswith((f":{exp['plain']}", f":{exp['cache']}")) for s in others),
           f"--exclude: {others}")
    expect(len(mine) + len(others) == len(everything) and others,
           f"include and exclude do not partition: {len(mine)} + {len(others)} != {len(everything)}")
    libc = c.ht_json("top", log, "-n", "0", "--at", "end", "--include", "libc.so*")["stats"]
    expect(libc and not any(s in mine for s in libc), f"module glob libc.so*: {libc}")
    d = c.ht_json("diff", log, "peak", "end", "-n", "0", "--include", "*.nothing")["stats"]
    expect(d == [], f"diff --include of nothing: {d}")
    print(f"filters: {len(mine)} groups called from the fixture, {len(others)} from elsewhere")


def case_short_lived(c):
    """--short-lived MS: blocks freed within MS of their allocation, exactly"""
    log, p = c.record("life.htr", os.path.join(c.fixtures, "fixture-lifetimes"))
    exp = json.loads(p.stdout)

    def lines(*opts):
        stats = c.ht_json("top", log, "-n", "0", "--metric", "short-lived", *opts)["stats"]
        out = {}
        for s in stats:
            m = re.match(r".*fixture-lifetimes\.c:(\d+)$", s["key"])
            if m and int(m.group(1)) in (exp["quick"], exp["slow"]):
                out[int(m.group(1))] = s["count"]
        return out

    got = lines()
    expect(got == {exp["quick"]: 10}, f"default 1 ms: {got}")
    got = lines("--short-lived", "200")
    expect(got == {exp["quick"]: 10, exp["slow"]: 5}, f"200 ms: {got}")
    s = c.ht_json("summary", log, "--short-lived", "200")
    expect(s["short_lived_ms"] == 200 and s["short_lived"] >= 4015, f"summary: {s['short_lived']}")
    got = lines("--short-lived", "20")
    expect(got == {exp["quick"]: 10}, f"20 ms (the slow ones live 50 ms): {got}")
    print("short-lived: 10 at 1 ms, 15 at 200 ms, 10 at 20 ms")


def case_time_window(c):
    """top --time FROM..TO: only the allocations made in the range count, summed from the
    time buckets written at import (one database answers every range)"""
    log, p = c.record("waits.htr", os.path.join(c.fixtures, "fixture-waits"))
    exp = json.loads(p.stdout.splitlines()[1])

    def total(*args):
        out = c.ht_json("top", log, "-n", "0", *args)
        return out["total_count"], out["total_size"], out.get("time_from_s"), out.get("time_to_s")

    whole = total("--metric", "allocations")
    before = total("--metric", "allocations", "--time", "..0.5")
    after = total("--metric", "allocations", "--time", "0.5..")
    expect(after[0] == 50, f"after the sleep: {after[0]} allocations, 50 made")
    expect(before[0] + after[0] == whole[0], f"{before[0]} + {after[0]} != {whole[0]}")
    expect(before[3] < 0.6 and after[2] > 0.4, f"the buckets' spans: {before[2:]} {after[2:]}")
    got = c.line_count(log, exp["line"], "--at", "end", "--time", "0.5..")
    expect(got == (0, 0), f"the first 50 blocks (before the sleep) counted in 0.5..: {got}")
    got = c.line_count(log, exp["line"], "--at", "end", "--time", "0..0.5s")
    expect(got == (50, 50000), f"the first 50 blocks in 0..0.5s: {got}")
    got = c.line_count(log, exp["line"], "--time", "..0.5")  # live at the peak
    expect(got == (50, 50000), f"the first 50 blocks at the peak, ..0.5: {got}")
    # the import was not repeated: one database, written once
    mtime = os.stat(log + ".db").st_mtime_ns
    c.ht("top", log, "--time", "0.2..0.9")
    expect(os.stat(log + ".db").st_mtime_ns == mtime, "a range imported the log again")
    for bad, code in (("3..1", 2), ("1.5", 2), ("100..200", 2)):
        p = c.ht("top", log, "--time", bad, check=False)
        expect(p.returncode == code and p.stderr.count("\n") == 1,
               f"--time {bad}: exit {p.returncode}, {p.stderr!r}")
    p = c.ht("top", log, "--time", "0..1", "--at", "objgraph", check=False)
    expect(p.returncode != 0, "a range at a snapshot of the program's own was accepted")
    # leaks of a range: the blocks allocated in it and never freed, without a heap graph
    # (the buckets' live-at-end figures) and with one (each block's bucket)
    for name, options, extra in (("waits.htr", (), ()),
                                 ("waits-graph.htr", ("--graph",), ("--show-reachable",))):
        if options:
            log, _ = c.record(name, os.path.join(c.fixtures, "fixture-waits"), options=options)
        got = []
        for window in ("..0.5", "0.5.."):
            out = c.ht_json("leaks", log, "-n", "0", "--time", window, *extra)
            lines = [(s["count"], s["size"]) for s in out["leaks"]
                     if s["key"].endswith(f".c:{exp['line']}")]
            got.append((out["leaked_blocks"], lines))
        expect(got[0][1] == [(50, 50000)] and got[1][1] == [], f"{name}: leaks by range {got}")
    # backrefs of main's blocks: those allocated after the sleep are the 50 of the second loop
    matched = [c.ht_json("backrefs", log, "--site", "main", *window)["matched"]
               for window in ((), ("--time", "..0.5"), ("--time", "0.5.."))]
    expect(matched[2] == 50 and matched[1] + matched[2] == matched[0],
           f"backrefs --site main: whole run, before, after the sleep: {matched}")

    # over every bucket, each figure equals the whole run's: threads freeing each other's
    # blocks, temporaries, blocks live at the peak and at the end
    log, _ = c.record("threads-time.htr", os.path.join(c.fixtures, "fixture-threads"))
    for view in (("--metric", "allocations"), ("--metric", "temporary"),
                 ("--metric", "short-lived"), ("--at", "peak"), ("--at", "end")):
        a = c.ht_json("top", log, "-n", "0", "--by", "traceback", *view)
        b = c.ht_json("top", log, "-n", "0", "--by", "traceback", "--time", "0..", *view)
        expect((a["total_count"], a["total_size"]) == (b["total_count"], b["total_size"]),
               f"{view}: whole run {a['total_count']} / {a['total_size']} B, all buckets "
               f"{b['total_count']} / {b['total_size']} B")
    print(f"time window: {before[0]} allocations before 0.5 s, 50 after; all buckets = the run")


def case_cpp_classes(c):
    """record --graph: C++ objects are typed by the class their vtable names"""
    prog = os.path.join(c.fixtures, "fixture-classes")
    log, _ = c.record("classes.htr", prog, options=("--graph",))

    def growth(a, b):
        steps = c.ht_json("growth", log, a, b)
        return {t["type"]: (t["count"], t["delta"]) for t in steps[0]["types"]}

    g = growth("s0", "s1")
    expect(g.get("Node") == (5, 5) and g.get("Edge") == (3, 3), f"s0 -> s1: {g}")
    g = growth("s1", "s2")
    expect(g.get("Leaf") == (4, 4) and g.get("Node") == (3, -2), f"s1 -> s2: {g}")
    # the same classes in top --by type and in graphs
    top = {s["key"]: (s["count"], s["size"])
           for s in c.ht_json("top", log, "--by", "type", "--at", "s2", "-n", "0")["stats"]}
    expect(top.get("Leaf") == (4, 160) and top.get("Node") == (3, 120)
           and top.get("Edge") == (3, 120), f"top --by type at s2: {top}")
    view = c.ht_json("backrefs", log, "--type", "Leaf", "--at", "s2")
    leaves = [n for n in view["nodes"] if n["kind"] == "block" and n["type"] == "Leaf"]
    roots = {n["name"] for n in view["nodes"] if n["kind"] == "root"}
    expect(len(leaves) == 4 and "objects" in roots, f"backrefs of Leaf: {leaves}, {roots}")
    # without --graph there is no first word to read: the allocating function names them
    log2, _ = c.record("plain.htr", prog)
    g = {t["type"] for t in c.ht_json("growth", log2, "s0", "s1")[0]["types"]}
    expect("Node" not in g and "main" in g, f"without --graph: {g}")
    print("classes from vtables: Node +5, Edge +3, then Leaf +4, Node -2")


# ---------------------------------------------------------------------------------------
# Heap graphs (record --graph): tests/e2e/fixture-graph.c documents the heap it builds
GRAPH_CLASSES = {"definitely_lost": (212, 3), "indirectly_lost": (152, 4),
                 "possibly_lost": (200, 1), "still_reachable": (160, 5)}


def valgrind_leak_summary(argv, env=None):
    """memcheck's LEAK SUMMARY: class -> (bytes, blocks); (0, 0) for the classes it omits"""
    p = subprocess.run(["valgrind", "--leak-check=full", *argv], capture_output=True, text=True,
                       env=env)
    expect("ERROR SUMMARY" in p.stderr, f"valgrind did not run:\n{p.stderr}")
    if "All heap blocks were freed" in p.stderr:
        return {key: (0, 0) for key in GRAPH_CLASSES}
    out = {}
    for key in GRAPH_CLASSES:
        m = re.search(key.replace("_", " ") + r": ([\d,]+) bytes in ([\d,]+) blocks", p.stderr)
        expect(m, f"no '{key}' line in valgrind's output:\n{p.stderr}")
        out[key] = (int(m.group(1).replace(",", "")), int(m.group(2).replace(",", "")))
    return out


def case_graph_unreadable_heap(c):
    """a program that makes part of its heap PROT_NONE: the scan at exit does not fault (same
    output, same exit status, an end mark), and the leak classes equal memcheck's"""
    prog = os.path.join(c.fixtures, "fixture-mprotect")
    alone = subprocess.run([prog], capture_output=True, text=True)
    log, p = c.record("mprotect.htr", prog, options=("--graph",), check=False)
    expect(p.returncode == alone.returncode == 0, f"exit {p.returncode} under --graph, "
                                                  f"{alone.returncode} alone: {p.stderr[-300:]}")
    expect(p.stdout == alone.stdout, f"output changed: {p.stdout!r}")
    s = c.ht_json("summary", log)
    expect(s["end_reason"] == "exit" and s["complete"], f"end: {s['end_reason']}")
    leaks = c.ht_json("leaks", log, "--no-default-suppressions")
    ours = {k: (v["bytes"], v["blocks"]) for k, v in leaks["classes"].items()}
    theirs = valgrind_leak_summary(["--run-libc-freeres=no", prog])
    expect(ours == theirs, f"heaptrail {ours}, valgrind {theirs}")
    expect(ours["definitely_lost"] == (100, 1), f"the block only the protected page points to: "
                                                f"{ours['definitely_lost']}")
    print(f"PROT_NONE page in the heap: no fault; classes = valgrind's {ours}")


def case_graph_many_pthread_keys(c):
    """what glibc allocates for a program's 33rd and later pthread keys is the program's:
    recorded and scanned, so the block kept under key 40 is still reachable, as memcheck
    says (libunwind's own key is made before the program's)"""
    prog = os.path.join(c.fixtures, "fixture-keys")
    log, p = c.record("keys.htr", prog, options=("--graph",))
    v_allocs, _ = valgrind_total_allocs(["--run-libc-freeres=no", prog], None)
    s = c.ht_json("summary", log)
    expect(s["allocations"] == v_allocs, f"{s['allocations']} allocations, valgrind {v_allocs}")
    leaks = c.ht_json("leaks", log, "--no-default-suppressions")
    ours = {k: (v["bytes"], v["blocks"]) for k, v in leaks["classes"].items()}
    theirs = valgrind_leak_summary(["--run-libc-freeres=no", prog])
    expect(ours == theirs, f"heaptrail {ours}, valgrind {theirs}")
    print(f"40 keys: {v_allocs} allocations and the classes {ours}, as valgrind")


def case_graph_failed_realloc(c):
    """a block whose realloc fails lives on with its size, whatever SYNC marks the recorder's
    live-block table meets between the realloc's FREE and UNFREE: the 64 blocks only the
    failed reallocs' blocks point to are still reachable, as memcheck says"""
    prog = os.path.join(c.fixtures, "fixture-realloc-fail")
    theirs = valgrind_leak_summary(["--run-libc-freeres=no", prog])
    for run in range(3):
        log, p = c.record(f"realloc-fail-{run}.htr", prog, options=("--graph",))
        expect(p.stdout == "reallocs failed\n", f"output: {p.stdout!r}")
        leaks = c.ht_json("leaks", log, "--no-default-suppressions")
        ours = {k: (v["bytes"], v["blocks"]) for k, v in leaks["classes"].items()}
        expect(ours == theirs, f"run {run + 1}: heaptrail {ours}, valgrind {theirs}")
    expect(theirs["still_reachable"][1] >= 128, f"the fixture's pairs are not live: {theirs}")
    print(f"failed reallocs: 3 runs = valgrind's {theirs}")


def case_graph_dead_stack(c):
    """pointers left in frames that returned are not roots: a returned local, a leak at the
    end of a deep call chain and a large returned frame are definitely lost, as memcheck
    says, at -O0, -O1 and -O2, run after run"""
    for level in (0, 1, 2):
        prog = os.path.join(c.fixtures, f"fixture-stack-O{level}")
        theirs = valgrind_leak_summary(["--run-libc-freeres=no", prog])
        for run in range(3):
            log, _ = c.record(f"stack-O{level}-{run}.htr", prog, options=("--graph",))
            leaks = c.ht_json("leaks", log, "--no-default-suppressions")
            ours = {k: (v["bytes"], v["blocks"]) for k, v in leaks["classes"].items()}
            expect(ours == theirs, f"-O{level}, run {run + 1}: heaptrail {ours}, valgrind {theirs}")
        expect(theirs["definitely_lost"][0] >= 111 + 222,
               f"-O{level}: the fixture no longer loses its blocks: {theirs}")
        print(f"-O{level}: 3 runs = valgrind's {theirs}")


def case_graph_leak_heuristics(c):
    """memcheck's leak heuristics (stdstring, length64, newarray, multipleinheritance): all of
    them by default, none, or a list, each equal to valgrind --leak-check-heuristics=..."""
    prog = os.path.join(c.fixtures, "fixture-heuristics")
    log, _ = c.record("heuristics.htr", prog, options=("--graph",))
    for hs in ("all", "none", "stdstring", "length64,newarray", "multipleinheritance"):
        opts = [] if hs == "all" else [f"--leak-check-heuristics={hs}"]
        leaks = c.ht_json("leaks", log, "--no-default-suppressions", *opts)
        ours = {k: (v["bytes"], v["blocks"]) for k, v in leaks["classes"].items()}
        theirs = valgrind_leak_summary([f"--leak-check-heuristics={hs}", "--run-libc-freeres=no",
                                        "--run-cxx-freeres=no", prog])
        expect(ours == theirs, f"--leak-check-heuristics={hs}: heaptrail {ours}, valgrind {theirs}")
        if hs == "none":
            expect(ours["possibly_lost"][1] == 4, f"none: four blocks possibly lost: {ours}")
    p = c.ht("leaks", log, "--leak-check-heuristics=bogus", check=False)
    expect(p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr)
    print("all, none and three lists of heuristics: the classes equal valgrind's")


def case_graph_classes_vs_valgrind(c):
    """leak classes from the heap graph equal memcheck's on the same binary"""
    prog = os.path.join(c.fixtures, "fixture-graph")
    log, _ = c.record("graph.htr", prog, options=("--graph",))
    leaks = c.ht_json("leaks", log)
    ours = {k: (v["bytes"], v["blocks"]) for k, v in leaks["classes"].items()}
    theirs = valgrind_leak_summary([prog])
    expect(ours == theirs, f"heaptrail {ours}, valgrind {theirs}")
    expect(ours == GRAPH_CLASSES, f"heaptrail {ours}, the fixture says {GRAPH_CLASSES}")
    text = c.ht("leaks", log).stdout
    for line in ("definitely lost: 212 bytes in 3 blocks", "indirectly lost: 152 bytes in 4 blocks",
                 "possibly lost: 200 bytes in 1 blocks", "still reachable: 160 bytes in 5 blocks"):
        expect(line in text, f"no '{line}' in:\n{text}")
    kinds = {(l["class"], l["size"]) for l in leaks["leaks"]}
    expect(("definitely_lost", 100) in kinds and ("possibly_lost", 200) in kinds, f"{kinds}")
    # without --graph, leaks says how to get classes
    log2, _ = c.record("plain.htr", prog)
    expect("--graph" in c.ht("leaks", log2).stdout, "no hint to record with --graph")
    print(f"classes equal valgrind's: {ours}")


def case_graph_python3_vs_valgrind(c):
    """python3's four leak classes equal memcheck's, to the byte

    valgrind is run with --run-libc-freeres=no: otherwise it frees what glibc and ld.so
    keep until exit (stdio buffers, dlopen's tables) before it looks, and those blocks
    leave its figures; heaptrail sees the process as it really ends."""
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else shutil.which("python3")
    # pure-Python modules only: a C extension is dlopen'ed, and ld.so's table of loaded
    # objects then points at its block at the start or inside it from one run to the next
    code = ("import enum, dataclasses, collections, functools\n"
            "d = [{'a': i, 'b': str(i)} for i in range(20000)]; s = repr(d)")
    env = dict(os.environ, PYTHONMALLOC="malloc")
    path = os.path.join(c.work, "py.htr")
    p = subprocess.run([c.heaptrail, "record", "--graph", "-o", path, "--", py, "-c", code],
                       env=env, capture_output=True, text=True)
    expect(p.returncode == 0, f"record: {p.stderr}")
    leaks = c.ht_json("leaks", path, "--no-default-suppressions")
    ours = {k: (v["bytes"], v["blocks"]) for k, v in leaks["classes"].items()}
    theirs = valgrind_leak_summary(["--run-libc-freeres=no", "--run-cxx-freeres=no", py, "-c",
                                    code], env=env)
    expect(ours == theirs, f"heaptrail {ours}, valgrind {theirs}")
    expect(ours["possibly_lost"][1] > 0 and ours["still_reachable"][1] > 100,
           f"python3 should have possibly lost and reachable blocks: {ours}")
    print(f"python3: heaptrail = valgrind = {ours}")


def case_graph_backrefs(c):
    """backrefs, refs and chain on a list under a global; retained sizes; .dot via libcgraph"""
    prog = os.path.join(c.fixtures, "fixture-graph")
    log, _ = c.record("graph.htr", prog, options=("--graph",))
    # the list: 5 Node blocks of 32 B, the head held by g_list retains all of them
    view = c.ht_json("backrefs", log, "--type", "Node", "--too-many", "1", "--depth", "10")
    nodes = view["nodes"]
    expect(view["matched"] == 5, f"5 Node blocks expected: {view['matched']}")
    roots = [n for n in nodes if n["kind"] == "root"]
    expect([r["name"] for r in roots] == ["g_list"], f"roots: {roots}")
    blocks = [n for n in nodes if n["kind"] == "block"]
    expect(sorted(b["retained"] for b in blocks) == [32, 64, 96, 128, 160],
           f"retained along the list: {[b['retained'] for b in blocks]}")
    expect(all(b["type"] == "Node" and b["size"] == 32 and b["class"] == "still_reachable"
               for b in blocks), f"{blocks}")
    head = max(blocks, key=lambda b: b["retained"])
    # chain from the root to the tail goes through all five
    tail = min(blocks, key=lambda b: b["retained"])
    chain = c.ht_json("chain", log, "--block", tail["address"])
    names = [n.get("name") or n["type"] for n in chain["nodes"]]
    expect(names == ["g_list"] + ["Node"] * 5, f"chain: {names}")
    # an address inside a block finds that block
    inside = hex(int(head["address"], 16) + 8)
    chain = c.ht_json("chain", log, "--block", inside)
    expect(len(chain["nodes"]) == 2 and chain["nodes"][1]["address"] == head["address"],
           f"chain to {inside}: {chain['nodes']}")
    # retained by type: Node 160 B; the lost tree's root retains its whole tree (168 B)
    top = c.ht_json("top", log, "--metric", "retained", "--by", "type", "-n", "0")["stats"]
    by_type = {s["key"]: (s["size"], s["count"]) for s in top}
    expect(by_type.get("Node") == (160, 5), f"retained by type: {by_type}")
    expect(by_type.get("make_lost_tree") == (168, 4), f"retained by type: {by_type}")
    # refs: the lost tree's root points at its two children, one of them at the grandchild
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixture-graph.c")
    with open(src) as f:
        line = next(i for i, l in enumerate(f, 1) if "void **root = calloc" in l)
    refs = c.ht_json("refs", log, "--site", f"make_lost_tree:{line}")
    sizes = sorted(n["size"] for n in refs["nodes"] if n["kind"] == "block")
    expect(sizes == [24, 40, 40, 64], f"refs of the lost tree: {sizes}")
    # growth per type between the snapshots: Node 2 -> 5
    g = {t["type"]: (t["count"], t["delta"])
         for t in c.ht_json("growth", log, "before", "after")[0]["types"]}
    expect(g.get("Node") == (5, 3), f"growth: {g}")
    # .dot, read back with libcgraph
    dot = os.path.join(c.work, "node.dot")
    c.ht("backrefs", log, "--type", "Node", "-o", dot)
    parsed = json.loads(c.run(c.dot_check, dot).stdout)
    labels = [n["label"] for n in parsed["nodes"]]
    expect("g_list" in labels, f"labels: {labels}")
    expect(sum(l.startswith("Node\\n32 B") for l in labels) == 5, f"labels: {labels}")
    expect(len(parsed["edges"]) == 5, f"edges: {parsed['edges']}")
    yellow = [n for n in parsed["nodes"] if n["fillcolor"] == "#ffd54f"]
    expect(len(yellow) == 5, "the selected blocks are not highlighted")
    for ext, magic in (("svg", b"<?xml"), ("png", b"\x89PNG")):
        out = os.path.join(c.work, "node." + ext)
        c.ht("backrefs", log, "--type", "Node", "-o", out)
        with open(out, "rb") as f:
            expect(f.read(5).startswith(magic), f"{out} is not {ext}")
    bad = c.ht("backrefs", log, "--type", "NoSuchType", check=False)
    expect(bad.returncode == 2 and "NoSuchType" in bad.stderr, f"unknown type: {bad.stderr}")
    bad = c.ht("backrefs", log, "--type", "Node", "-o", os.path.join(c.work, "x.txt"),
               check=False)
    expect(bad.returncode != 0 and ".dot" in bad.stderr, f"bad extension: {bad.stderr}")
    print("list under g_list: retained 160..32, chain of 6, .dot with 6 nodes and 5 edges")


def case_graph_threads(c):
    """blocks only worker threads' stacks hold at a snapshot are reachable, from those stacks"""
    prog = os.path.join(c.fixtures, "fixture-graph-threads")
    log, p = c.record("threads.htr", prog, options=("--graph",))
    tids = [int(t) for t in p.stdout.split()]
    expect(len(tids) == 3, f"worker tids: {p.stdout}")
    for i, tid in enumerate(tids):
        view = c.ht_json("backrefs", log, "--at", "workers", "--site", "worker", "--too-many", "20")
        mine = [n for n in view["nodes"] if n["kind"] == "block" and n["size"] == 1000 + i]
        expect(len(mine) == 1 and mine[0]["class"] == "still_reachable", f"worker {i}: {mine}")
        chain = c.ht_json("chain", log, "--at", "workers", "--block", mine[0]["address"])
        expect(chain["nodes"][0].get("name") == f"stack of thread {tid}",
               f"worker {i} (tid {tid}): chain {chain['nodes']}")
    s = c.ht_json("leaks", log)["classes"]
    expect(s["definitely_lost"]["blocks"] == 0, f"at exit: {s}")
    print(f"3 workers' blocks reachable from their stacks ({tids})")


def case_graph_threads_undisturbed(c):
    """threads blocked in nanosleep, poll and read during a heap scan are stopped with
    ptrace, as LeakSanitizer stops them: no call notices (with the signal the recorder
    falls back to, nanosleep and poll return early with EINTR, which the test checks
    too), and the blocks their stacks hold are still reachable"""
    import sqlite3
    prog = os.path.join(c.fixtures, "fixture-quiet")

    def run(name, env_extra):
        log = os.path.join(c.work, name + ".htr")
        p = subprocess.run([c.heaptrail, "record", "--graph", "-o", log, "--", prog],
                           cwd=c.work, env=dict(os.environ, **env_extra), capture_output=True,
                           text=True)
        expect(p.returncode == 0, f"{name}: exit {p.returncode}: {p.stderr[-300:]}")
        c.ht("import", log)
        db = sqlite3.connect(log + ".db")
        flags, stopped = db.execute("SELECT g.flags, g.threads_stopped FROM graphs g JOIN "
                                    "snapshots s ON s.id = g.snapshot_id WHERE s.label = "
                                    "'blocked'").fetchone()
        db.close()
        return json.loads(p.stdout), flags, stopped, log

    scope = "0"
    if os.path.exists("/proc/sys/kernel/yama/ptrace_scope"):
        scope = open("/proc/sys/kernel/yama/ptrace_scope").read().strip()
    calls, flags, stopped, log = run("ptrace", {})
    if scope in ("2", "3"):
        expect(not flags & 4, "ptrace used where yama forbids it")
        print(f"yama ptrace_scope {scope}: threads stopped with the signal; not checked")
        return
    expect(flags & 4, f"the scan did not stop the threads with ptrace (flags {flags})")
    expect(stopped == 3, f"{stopped} threads stopped, 3 expected")
    expect(calls == {"nanosleep": 0, "poll": 0, "read": 0},
           f"calls disturbed by the scan: {calls}")
    db = sqlite3.connect(log + ".db")
    reach = dict(db.execute("SELECT b.size, b.reach FROM graph_blocks b JOIN snapshots s ON "
                            "s.id = b.snapshot_id WHERE s.label = 'blocked' AND b.size IN "
                            "(2001, 2002, 2003)").fetchall())
    db.close()
    expect(reach == {2001: 0, 2002: 0, 2003: 0},
           f"blocks the stopped threads' stacks hold should be still reachable: {reach}")
    # the same run with the signal: what the tracer avoids is real
    calls_sig, flags_sig, _, _ = run("signal", {"HEAPTRAIL_STOP": "signal"})
    expect(not flags_sig & 4 and calls_sig["nanosleep"] == 4,
           f"with the signal, nanosleep should return EINTR: {calls_sig}")
    print(f"ptrace: {calls}; with the signal instead: {calls_sig}")


def case_graph_escaping(c):
    """a type name full of quotes, braces, angle brackets, a newline and HTML stays text"""
    import xml.etree.ElementTree as ET
    prog = os.path.join(c.fixtures, "fixture-graph")
    log, _ = c.record("evil.htr", prog, "evil", options=("--graph",))
    evil = 'a"b{c}<d>\n<b>x</b>&amp;\\N'
    dot = os.path.join(c.work, "evil.dot")
    c.ht("backrefs", log, "--type", evil, "-o", dot)
    parsed = json.loads(c.run(c.dot_check, dot).stdout)
    want = evil.replace("\\", "\\\\").replace("\n", "\\n").replace("&", "&amp;") + "\\n16 B"
    labels = [n["label"] for n in parsed["nodes"]]
    expect(any(l.startswith(want) for l in labels), f"want {want!r} in {labels!r}")
    expect(any(l == "g_evil" for l in labels), f"no g_evil root in {labels!r}")
    svg = os.path.join(c.work, "evil.svg")
    c.ht("backrefs", log, "--type", evil, "-o", svg)
    texts = [t.text for t in ET.parse(svg).iter("{http://www.w3.org/2000/svg}text")]
    expect('a"b{c}<d>' in texts and "<b>x</b>&amp;\\N" in texts, f"svg texts: {texts!r}")
    print("labels escaped: .dot reads back, SVG is well-formed with the text intact")


def case_truncated_log(c):
    """a log cut short imports its complete part, with a warning"""
    log, _ = c.record("full.htr", os.path.join(c.fixtures, "fixture-threads"))
    full = c.ht_json("summary", log)
    data = open(log, "rb").read()
    cut = os.path.join(c.work, "cut.htr")
    for frac in (0.5, 0.9):
        with open(cut, "wb") as f:
            f.write(data[: int(len(data) * frac) + 7])  # +7: mid-chunk, not on a boundary
        if os.path.exists(cut + ".db"):
            os.unlink(cut + ".db")
        p = c.ht("import", cut)
        expect("warning" in p.stderr and "truncated" in p.stderr,
               f"no truncation warning: {p.stderr!r}")
        s = c.ht_json("summary", cut)
        expect(0 < s["allocations"] < full["allocations"],
               f"cut at {frac}: {s['allocations']} allocations of {full['allocations']}")
        expect(not s["complete"], "a truncated log claims to be complete")
    print("truncated logs import up to their last complete chunk")


def case_older_formats(c):
    """logs of formats 7 and 8 (tests/fuzz/corpus) still import, to the same numbers"""
    corpus = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "corpus")
    want = {
        # bench/micro 3000 2 256 (ages of every ALLOC, ALLOC_FREED in the pointer column)
        "micro-deep-format7.htr": dict(allocations=3003, frees=3000, leaked_blocks=0,
                                       not_freed_blocks=3, unmatched_frees=0, threads=3),
        # fixture-threads under --sample 64KiB: 8 threads' exact counts in COUNTED
        "sampled-threads-format8.htr": dict(allocations=182203, frees=182203,
                                            counted_allocations=200009, estimated=True,
                                            sample_bytes=65536, unmatched_frees=0),
    }
    for name, fields in want.items():
        log = os.path.join(c.work, name)
        shutil.copyfile(os.path.join(corpus, name), log)
        s = c.ht_json("summary", log)
        for k, v in fields.items():
            expect(s[k] == v, f"{name}: {k} {s[k]!r}, expected {v!r}")
    print("formats 7 and 8 import as they did")


def case_interrupted_import(c):
    """an import stopped by SIGINT leaves no database and no temporary file behind"""
    import time
    # a log that takes a while to import: the article example makes 4M allocations
    article = os.path.join(os.path.dirname(c.fixtures), "..", "examples", "article")
    big, _ = c.record("bigger.htr", os.path.abspath(article))
    start = time.monotonic()
    p = subprocess.Popen([c.heaptrail, "import", big], cwd=c.work, stderr=subprocess.PIPE)
    time.sleep(0.4)
    p.send_signal(signal.SIGINT)
    p.wait()
    elapsed = time.monotonic() - start
    leftovers = [f for f in os.listdir(c.work) if f.startswith((".bigger", "bigger.htr.db"))]
    expect(p.returncode == -signal.SIGINT,
           f"import exited {p.returncode} after SIGINT ({elapsed:.2f} s): not interrupted?")
    expect(not leftovers, f"left behind after SIGINT: {leftovers}")
    # and the next run starts clean
    c.ht("import", big)
    expect(os.path.exists(big + ".db"), "the next import did not write the database")
    print(f"SIGINT after 0.4 s: exit {p.returncode}, nothing left; re-import fine")


def case_bad_input(c):
    """not a log: one line on stderr, non-zero exit, no crash"""
    cases = {
        "text.htr": b"this is not a heaptrail log\n" * 10,
        "empty.htr": b"",
        "magic-only.htr": b"HTRAIL\r\n\x01\x00",
        "newer.htr": b"HTRAIL\r\n\x63\x00" + b"\x30\x00" + bytes(44),
    }
    for name, data in cases.items():
        path = os.path.join(c.work, name)
        with open(path, "wb") as f:
            f.write(data)
        for cmd in (("summary", path), ("top", path), ("import", path)):
            p = c.ht(*cmd, check=False)
            lines = p.stderr.strip().splitlines()
            expect(p.returncode == 3, f"{cmd[0]} {name}: exit {p.returncode}, expected 3")
            expect(len(lines) == 1 and lines[0].startswith(f"heaptrail: {path}: "),
                   f"{cmd[0]} {name}: stderr is not one line naming the file: {p.stderr!r}")
            expect(not os.path.exists(path + ".db"), f"{name}: a database was left behind")
    p = c.ht("summary", c.work, check=False)
    expect(p.returncode != 0 and "directory" in p.stderr, f"a directory: {p.stderr!r}")
    p = c.ht("summary", os.path.join(c.work, "missing.htr"), check=False)
    expect(p.returncode == 4 and len(p.stderr.strip().splitlines()) == 1, f"missing: {p.stderr!r}")
    print("bad inputs give one line and a non-zero exit")


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7f) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def tiny_log(records):
    """a heaptrail log (docs/FORMAT.md, version 2) with one raw thread chunk of records"""
    import struct
    header = struct.pack("<8sHHIIBBBBQQII", b"HTRAIL\r\n", 2, 48, 1, 1, 2, 64, 2, 0, 0, 1000, 1, 0)
    payload = b"".join(records)
    chunk = struct.pack("<IIIIQ", 0x4b434854, len(payload), 2, 0, 1000)
    return header + b"x" + chunk + payload


def case_bad_input_more(c):
    """more hostile inputs: unknown trace node, absurd size, foreign and newer databases"""
    import sqlite3
    zz = lambda v: varint((v << 1) ^ (v >> 63))
    cases = {
        "unknown-node.htr": tiny_log([b"\x01" + varint(1) + zz(0x1000) + varint(8)
                                      + varint(50_000_000)]),
        "absurd-size.htr": tiny_log([b"\x01" + varint(1) + zz(0x1000) + varint(1 << 50)
                                     + varint(0)]),
        "bad-varint.htr": tiny_log([b"\x01" + b"\xff" * 12]),
    }
    for name, data in cases.items():
        path = os.path.join(c.work, name)
        with open(path, "wb") as f:
            f.write(data)
        p = c.ht("summary", path, check=False)
        lines = p.stderr.strip().splitlines()
        expect(p.returncode == 3 and len(lines) == 1 and "corrupt log" in lines[0],
               f"{name}: exit {p.returncode}, {p.stderr!r}")
        expect(not os.path.exists(path + ".db"), f"{name}: a database was left behind")
    foreign = os.path.join(c.work, "foreign.db")
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.commit()
    p = c.ht("summary", foreign, check=False)
    expect(p.returncode == 3 and "not one heaptrail wrote" in p.stderr, f"foreign db: {p.stderr!r}")
    newer = os.path.join(c.work, "newer.db")
    con = sqlite3.connect(newer)
    con.execute(f"PRAGMA application_id = {0x48545244}")
    con.execute("PRAGMA user_version = 99")
    con.execute("CREATE TABLE meta (key, value)")
    con.commit()
    p = c.ht("top", newer, check=False)
    expect(p.returncode == 3 and "newer" in p.stderr and len(p.stderr.strip().splitlines()) == 1,
           f"newer db: {p.stderr!r}")
    print("unknown node, absurd size, bad varint, foreign and newer databases: one line, exit 3")


def case_bad_input_permission(c):
    """a log the user may not read: one line, exit 4 (I/O), nothing written"""
    prog = os.path.join(c.fixtures, "fixture-leaks")
    log, _ = c.record("secret.htr", prog)
    os.chmod(log, 0o000)
    argv = [c.heaptrail, "summary", log]
    if os.geteuid() == 0:
        # root reads anything: run as nobody, who may enter the directory but not read the log
        setpriv = shutil.which("setpriv")
        expect(setpriv, "setpriv (util-linux) is needed to test as root")
        d = c.work
        while d != "/":
            os.chmod(d, os.stat(d).st_mode | 0o011)
            d = os.path.dirname(d)
        argv = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    p = subprocess.run(argv, capture_output=True, text=True, cwd=c.work)
    lines = p.stderr.strip().splitlines()
    expect(p.returncode == 4 and len(lines) == 1 and "Permission denied" in lines[0]
           and lines[0].startswith("heaptrail: "), f"exit {p.returncode}: {p.stderr!r}")
    expect(not os.path.exists(log + ".db"), "a database was written")
    print(f"unreadable log: {lines[0]}")


def case_files_private(c):
    """logs and databases are 0600; .dot/.svg keep the user's umask"""
    prog = os.path.join(c.fixtures, "fixture-graph")
    log, _ = c.record("private.htr", prog, options=("--graph",))
    c.ht("import", log)
    for path in (log, log + ".db"):
        mode = os.stat(path).st_mode & 0o777
        expect(mode == 0o600, f"{path}: mode {oct(mode)}, expected 0600")
    print("log and database are 0600")


def case_cli_valgrind_clean(c):
    """the CLI under memcheck: import, top, leaks, backrefs and chain make no error, leak nothing"""
    prog = os.path.join(c.fixtures, "fixture-graph")
    log, _ = c.record("vg.htr", prog, options=("--graph",))
    supp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "valgrind.supp")
    vg = ["valgrind", "--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite",
          "--quiet", f"--suppressions={supp}"]
    for args in (["import", log], ["top", log], ["leaks", log], ["top", log, "--metric", "retained"],
                 ["backrefs", log, "--type", "Node", "-o", os.path.join(c.work, "n.svg")],
                 ["growth", log, "before", "after"]):
        p = subprocess.run(vg + [c.heaptrail, *args], capture_output=True, text=True, cwd=c.work)
        expect(p.returncode == 0, f"heaptrail {' '.join(args[:1])} under valgrind: exit "
                                  f"{p.returncode}\n{p.stderr[-3000:]}")
    print("import, top, leaks, retained, backrefs, growth: valgrind-clean")


def case_record_passthrough(c):
    """record keeps the program's stdin/stdout/exit status and says where the log went"""
    prog = os.path.join(c.fixtures, "fixture-exit")
    os.chdir(c.work)
    for f in os.listdir(c.work):
        if f.startswith("heaptrail.fixture-exit."):
            os.unlink(os.path.join(c.work, f))
    p = c.ht("record", "--", prog, "7", stdin="hello\n", check=False)
    expect(p.returncode == 7, f"exit status {p.returncode}, expected 7")
    expect(p.stdout == "read: hello\n", f"stdout changed: {p.stdout!r}")
    logs = [f for f in os.listdir(c.work) if re.match(r"heaptrail\.fixture-exit\.\d+\.htr$", f)]
    expect(len(logs) == 1, f"default log name not found: {os.listdir(c.work)}")
    expect(logs[0] in p.stderr, f"stderr does not say where the log went: {p.stderr!r}")
    mode = os.stat(os.path.join(c.work, logs[0])).st_mode & 0o777
    expect(mode == 0o600, f"log mode {oct(mode)}, expected 0600")
    p = c.ht("record", "--", "/nonexistent/prog", check=False)
    expect(p.returncode == 127 and "nonexistent" in p.stderr, f"missing program: {p.stderr!r}")
    print("record passes stdin, stdout and the exit status through")


def case_record_signal_death(c):
    """a program killed by a signal: record dies of the same signal, the log's end mark names
    it, and the program sees its signal dispositions as it would alone"""
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    cases = [
        ("kill", ["sh", "-c", "kill -SEGV $$"], "SIGSEGV"),
        ("fault", [py, "-c", "import ctypes; ctypes.string_at(0)"], "SIGSEGV"),
        ("term", ["sh", "-c", "kill -TERM $$"], "SIGTERM"),
    ]
    for name, argv, signame in cases:
        alone = subprocess.run(argv, capture_output=True)
        log = os.path.join(c.work, name + ".htr")
        p = subprocess.run([c.heaptrail, "record", "-o", log, "--", *argv], capture_output=True)
        expect(p.returncode == alone.returncode < 0,
               f"{name}: record ended with {p.returncode}, the program alone {alone.returncode}")
        s = c.ht_json("summary", log)
        expect(s["end_reason"] == signame and s["complete"],
               f"{name}: end mark {s['end_reason']!r}, expected {signame}")
        expect(f"killed by {signame}" in c.ht("summary", log).stdout, f"{name}: summary text")
    # a pipeline's SIGPIPE, as the shell reports it
    script = f"{c.heaptrail} record -o {c.work}/pipe.htr -- yes | head -1; echo ${{PIPESTATUS[0]}}"
    p = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    expect(p.stdout.split() == ["y", "141"], f"yes | head -1 under record: {p.stdout!r}")
    expect(c.ht_json("summary", f"{c.work}/pipe.htr")["end_reason"] == "SIGPIPE", "SIGPIPE mark")
    # dispositions as the program would see them alone: Python installs its SIGINT handler
    # only where SIGINT is at SIG_DFL; a C program reads SIG_DFL where it set nothing
    code = ("import signal, ctypes; print(signal.getsignal(signal.SIGINT), "
            "signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGSEGV))")
    alone = subprocess.run([py, "-c", code], capture_output=True, text=True)
    p = c.ht("record", "-o", os.path.join(c.work, "disp.htr"), "--", py, "-c", code)
    expect(p.stdout == alone.stdout, f"dispositions: {p.stdout!r}, alone {alone.stdout!r}")
    print("signal deaths pass through (SIGSEGV, SIGTERM, SIGPIPE) with their end marks; "
          f"the program sees {alone.stdout.strip()}")


def case_record_environment(c):
    """the program and the children it starts see the environment they would have alone:
    no HEAPTRAIL_* variables, the user's own LD_PRELOAD (unset, empty or set)"""
    lib = c.ht("record", "--print-recorder").stdout.strip()
    other = os.path.join(c.work, "libnothing.so")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", other, "-x", "c", "-"], input="int x;\n",
                   text=True, check=True)
    base = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    programs = [["env"], ["sh", "-c", "env; true"], ["env", "env"]]
    for preload in (None, "", other):
        env = dict(base) if preload is None else dict(base, LD_PRELOAD=preload)
        for argv in programs:
            alone = subprocess.run(argv, env=env, capture_output=True, text=True).stdout
            for opts in ([], ["--follow-exec"]):
                log = os.path.join(c.work, "env.htr")
                p = subprocess.run([c.heaptrail, "record", "-o", log, *opts, "--", *argv],
                                   env=env, capture_output=True, text=True)
                expect(p.stdout == alone,
                       f"LD_PRELOAD={preload!r} {' '.join(opts)} {argv}: the environment differs:"
                       f"\n{sorted(set(p.stdout.splitlines()) ^ set(alone.splitlines()))}")
    expect(lib not in alone, "test is broken: the recorder in the plain run")
    # the same program allocates the same with and without --follow-exec
    counts = []
    for opts in ([], ["--follow-exec"]):
        log, _ = c.record("sh.htr", "sh", "-c", "x=1; echo $x >/dev/null", options=opts)
        counts.append(c.ht_json("summary", log)["allocations"])
    expect(counts[0] == counts[1], f"sh allocates {counts[0]} without --follow-exec, "
                                   f"{counts[1]} with it")
    print(f"environment unchanged for {len(programs)} programs x 3 LD_PRELOAD settings, "
          f"with and without --follow-exec; sh allocates {counts[0]} either way")


def case_stacks_cut_and_folded(c):
    """a stack deeper than --frames says it was cut (not a new root); recursion folds"""
    log, p = c.record("deep.htr", os.path.join(c.fixtures, "fixture-deep"),
                      options=("--frames", "16"))
    exp = json.loads(p.stdout)
    def ours(stats):
        return [s for s in stats if s["key"].endswith(f"fixture-deep.c:{exp['line']}")]

    stats = ours(c.ht_json("top", log, "--by", "traceback", "-n", "0", "--allocations")["stats"])
    outer = sorted((s["traceback"][-1]["function"], s["count"]) for s in stats)
    expect(outer == [("[stack cut at 16 frames]", exp["deep"]), ("_start", exp["shallow"])],
           f"outermost frames: {outer}")
    cut = [s for s in stats if s["traceback"][-1]["function"].startswith("[stack cut")][0]
    expect(len(cut["traceback"]) == 17, f"a cut stack keeps 16 frames: {len(cut['traceback'])}")
    folded = ours(c.ht_json("top", log, "--by", "traceback", "-n", "0", "--allocations",
                            "--fold-recursion")["stats"])
    for s in folded:
        names = [f["function"] for f in s["traceback"]]
        expect(names.count("descend") == 1, f"recursion not folded: {names}")
    expect(sum(s["count"] for s in folded) == exp["deep"] + exp["shallow"], "counts changed")
    print("cut stacks end in '[stack cut at 16 frames]'; --fold-recursion leaves one 'descend'")


def case_sampling(c):
    """record --sample: per-site sizes and counts, the estimated totals and what is left at
    exit are within the tolerance the sampling's own variance gives (4 standard deviations)
    of the exact recording of the same program; that tolerance is itself within 5%.  The
    counted totals are the exact recording's"""
    import math
    prog = os.path.join(c.fixtures, "fixture-sampling")
    exact, _ = c.record("exact.htr", prog)
    rate = 8192
    sampled, _ = c.record("sampled.htr", prog, options=("--sample", "8KiB"))

    def sites(log):
        top = c.ht_json("top", log, "--allocations", "--by", "function", "-n", "10")
        return top, {s["key"]: (s["size"], s["count"]) for s in top["stats"]}
    deviations = {s["key"]: s["size_sd"] for s in sites(sampled)[0]["stats"]}
    expect("size_sd" not in sites(exact)[0]["stats"][0], "an exact recording has deviations")

    top_e, exact_sites = sites(exact)
    top_s, sampled_sites = sites(sampled)
    expect(top_s["estimated"] is True and top_s["sample_bytes"] == rate,
           f"top --json does not say it is an estimate: {top_s.get('estimated')}")
    expect(top_e["estimated"] is False, "an exact recording is called an estimate")

    def spread(count, size):
        """standard deviations of the estimated bytes and count of `count` blocks of `size`"""
        p = -math.expm1(-size / rate)
        return math.sqrt(count * size * size * (1 - p) / p), math.sqrt(count * (1 - p) / p)

    checked = 0
    for key in ("site_small", "site_medium", "site_large", "site_huge", "site_kept"):
        size, count = exact_sites[key]
        expect(key in sampled_sites, f"{key} missing from the sampled top-10")
        est_size, est_count = sampled_sites[key]
        sd_bytes, sd_count = spread(count, size // count)
        tol_bytes, tol_count = 4 * sd_bytes, 4 * sd_count
        expect(tol_bytes <= 0.05 * size, f"{key}: a tolerance of {tol_bytes / size:.1%} is no test")
        expect(abs(est_size - size) <= tol_bytes,
               f"{key}: {est_size} B estimated, {size} B exact (tolerance {tol_bytes:.0f})")
        expect(abs(est_count - count) <= max(tol_count, 1),
               f"{key}: {est_count} estimated, {count} exact (tolerance {tol_count:.0f})")
        # the deviation reports give, from the sample alone, is the one the exact run gives
        expect(abs(deviations[key] - sd_bytes) <= 0.25 * sd_bytes + 1e-6 * size,
               f"{key}: size_sd {deviations[key]:.0f} B, from the exact run {sd_bytes:.0f} B")
        print(f"{key}: {est_size / size - 1:+.2%} bytes, {est_count / count - 1:+.2%} count "
              f"(tolerance {tol_bytes / size:.2%})")
        checked += 1
    # the order of the top sites is the exact run's (their sizes differ by more than the noise)
    order = lambda top: [s["key"] for s in top["stats"] if s["key"].startswith("site_")]
    expect(order(top_s) == order(top_e), f"top order {order(top_s)}, exact {order(top_e)}")

    se, ss = c.ht_json("summary", exact), c.ht_json("summary", sampled)
    var = sum(spread(cnt, sz // cnt)[0] ** 2 for sz, cnt in exact_sites.values() if cnt)
    tol = 4 * math.sqrt(var)
    expect(abs(ss["allocated_bytes"] - se["allocated_bytes"]) <= tol,
           f"allocated {ss['allocated_bytes']} estimated, {se['allocated_bytes']} exact")
    kept_sd = spread(20000, 4000)[0]
    expect(abs(ss["not_freed_bytes"] - se["not_freed_bytes"]) <= 4 * kept_sd + 8192,
           f"left at exit {ss['not_freed_bytes']} estimated, {se['not_freed_bytes']} exact")
    expect(ss["sample_bytes"] == rate and 0 < ss["sampled_allocations"] < se["allocations"] / 20,
           f"sampled_allocations {ss['sampled_allocations']} of {se['allocations']}")
    text = c.ht("summary", sampled).stdout
    expect("one allocation per 8192 B" in text and "estimates" in text,
           f"summary does not state the rate: {text[:300]}")
    lines = [l for l in c.ht("top", sampled, "--allocations", "--by", "function").stdout
             .splitlines() if "size=" in l]
    expect(lines and all(", ±" in l for l in lines), f"top without its deviations: {lines[:2]}")
    # every allocation is counted on the way (COUNTED): the totals are the exact run's, on
    # one thread and on eight that exit before main does
    counted = [(ss, se)]
    threads = os.path.join(c.fixtures, "fixture-threads")
    counted.append((c.ht_json("summary", c.record("sampled-threads.htr", threads,
                                                  options=("--sample", "8KiB"))[0]),
                    c.ht_json("summary", c.record("exact-threads.htr", threads)[0])))
    for s, e in counted:
        expect((s["counted_allocations"], s["counted_bytes"])
               == (e["allocations"], e["allocated_bytes"]),
               f"counted {s['counted_allocations']} calls, {s['counted_bytes']} B; the exact "
               f"run {e['allocations']}, {e['allocated_bytes']} B")
    expect("counted exactly" in text, f"summary does not give the counted totals: {text[:400]}")
    # a sampled heap cannot be scanned for leaks: refused, in one line
    p = c.ht("record", "--graph", "--sample", "512KiB", "--", prog, check=False)
    expect(p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1
           and "--sample" in p.stderr, f"--graph --sample: {p.returncode} {p.stderr!r}")
    # one byte in one: every block is recorded, so every free must be found, while the
    # recorder's filter of recorded blocks grows from 4,096 buckets to a million under two
    # threads' frees; a free it missed would leave a block alive at the end
    every, _ = c.record("every.htr", prog, options=("--sample", "1"))
    sa = c.ht_json("summary", every)
    got = [sa[k] for k in ("allocations", "frees", "not_freed_blocks", "not_freed_bytes")]
    want = [se[k] for k in ("allocations", "frees", "not_freed_blocks", "not_freed_bytes")]
    expect(got == want and sa["sampled_allocations"] == se["allocations"],
           f"--sample 1: allocations, frees, blocks and bytes left {got}; exact {want}")
    p = c.ht("record", "--sample", "lots", "--", prog, check=False)
    expect(p.returncode == 2 and "--sample" in p.stderr, f"--sample lots: {p.stderr!r}")
    print(f"{checked} sites within their tolerance; {ss['sampled_allocations']} of "
          f"{se['allocations']} allocations recorded")


def case_sampled_ticks(c):
    """the recorder leaves glibc single-threaded (a thread made by pthread_create makes its
    malloc lock on every call for good): its keeper is a task glibc does not know of, and
    the program's own threads take the 10 ms ticks after recorded events, so a snapshot
    asked for from outside while the program allocates is taken then, not at its end, and
    the RSS timeline still has its samples"""
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    probe = ("import ctypes, os\n"
             "x = [bytearray(1000) for i in range(20000)]\n"
             "single = ctypes.c_char.in_dll(ctypes.CDLL(None), '__libc_single_threaded')\n"
             "print(single.value[0], len(os.listdir('/proc/self/task')))")
    for options in (("--sample", "64KiB"), ()):
        _, p = c.record("tasks.htr", py, "-c", probe, options=options)
        expect(p.stdout.split() == ["1", "2"],
               f"python3 {options}: __libc_single_threaded and tasks {p.stdout.split()}, "
               "expected 1 and 2 (the keeper)")
    # --graph's sampler is a pthread: the probe above could have read otherwise
    _, p = c.record("tasks-graph.htr", py, "-c", probe, options=("--graph",))
    expect(p.stdout.split() == ["0", "2"], f"python3 --graph: {p.stdout.split()}")
    # a tick taken after a malloc leaves the program's errno as the malloc left it (the
    # tick looks for a request file, whose absence is ENOENT)
    errno_probe = ("import ctypes, time\n"
                   "libc = ctypes.CDLL(None, use_errno=True)\n"
                   "libc.malloc.restype = ctypes.c_void_p\n"
                   "libc.free.argtypes = [ctypes.c_void_p]\n"
                   "bad = calls = 0\n"
                   "end = time.monotonic() + 0.3\n"
                   "while time.monotonic() < end:\n"
                   "    ctypes.set_errno(0)\n"
                   "    p = libc.malloc(64)\n"
                   "    bad += ctypes.get_errno() != 0\n"
                   "    libc.free(p)\n"
                   "    calls += 1\n"
                   "print(bad, calls)")
    for options in (("--sample", "1"), ()):
        _, p = c.record("errno.htr", py, "-c", errno_probe, options=options)
        bad, calls = map(int, p.stdout.split())
        expect(bad == 0 and calls > 1000, f"{options}: errno changed by {bad} of {calls} mallocs")
    # fixture-loop allocates 248 bytes a millisecond for 2 s: a recorded event every ~4 ms
    log = os.path.join(c.work, "ticks.htr")
    prog = subprocess.Popen([c.heaptrail, "record", "-o", log, "--sample", "1KiB", "--",
                             os.path.join(c.fixtures, "fixture-loop"), "2"],
                            cwd=c.work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.6)
    asked = None
    for _ in range(100):  # the program's pid, once heaptrail has started it
        kids = subprocess.run(["pgrep", "-P", str(prog.pid)], capture_output=True, text=True)
        if kids.stdout.strip():
            c.ht("snapshot", kids.stdout.split()[0], "while running")
            asked = True
            break
        time.sleep(0.05)
    out, err = prog.communicate()
    expect(asked and prog.returncode == 7, f"fixture-loop: {prog.returncode} {err[-300:]}")
    snaps = {s["label"]: s for s in c.ht_json("snapshots", log)}
    expect("while running" in snaps, f"no snapshot 'while running': {sorted(snaps)[:8]}")
    at, end = snaps["while running"]["time_s"], snaps["end"]["time_s"]
    expect(at < end - 0.5, f"the snapshot asked for at ~0.6 s was taken at {at:.3f} s, "
           f"the end at {end:.3f} s")
    import sqlite3
    db = log + ".db"
    c.ht("import", log, "-o", db)
    with sqlite3.connect(db) as conn:
        ticks = conn.execute("SELECT count(*) FROM timeline WHERE rss_bytes > 0").fetchone()[0]
    expect(ticks >= 50, f"{ticks} RSS samples in 2 s of ticks every 10 ms")
    print(f"glibc single-threaded with the keeper; a snapshot asked for while running taken at {at:.3f} s "
          f"of {end:.3f} s; {ticks} RSS samples")


def case_recorder_allocates_nothing(c):
    """the recorder allocates nothing through glibc's malloc while the program runs: a
    count of the calls that reach glibc behind libheaptrail.so (tests/e2e/preload-count.c)
    is the program's own count, under --sample and exact (its keeper is no pthread, which
    would have had glibc allocate its TLS).  An allocation of the recorder's at a random point of the
    program's run moves where glibc puts every block after it: pthread_getattr_np's, once a
    thread, made bench/micro's heap trim and grow 20-30% more often"""
    counter = os.path.join(c.fixtures, "preload-count.so")
    recorder = c.ht("record", "--print-recorder").stdout.strip()
    for prog in (["fixture-threads"], ["fixture-sampling"], ["fixture-unwind-O2"]):
        argv = [os.path.join(c.fixtures, prog[0])] + prog[1:]
        counts = {}
        for mode, preload, extra in (("bare", counter, {}),
                                     ("exact", recorder + ":" + counter, {}),
                                     ("--sample", recorder + ":" + counter,
                                      {"HEAPTRAIL_SAMPLE": "4096"})):
            out = os.path.join(c.work, f"count-{mode}")
            if os.path.exists(out):
                os.unlink(out)
            env = dict(os.environ, LD_PRELOAD=preload, COUNT_FILE=out,
                       HEAPTRAIL_OUTPUT=os.path.join(c.work, "count.htr"), **extra)
            p = subprocess.run(argv, cwd=c.work, env=env, capture_output=True, text=True)
            expect(p.returncode == 0, f"{prog[0]} ({mode}) failed: {p.stderr[-300:]}")
            with open(out) as f:
                counts[mode] = int(f.read().split()[0])
        expect(counts["--sample"] == counts["bare"] == counts["exact"],
               f"{prog[0]}: calls reaching glibc {counts}")
        print(f"{prog[0]}: {counts['bare']} calls bare, {counts['exact']} recorded, "
              f"{counts['--sample']} sampled")


def case_stack_cache(c):
    """the recorder's stack cache (ht-rec-unwind.c) gives the stack a full unwind gives, on
    every reused stack: recursion, alloca, qsort callbacks, longjmp and four threads at
    -O0, -O1 and -O2, then python3 (the native frames below the evaluation loop, walked
    alone; and --native-frames all) and sqlite3; and it is used.  So do the memo of
    stacks and their nodes (ht-rec-trace.c) and the table of Python frames met lately
    (ht-rec-python.c): each node and frame they give is the one recomputing gives"""
    import re
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    sql = ("CREATE TABLE t(a, b); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
           "FROM c WHERE x < 20000) INSERT INTO t SELECT x, hex(randomblob(20)) FROM c; "
           "CREATE INDEX i ON t(b); SELECT count(*) FROM t WHERE b LIKE 'A%';")
    programs = [([os.path.join(c.fixtures, f"fixture-unwind-O{level}")], ())
                for level in (0, 1, 2)]
    scenario = [py, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python",
                                 "scenario.py")]
    programs += [(scenario, ()), (scenario, ("--native-frames", "all"))]
    if shutil.which("sqlite3"):
        programs.append((["sqlite3", ":memory:", sql], ()))
    env = dict(os.environ, HEAPTRAIL_VERIFY_STACKS="1")
    for prog, options in programs:
        log = os.path.join(c.work, "cache.htr")
        p = subprocess.run([c.heaptrail, "record", "-o", log, *options, "--"] + prog,
                           cwd=c.work, env=env, capture_output=True, text=True)
        expect(p.returncode == 0, f"{prog[0]} failed: {p.stderr[-500:]}")
        m = re.search(r"stack cache: (\d+) stacks reused, (\d+) unwound in full, (\d+) mismatches",
                      p.stderr)
        expect(m is not None, f"{prog[0]}: no stack cache report in {p.stderr[-300:]!r}")
        reused, full, bad = map(int, m.groups())
        name = os.path.basename(prog[-1] if prog[0] == py else prog[0]) + "".join(
            " " + o for o in options)
        expect(bad == 0, f"{name}: {bad} reused stacks differ from a full unwind")
        expect(reused > full, f"{name}: the cache is hardly used ({reused} reused, {full} full)")
        m = re.search(r"stack memo: (\d+) stacks named from it, (\d+) mismatches\n"
                      r"heaptrail: Python frames: (\d+) reused, (\d+) mismatches\n"
                      r"heaptrail: outer frames kept: (\d+) stacks, (\d+) mismatches", p.stderr)
        expect(m is not None, f"{name}: no memo report in {p.stderr[-300:]!r}")
        named, memo_bad, py_reused, py_bad, kept, kept_bad = map(int, m.groups())
        expect(memo_bad == 0, f"{name}: {memo_bad} stacks named from the memo by a wrong node")
        expect(py_bad == 0, f"{name}: {py_bad} Python frames reused with a wrong address")
        expect(kept_bad == 0, f"{name}: {kept_bad} stacks whose kept outer frames differ")
        expect(named + kept > full, f"{name}: the memos are hardly used ({named} named, "
               f"{kept} kept)")
        if prog[0] == py:
            expect(py_reused > 0, f"{name}: no Python frame reused")
        print(f"{name}: {reused} stacks reused, {full} unwound in full, {named} named from the "
              f"memo, {kept} with their outer frames kept, {py_reused} Python frames reused; "
              f"none differs")


def case_export_formats(c):
    """export: pprof (read back by protoc), collapsed, speedscope (read by jq) and massif
    (read by ms_print) hold the totals summary gives, at the peak and over the run"""
    import gzip
    log, _ = c.record("export.htr", os.path.join(c.fixtures, "fixture-known"))
    s = c.ht_json("summary", log)
    peak, allocated, calls = s["peak_heap_bytes"], s["allocated_bytes"], s["allocations"]

    def export(fmt, *extra):
        out = os.path.join(c.work, f"out.{fmt}{'-'.join(extra)}")
        c.ht("export", log, "--format", fmt, "-o", out, *extra)
        return out

    # collapsed: "outer;...;inner VALUE", live bytes at the peak, or every allocation
    for extra, want in (((), peak), (("--allocations",), allocated),
                        (("--allocations", "--count"), calls)):
        lines = open(export("collapsed", *extra)).read().splitlines()
        total = sum(int(l.rsplit(" ", 1)[1]) for l in lines)
        expect(total == want, f"collapsed {extra}: {total}, summary {want}")
        expect(all(l.startswith("_start;") for l in lines), f"collapsed: not outermost first: {lines[:2]}")
    # pprof: protoc decodes it with the published schema's field numbers
    pb = export("pprof")
    raw = gzip.open(pb).read()
    proto_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "analyzer", "lib")
    text = subprocess.run(["protoc", "--decode", "perftools.profiles.Profile", "--proto_path",
                           proto_dir, "profile.proto"], input=raw, capture_output=True,
                          check=True).stdout.decode()
    values = [int(l.split(":")[1]) for l in text.splitlines() if l.strip().startswith("value:")]
    sums = [sum(values[i::4]) for i in range(4)]
    expect(sums == [calls, allocated, sums[2], peak],
           f"pprof alloc_objects, alloc_space, -, inuse_space: {sums}; summary {calls}, "
           f"{allocated}, {peak}")
    for name in ("alloc_objects", "alloc_space", "inuse_objects", "inuse_space"):
        expect(f'string_table: "{name}"' in text, f"pprof: no sample type {name}")
    # speedscope: its schema's fields, read with jq
    ss = export("speedscope")
    def jq(expr):
        return json.loads(subprocess.run(["jq", "-c", expr, ss], capture_output=True, text=True,
                                         check=True).stdout)
    expect(jq(".\"$schema\"") == "https://www.speedscope.app/file-format-schema.json", "schema")
    expect(jq("[.profiles[0].weights[]] | add") == peak, "speedscope live total")
    expect(jq("[.profiles[1].weights[]] | add") == allocated, "speedscope allocated total")
    nframes = jq(".shared.frames | length")
    expect(jq("[.profiles[].samples[][]] | max") < nframes, "a sample names a frame not in the table")
    expect(jq("[.profiles[] | (.samples | length) == (.weights | length)] | all"), "samples vs weights")
    # massif: ms_print reads it; its peak snapshot is summary's peak
    ms = export("massif")
    p = subprocess.run(["ms_print", ms], capture_output=True, text=True)
    expect(p.returncode == 0 and "Detailed snapshots" in p.stdout, f"ms_print: {p.stderr[-300:]}")
    heap, tree = None, open(ms).read().split("#-----------\nsnapshot=")
    for snap in tree[1:]:
        if "heap_tree=peak" in snap:
            heap = int(re.search(r"mem_heap_B=(\d+)", snap).group(1))
    expect(heap == peak, f"massif peak snapshot {heap}, summary {peak}")
    p = c.ht("export", log, "--format", "svg", check=False)
    expect(p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, f"bad format: {p.stderr}")
    print(f"pprof, collapsed, speedscope and massif: peak {peak} B, {allocated} B in {calls} "
          f"allocations, as summary says")


def case_check_limits(c):
    """check: exit 0 when every limit holds, 1 with one line per broken limit, 2 on a usage
    error; --json; a baseline's growth; and recording a program first (check -- PROG)"""
    prog = os.path.join(c.fixtures, "fixture-known")
    log, _ = c.record("check.htr", prog)
    s = c.ht_json("summary", log)
    peak, leaked, calls = s["peak_heap_bytes"], s["leaked_bytes"], s["allocations"]
    ok = c.ht("check", log, "--max-peak", str(peak), "--max-leaked", str(leaked),
              "--max-allocations", str(calls), check=False)
    expect(ok.returncode == 0 and ok.stderr == "", f"limits at the measured values: {ok.stderr}")
    bad = c.ht("check", log, "--max-peak", str(peak - 1), "--max-leaked", str(leaked - 1),
               "--max-allocations", str(calls), check=False)
    lines = bad.stderr.strip().splitlines()
    expect(bad.returncode == 1 and len(lines) == 2 and "--max-peak" in lines[0]
           and "--max-leaked" in lines[1], f"two broken limits: {bad.returncode} {lines}")
    j = json.loads(c.ht("check", log, "--max-peak", str(peak - 1), "--json", check=False).stdout)
    expect(j["passed"] is False and j["limits"][0]["measured"] == peak, f"json: {j}")
    usage = c.ht("check", log, "--max-peak", "a lot", check=False)
    expect(usage.returncode == 2, f"usage error: {usage.returncode}")
    usage = c.ht("check", log, "--baseline", log, check=False)
    expect(usage.returncode == 2, "--baseline without --max-growth")
    # growth against a baseline: the same program is within 0%, a bigger one is not
    same = c.ht("check", log, "--baseline", log, "--max-growth", "0", check=False)
    expect(same.returncode == 0, f"no growth: {same.stderr}")
    small, _ = c.record("small.htr", os.path.join(c.fixtures, "fixture-exit"), "0", stdin="x\n")
    grew = c.ht("check", log, "--baseline", small, "--max-growth", "10", check=False)
    expect(grew.returncode == 1 and "--max-growth" in grew.stderr, f"growth: {grew.stderr}")
    # record and check in one go; the program's failure fails the check
    run = c.ht("check", "--max-peak", "1GiB", "-o", os.path.join(c.work, "run.htr"), "--", prog,
               check=False)
    expect(run.returncode == 0, f"check -- PROG: {run.stderr}")
    fails = c.ht("check", "--max-peak", "1GiB", "--", "sh", "-c", "exit 3", check=False)
    expect(fails.returncode == 1 and "exit status 3" in fails.stderr, f"failing program: {fails.stderr}")
    print(f"check: limits at peak {peak} B, leaked {leaked} B, {calls} allocations")


def case_heaptrack_recordings(c):
    """a recording Debian's heaptrack made (heaptrack.PROG.PID.zst) opens as it is: calls,
    peak, leaked bytes and the calls of each site equal heaptrack_print's on the same file,
    and every command without a heap graph answers on it"""
    if not shutil.which("heaptrack") or not shutil.which("heaptrack_print"):
        print("heaptrack is not installed: nothing to compare with")
        return
    prog = os.path.join(c.fixtures, "fixture-known")
    p = subprocess.run(["heaptrack", "-o", os.path.join(c.work, "heaptrack.fixture-known"), prog],
                       capture_output=True, text=True, cwd=c.work)
    recs = [f for f in os.listdir(c.work) if f.startswith("heaptrack.fixture-known")]
    expect(p.returncode == 0 and recs, f"heaptrack failed: {p.stderr[-400:]}")
    rec = os.path.join(c.work, recs[0])
    out = subprocess.run(["heaptrack_print", rec], capture_output=True, text=True).stdout

    def figure(label):
        m = re.search(label + r": ([0-9.]+)([KMGT]?)B?", out)
        expect(m is not None, f"heaptrack_print has no '{label}'")
        return float(m.group(1)), {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}[m.group(2)]

    s = c.ht_json("summary", rec)
    calls, _ = figure("calls to allocation functions")
    expect(s["allocations"] == calls, f"calls: {s['allocations']}, heaptrack_print {calls}")
    for label, ours in (("peak heap memory consumption", s["peak_heap_bytes"]),
                        ("total memory leaked", s["not_freed_bytes"])):
        value, unit = figure(label)
        expect(abs(ours - value * unit) <= unit * 0.005 + 1,
               f"{label}: {ours} B, heaptrack_print {value}{unit:g}")
    # each site's calls: heaptrack_print's "N calls to allocation functions ... from / main /
    # at FILE:LINE" against top --allocations --by line
    theirs = {}
    for m in re.finditer(r"(\d+) calls to allocation functions with [^\n]*\n(\S[^\n]*)\n\s+at ([^\n]+)", out):
        theirs.setdefault(m.group(3).strip(), int(m.group(1)))
    ours = {st["key"]: st["count"] for st in
            c.ht_json("top", rec, "--allocations", "--by", "line", "-n", "0")["stats"]}
    fixture_sites = {k: v for k, v in theirs.items() if "fixture-known.c" in k}
    expect(len(fixture_sites) >= 5, f"few sites in heaptrack_print: {theirs}")
    for site, n in fixture_sites.items():
        mine = [v for k, v in ours.items() if k.endswith(os.path.basename(site))]
        expect(mine == [n], f"{site}: {mine} calls, heaptrack_print {n}")
    # the same recording gzip-compressed, as older heaptracks wrote it
    gz = os.path.join(c.work, "heaptrack.fixture-known.1.gz")
    subprocess.run(f"zstd -dc < '{rec}' | gzip -c > '{gz}'", shell=True, check=True)
    sg = c.ht_json("summary", gz)
    expect((sg["allocations"], sg["peak_heap_bytes"]) == (s["allocations"], s["peak_heap_bytes"]),
           f".gz: {sg['allocations']} calls, peak {sg['peak_heap_bytes']}")
    # cut short: a clear error, no crash
    cut = os.path.join(c.work, "heaptrack.cut.2.zst")
    with open(rec, "rb") as f, open(cut, "wb") as g:
        g.write(f.read()[:-200])
    p = c.ht("summary", cut, check=False)
    expect(p.returncode in (0, 3) and "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) <= 2,
           f"a cut heaptrack file: {p.returncode} {p.stderr}")
    for cmd in (("top", "--at", "end"), ("snapshots",), ("leaks",), ("growth",),
                ("export", "--format", "collapsed")):
        p = c.ht(cmd[0], rec, *cmd[1:], check=False)
        expect(p.returncode == 0 and p.stdout, f"{cmd[0]} on a heaptrack recording: {p.stderr}")
    print(f"heaptrack's {os.path.basename(rec)}: {calls:.0f} calls, peak {s['peak_heap_bytes']} B, "
          f"{len(fixture_sites)} sites as heaptrack_print says")


def case_attach(c):
    """heaptrail attach PID: a program allocating in a loop is recorded from the middle of its
    run, twice in a row and then until it exits; per-site counts follow its loop, a free of a
    block from before the attach counts apart, and its output and exit status are its own"""
    if not shutil.which("gdb"):
        print("gdb is not installed: attach cannot load the recorder")
        return
    go = os.path.join(c.work, "go")
    prog = subprocess.Popen([os.path.join(c.fixtures, "fixture-loop"), "6", go],
                            stdout=subprocess.PIPE, text=True)
    logs = [os.path.join(c.work, f"attach{i}.htr") for i in range(3)]
    # first: --duration; the program frees its early block while attached
    first = subprocess.Popen([c.heaptrail, "attach", str(prog.pid), "-o", logs[0], "--duration",
                              "1.5"], stderr=subprocess.PIPE, text=True)
    for _ in range(200):
        if os.path.exists(logs[0]):
            break
        time.sleep(0.05)
    time.sleep(0.2)
    open(go, "w").close()
    err = first.communicate()[1]
    expect(first.returncode == 0 and "detached" in err, f"first attach: {err}")
    # second, right after; third, until the program exits
    second = c.ht("attach", str(prog.pid), "-o", logs[1], "--duration", "0.8", check=False)
    expect(second.returncode == 0, f"second attach: {second.stderr}")
    third = c.ht("attach", str(prog.pid), "-o", logs[2], check=False)
    expect(third.returncode == 0 and "exited" in third.stderr, f"third attach: {third.stderr}")
    out, _ = prog.communicate()
    expect(prog.returncode == 7 and out.startswith("rounds "),
           f"the program's output and status: {out!r}, {prog.returncode}")
    for i, log in enumerate(logs):
        s = c.ht_json("summary", log)
        expect(s["attached"] is True, f"log {i} does not say it was attached")
        expect(s["end_reason"] == ("exit" if i == 2 else "detach"), f"log {i}: {s['end_reason']}")
        sites = {st["key"]: (st["count"], st["size"]) for st in
                 c.ht_json("top", log, "--allocations", "--by", "function", "-n", "0")["stats"]}
        a, b = sites.get("site_a", (0, 0)), sites.get("site_b", (0, 0))
        expect(a[0] > 100 and abs(b[0] - 2 * a[0]) <= 2 and a[1] == 48 * a[0]
               and b[1] == 100 * b[0], f"log {i}: site_a {a}, site_b {b}")
        if i == 0:
            expect(s["unmatched_frees"] >= 1 and s["frees"] <= s["allocations"],
                   f"the early block's free: {s['unmatched_frees']} apart, frees {s['frees']}")
        print(f"attach {i}: site_a {a[0]}, site_b {b[0]}, {s['unmatched_frees']} frees from before")
    # refused, in one line: no such process; a process not ours to trace
    p = c.ht("attach", "999999999", check=False)
    expect(p.returncode != 0 and len(p.stderr.strip().splitlines()) == 1, f"no process: {p.stderr}")
    if os.geteuid() == 0 and shutil.which("runuser"):
        other = subprocess.Popen([os.path.join(c.fixtures, "fixture-loop"), "3"],
                                 stdout=subprocess.DEVNULL)
        p = subprocess.run(["runuser", "-u", "nobody", "--", c.heaptrail, "attach",
                            str(other.pid)], capture_output=True, text=True, cwd="/tmp")
        other.kill()
        other.wait()
        expect(p.returncode == 1 and len(p.stderr.strip().splitlines()) == 1
               and "ptrace is not permitted" in p.stderr and "root" in p.stderr,
               f"another user's process: {p.returncode} {p.stderr}")
        print(f"refused: {p.stderr.strip()}")


def case_growth_without_snapshots(c):
    """growth on a recording where the program took no snapshot says what it compares"""
    log, _ = c.record("nosnap.htr", os.path.join(c.fixtures, "fixture-deep"))
    out = c.ht("growth", log).stdout.splitlines()
    expect(out and out[0].startswith("The program took no snapshots: growth from the first one"),
           f"growth printed {out[:3]}")
    expect(len(out) >= 2, f"growth compared nothing: {out}")
    print(out[0])


def case_program_naming(c):
    """the program is named as the user ran it (a symlink is not resolved), and a program
    that never allocates still has its main thread"""
    link = os.path.join(c.work, "my-program")
    os.symlink(os.path.join(c.fixtures, "fixture-exit"), link)
    log, _ = c.record("link.htr", "./my-program", "0", stdin="x\n")
    exe = c.ht_json("summary", log)["exe"]
    expect(exe == link, f"exe {exe!r}, the user ran {link!r}")
    log, _ = c.record("true.htr", "true")
    s = c.ht_json("summary", log)
    expect(s["threads"] == 1, f"'true' has {s['threads']} threads")
    help_text = c.ht("--help").stdout + c.ht("record", "--help", check=False).stderr
    for opt in ("--follow-fork", "--no-follow-exec", "--graph", "--frames", "--print-recorder"):
        expect(help_text.count(opt) >= 2, f"{opt} missing from heaptrail --help")
    print(f"named {exe}; 'true' has 1 thread; --help lists record's options")


def case_python_wrapper_and_allocator(c):
    """python3 behind a wrapper script (as pyenv's shim is): the recording follows the exec
    into the interpreter, names it, and sets PYTHONMALLOC=malloc unless the user chose"""
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    wrapper = os.path.join(c.work, "python-wrapper")
    with open(wrapper, "w") as f:
        f.write(f"#!/bin/sh\nexec env {py} \"$@\"\n")
    os.chmod(wrapper, 0o755)
    code = "import os; x = [dict(a=i) for i in range(3000)]; print(os.environ.get('PYTHONMALLOC'))"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONMALLOC"}
    log = os.path.join(c.work, "wrapped.htr")
    p = subprocess.run([c.heaptrail, "record", "-o", log, "--", wrapper, "-c", code],
                       capture_output=True, text=True, env=env)
    expect(p.returncode == 0 and p.stdout == "malloc\n", f"PYTHONMALLOC seen: {p.stdout!r}")
    lines = [l for l in p.stderr.splitlines() if "PYTHONMALLOC" in l]
    expect(len(lines) == 1, f"one line on stderr about PYTHONMALLOC: {p.stderr!r}")
    s = c.ht_json("summary", log)
    chain = s["exec_chain"].split(" \u2192 ")
    expect(chain[0] == "python-wrapper" and chain[-1].startswith("python3"),
           f"exec chain {s['exec_chain']!r}")
    expect("python3" in s["command_line"] and "-c" in s["command_line"],
           f"summary names {s['command_line']!r}, not the interpreter")
    expect(s["allocations"] > 3000, f"{s['allocations']} allocations: dicts not malloc blocks?")
    p = subprocess.run([c.heaptrail, "record", "-o", log, "--", wrapper, "-c", code],
                       capture_output=True, text=True, env=dict(env, PYTHONMALLOC="pymalloc"))
    expect(p.stdout == "pymalloc\n" and "PYTHONMALLOC=malloc" not in p.stderr,
           f"the user's PYTHONMALLOC was overridden: {p.stdout!r} {p.stderr!r}")
    print(f"recorded through {s['exec_chain']}; PYTHONMALLOC=malloc said once; the user's kept")


PY_MODULE_PROGRAM = """
import heaptrail

class Node:
    pass

seq = []

@heaptrail.trace("build")
def build():
    for i in range(250):
        seq.append(heaptrail.tag(Node()))

heaptrail.snapshot("start")
build()
print(heaptrail.is_recording())
"""


def case_python_module(c):
    """import heaptrail: found with no install step under record, a no-op without it;
    snapshot, tag and the article's decorator reach the recorder"""
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    script = os.path.join(c.work, "prog.py")
    with open(script, "w") as f:
        f.write(PY_MODULE_PROGRAM)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONMALLOC")}
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..",
                       "recorder", "python")
    alone = subprocess.run([py, script], capture_output=True, text=True,
                           env=dict(env, PYTHONPATH=src))
    expect(alone.returncode == 0 and alone.stdout == "False\n",
           f"without the recorder: {alone.stdout!r} {alone.stderr!r}")
    log = os.path.join(c.work, "prog.htr")
    p = subprocess.run([c.heaptrail, "record", "-o", log, "--", py, script], capture_output=True,
                       text=True, env=env)
    expect(p.returncode == 0 and p.stdout == "True\n", f"under record: {p.stdout!r} {p.stderr!r}")
    labels = [l.split()[0] for l in c.ht("snapshots", log).stdout.splitlines()[1:]]
    for want in ("start", "build:before", "build:after"):
        expect(want in labels, f"snapshot {want} missing: {labels}")
    growth = c.ht("growth", log, "build:before", "build:after").stdout
    expect(re.search(r"^Node\s+250\s+\+250$", growth, re.M), f"growth:\n{growth}")
    print("import heaptrail: no-op alone; under record 3 snapshots and Node +250")


def python_interpreters():
    """Debian's python3 (3.11), and 3.12 / 3.13 where installed (PATH, pyenv)"""
    found = {}
    candidates = ["/usr/bin/python3"] + [shutil.which(f"python3.{m}") or "" for m in (11, 12, 13)]
    root = os.path.expanduser("~/.pyenv/versions")
    if os.path.isdir(root):
        for v in sorted(os.listdir(root)):
            candidates.append(os.path.join(root, v, "bin", "python3"))
    for py in candidates:
        if not py or not os.path.exists(py):
            continue
        p = subprocess.run([py, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                           capture_output=True, text=True)
        ver = p.stdout.strip()
        if p.returncode == 0 and ver in ("3.11", "3.12", "3.13") and ver not in found:
            found[ver] = py
    return found


def case_python_vs_tracemalloc(c):
    """Python frames: heaptrail's live memory per line of a Python program equals the real
    tracemalloc's statistics('lineno') at the same moment (within 2%), on every supported
    interpreter installed here"""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python",
                          "scenario.py")
    script = os.path.realpath(script)
    interpreters = python_interpreters()
    expect("3.11" in interpreters, f"Debian's python3 (3.11) is needed: {interpreters}")
    for ver, py in sorted(interpreters.items()):
        env = dict(os.environ, PYTHONMALLOC="malloc")
        env.pop("PYTHONPATH", None)
        p = subprocess.run([py, script, "tracemalloc"], capture_output=True, text=True, env=env)
        expect(p.returncode == 0, f"{py} under tracemalloc: {p.stderr[-500:]}")
        truth = {s["line"]: s for s in json.loads(p.stdout) if s["size"] >= 10000}
        expect(len(truth) >= 5, f"{ver}: tracemalloc found only {truth}")
        env.pop("PYTHONMALLOC")  # record sets it
        log = os.path.join(c.work, f"scenario-{ver}.htr")
        p = subprocess.run([c.heaptrail, "record", "-o", log, "--", py, script, "heaptrail"],
                           capture_output=True, text=True, env=env)
        expect(p.returncode == 0, f"{py} under record: {p.stderr[-500:]}")
        stats = c.ht_json("top", log, "--at", "moment", "-n", "0")["stats"]
        ours = by_line(stats, "scenario.py")
        worst = 0.0
        for line, t in sorted(truth.items()):
            got = ours.get(line)
            expect(got, f"{ver}: scenario.py:{line} missing from heaptrail's top")
            for key in ("size", "count"):
                expect(abs(got[key] - t[key]) <= 0.02 * t[key],
                       f"{ver}: scenario.py:{line} {key}: heaptrail {got[key]}, tracemalloc "
                       f"{t[key]}")
                worst = max(worst, abs(got[key] - t[key]) / t[key])
        print(f"Python {ver} ({py}): {len(truth)} lines within 2% of tracemalloc's "
              f"(the farthest {worst:.3%} apart)")
    missing = sorted({"3.11", "3.12", "3.13"} - set(interpreters))
    if missing:
        print("not installed here, not tested: Python " + ", ".join(missing))
    # an interpreter of another version: one warning line, native frames only
    root = os.path.expanduser("~/.pyenv/versions")
    others = sorted(os.path.join(root, v, "bin", "python3") for v in
                    (os.listdir(root) if os.path.isdir(root) else [])
                    if re.match(r"3\.(8|9|10)\.", v))
    for py in others[:1]:
        p = subprocess.run([c.heaptrail, "record", "-o", os.path.join(c.work, "old.htr"), "--",
                            py, "-c", "x = [dict() for i in range(100)]"],
                           capture_output=True, text=True)
        warn = [l for l in p.stderr.splitlines() if "read for 3.11 to 3.13 only" in l]
        expect(p.returncode == 0 and len(warn) == 1, f"{py}: {p.stderr!r}")
        print(f"{py}: one warning line, native frames only")


def case_python_vs_objgraph(c):
    """Python types (record --graph): growth per class equals the real objgraph's
    show_growth deltas, and the article's Test object's backrefs reach the list seq"""
    here = os.path.dirname(os.path.abspath(__file__))
    script = os.path.realpath(os.path.join(here, "..", "python", "growth.py"))
    article = os.path.realpath(os.path.join(here, "..", "..", "examples", "article_objgraph.py"))
    py = "/usr/bin/python3"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONMALLOC")}
    p = subprocess.run([py, script, "objgraph"], capture_output=True, text=True, env=env)
    expect(p.returncode == 0, f"objgraph run: {p.stderr[-800:]} (scripts/deps installs "
                              "python3-objgraph)")
    truth = json.loads(p.stdout)
    log = os.path.join(c.work, "growth.htr")
    p = subprocess.run([c.heaptrail, "record", "--graph", "-o", log, "--", py, script,
                        "heaptrail"], capture_output=True, text=True, env=env)
    expect(p.returncode == 0, f"record: {p.stderr[-800:]}")
    ours = {}
    for line in c.ht("growth", log, "before", "after").stdout.splitlines():
        m = re.match(r"^(\S+)\s+(\d+)\s+([+-]\d+)$", line)
        if m:
            ours[m.group(1)] = int(m.group(3))
    for name in ("Node", "Leaf", "list"):
        expect(ours.get(name) == truth.get(name),
               f"{name}: heaptrail growth {ours.get(name)}, objgraph {truth.get(name)}")
    # the article: who keeps Test alive
    log = os.path.join(c.work, "article.htr")
    p = subprocess.run([c.heaptrail, "record", "--graph", "-o", log, "--", py, article],
                       capture_output=True, text=True, env=env)
    expect(p.returncode == 0, f"record the article: {p.stderr[-800:]}")
    seq_line = next(i for i, l in enumerate(open(article), 1) if l.startswith("seq = list()"))
    g = c.ht_json("backrefs", log, "--type", "Test", "--at", "objgraph:after", "--depth", "4")
    lists = [n for n in g["nodes"] if n.get("type") == "list"
             and n.get("site", "").endswith(f"article_objgraph.py:{seq_line}")]
    expect(lists, "the backrefs of Test do not reach the list seq: "
                  + ", ".join(f"{n.get('type')}@{n.get('site')}" for n in g["nodes"]))
    print(f"growth Node/Leaf/list = objgraph's {[truth.get(k) for k in ('Node', 'Leaf', 'list')]}"
          f"; Test's backrefs reach seq (line {seq_line})")


def case_cli_speaks_chinese(c):
    """with LANGUAGE=zh_CN the CLI answers in Chinese"""
    log, _ = c.record("zh.htr", os.path.join(c.fixtures, "fixture-exit"), stdin="x\n")
    env = dict(os.environ, LANG="C.UTF-8", LC_ALL="", LANGUAGE="zh_CN")
    p = subprocess.run([c.heaptrail, "summary", log], cwd=c.work, env=env, capture_output=True,
                       text=True)
    expect(p.returncode == 0, p.stderr)
    expect("分配" in p.stdout and "线程数" in p.stdout, f"no Chinese in: {p.stdout!r}")
    p = subprocess.run([c.heaptrail, "top", "/dev/null"], cwd=c.work, env=env,
                       capture_output=True, text=True)
    expect("不是 heaptrail 日志或数据库" in p.stderr, f"error not translated: {p.stderr!r}")
    print(p.stderr.strip())


def case_graph_threads_handoff(c):
    """--graph: the recorder's live-block table is built by the log's writer from the
    streams' events, which reach it in any order across threads; blocks handed between
    threads (200,000, their addresses reused again and again) must be live in the exit scan
    exactly when the events say so"""
    import sqlite3
    for run in range(3):
        log, _ = c.record(f"handoff-graph{run}.htr", os.path.join(c.fixtures, "fixture-threads"),
                          options=("--graph",))
        s = c.ht_json("summary", log)
        db = sqlite3.connect(log + ".db")
        blocks = db.execute("SELECT blocks FROM graphs").fetchall()
        db.close()
        expect(len(blocks) == 1, f"one scan (at exit) expected, got {blocks}")
        expect(blocks[0][0] == s["not_freed_blocks"],
               f"run {run}: the exit scan saw {blocks[0][0]} live blocks, the events leave "
               f"{s['not_freed_blocks']}")
    print(f"exit scans saw the {s['not_freed_blocks']} blocks left, in 3 runs")


def case_threads_handoff_monotonic(c):
    """the same hand-off with CLOCK_MONOTONIC stamps, the clock of machines without an
    invariant TSC; then three more times beside a busy loop on every core, so that threads
    are preempted between taking a stamp and reading the solo name (a recorder that read
    them the other way round failed here in 3 runs of 30)"""
    os.environ["HEAPTRAIL_CLOCK"] = "monotonic"
    case_threads_handoff(c)
    case_known_allocations(c)
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(os.cpu_count() or 2)]
    try:
        for _ in range(3):
            case_threads_handoff(c)
    finally:
        for h in hogs:
            h.kill()
            h.wait()



# ---------------------------------------------------------------------------------------
# Robustness (issue 3): programs that try to break the recorder
def case_robust_fork(c):
    """fork: the child is not recorded by default; with --follow-fork it writes its own log"""
    log, p = c.record("fork.htr", c.rb(), "fork")
    exp = json_lines(p.stdout)
    expect(c.line_count(log, exp["parent_line"], "--allocations")[0] == 300, "parent's 300")
    expect(c.line_count(log, exp["child_line"], "--allocations")[0] == 0,
           "the child was recorded into the parent's log")
    child_log = os.path.join(c.work, f"heaptrail.rb.{exp['child_pid']}.htr")
    expect(not os.path.exists(child_log), "a child log was written without --follow-fork")

    log, p = c.record("fork2.htr", c.rb(), "fork", options=("--follow-fork",))
    exp = json_lines(p.stdout)
    child_log = os.path.join(c.work, f"heaptrail.rb.{exp['child_pid']}.htr")
    expect(os.path.exists(child_log), f"--follow-fork: no {child_log}")
    expect(child_log in p.stderr, f"record does not name the child's log: {p.stderr!r}")
    expect(c.line_count(log, exp["parent_line"], "--allocations")[0] == 300, "parent's 300")
    expect(c.line_count(log, exp["child_line"], "--allocations")[0] == 0, "child in parent log")
    got = c.line_count(child_log, exp["child_line"], "--allocations")[0]
    expect(got == 700, f"child's log has {got} of its 700 allocations")
    expect(c.ht_json("summary", child_log)["complete"], "the child's log is incomplete")
    print("fork: child not recorded by default; --follow-fork gives it its own exact log")


def case_robust_exec(c):
    """exec: the recording goes on in the new image, in the same log, by default; with
    --no-follow-exec the log ends with END(exec) and the new image is not recorded"""
    log, p = c.record("exec.htr", c.rb(), "exec")
    exp = json_lines(p.stdout)
    s = c.ht_json("summary", log)
    expect(s["end_reason"] == "exit", f"end reason {s['end_reason']}")
    expect(s["exec_chain"] == "rb \u2192 rb", f"exec chain {s['exec_chain']!r}")
    expect(s["command_line"].endswith("'exec-child'"), f"named {s['command_line']!r}")
    expect(c.line_count(log, exp["first_line"], "--allocations")[0] == 123, "first image's 123")
    got = c.line_count(log, exp["second_line"], "--allocations")[0]
    expect(got == 456, f"the exec'd image's 456 allocations: {got}")
    expect(c.line_count(log, exp["first_line"], "--at", "end")[0] == 0,
           "the first image's blocks outlived its exec")
    expect(s["exec_released_blocks"] >= 123, f"released by exec: {s['exec_released_blocks']}")
    expect(not [f for f in os.listdir(c.work) if f.startswith("heaptrail.rb.")],
           "a second log for the exec'd image")
    # time runs on through the exec: every snapshot lies within the recording
    times = [snap["time_s"] for snap in c.ht_json("snapshots", log)]
    expect(times and max(times) <= s["duration_s"] + 1e-6 and min(times) >= 0,
           f"snapshot times {min(times)}..{max(times)} outside 0..{s['duration_s']}")

    log, p = c.record("exec2.htr", c.rb(), "exec", options=("--no-follow-exec",))
    exp = json_lines(p.stdout)
    s = c.ht_json("summary", log)
    expect(s["end_reason"] == "exec", f"--no-follow-exec: end reason {s['end_reason']}")
    expect(c.line_count(log, exp["first_line"], "--allocations")[0] == 123, "first image's 123")
    expect(c.line_count(log, exp["second_line"], "--allocations")[0] == 0, "exec'd image recorded")
    expect(not [f for f in os.listdir(c.work) if f.startswith("heaptrail.rb.")],
           "a log for the exec'd image with --no-follow-exec")
    print("exec: one log through both images by default (123 + 456); --no-follow-exec stops "
          "at END(exec)")


def case_robust_vfork(c):
    """vfork + exec (or + _exit) in the child does not end the parent's log"""
    log, p = c.record("vfork.htr", c.rb(), "vfork")
    exp = json_lines(p.stdout)
    s = c.ht_json("summary", log)
    expect(s["end_reason"] == "exit", f"end reason {s['end_reason']}: a vfork child ended it")
    db = log + ".db"
    import sqlite3
    n = sqlite3.connect(db).execute("SELECT value FROM meta WHERE key = 'end_marks'").fetchone()[0]
    expect(n == 1, f"{n} end marks: a vfork child wrote into the parent's log")
    got = c.line_count(log, exp["line"], "--at", "end")[0]
    expect(got == exp["count"], f"{got} of the {exp['count']} blocks allocated after vfork")
    print("vfork children's exec and _exit leave the parent's log alone")


def case_robust_dlclose(c):
    """dlopen/dlclose: frames of a library loaded where another was resolve to its symbols"""
    log, p = c.record("dl.htr", c.rb(), "dl", c.robust)
    stats = {s["key"]: s for s in c.ht_json("top", log, "-n", "0", "--allocations",
                                            "--by", "function")["stats"]}
    for fn, n in (("rb_liba_make", 111), ("rb_libb_make", 222)):
        got = stats.get(fn, {}).get("count", 0)
        expect(got == n, f"{fn}: {got} allocations, expected {n}; groups: {sorted(stats)}")
    print("dlopen/dlclose: both libraries' frames resolve to their own functions")


def case_robust_thread_churn(c):
    """200 threads start, allocate and exit while three others allocate all along"""
    log, p = c.record("churn.htr", c.rb(), "churn")
    exp = json_lines(p.stdout)
    s = c.ht_json("summary", log)
    expect(s["unmatched_frees"] == 0, f"{s['unmatched_frees']} unmatched frees")
    expect(s["threads"] >= 204, f"{s['threads']} threads seen, 204 expected")
    got = c.line_count(log, exp["line"], "--at", "end")[0]
    expect(got == exp["count"], f"{got} live blocks of the short threads, {exp['count']} expected")
    print(f"thread churn: {exp['count']} blocks of 200 short threads, 0 unmatched frees")


def case_robust_sigkill(c):
    """SIGKILL mid-run: the log imports up to its last flush, losing at most ~10 ms"""
    import time
    progress = os.path.join(c.work, "progress")
    log = os.path.join(c.work, "kill.htr")
    p = subprocess.Popen([c.heaptrail, "record", "-o", log, "--", c.rb(), "kill", progress],
                         cwd=c.work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    import struct
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if os.path.exists(progress) and os.path.getsize(progress) >= 16:
            count, pid = struct.unpack("qq", open(progress, "rb").read(16))
            if count > 30000:
                break
    os.kill(pid, signal.SIGKILL)
    p.wait()
    done = struct.unpack("q", open(progress, "rb").read(8))[0]
    expect(p.returncode == -signal.SIGKILL, f"record exited {p.returncode}, not killed by SIGKILL")
    imp = c.ht("import", log)
    expect("warning" in imp.stderr, f"no warning for a killed program: {imp.stderr!r}")
    s = c.ht_json("summary", log)
    # the program makes about 100 allocations per ms: 10 ms of loss is ~1000; allow 3000
    lost = done - s["allocations"]
    expect(-10 <= lost <= 3000, f"the program made {done} allocations, the log has "
                                f"{s['allocations']} ({lost} lost)")
    print(f"SIGKILL after {done} allocations: {s['allocations']} in the log, {lost} lost")


def case_robust_exit_abort(c):
    """_exit and abort skip destructors; nothing is lost"""
    for mode, code, reason in (("_exit", 3, "_exit"), ("abort", -signal.SIGABRT, "abort")):
        log, p = c.record(mode + ".htr", c.rb(), mode, check=False)
        expect(p.returncode == code, f"{mode}: exit {p.returncode}, expected {code}")
        exp = json_lines(p.stdout)
        s = c.ht_json("summary", log)
        expect(s["end_reason"] == reason, f"{mode}: end reason {s['end_reason']}")
        got = c.line_count(log, exp["line"], "--at", "end")[0]
        expect(got == 777, f"{mode}: {got} of 777 blocks")
    print("_exit and abort: complete logs, every block there")


def case_robust_signals(c):
    """a 20 kHz timer interrupts malloc and the recorder; nothing is lost or broken"""
    log, p = c.record("signals.htr", c.rb(), "signals")
    exp = json_lines(p.stdout)
    expect(exp["ticks"] > 100, f"only {exp['ticks']} timer signals were delivered")
    got = c.line_count(log, exp["line"], "--allocations")[0]
    expect(got == exp["count"], f"{got} allocations of {exp['count']}")
    s = c.ht_json("summary", log)
    expect(s["unmatched_frees"] == 0, f"{s['unmatched_frees']} unmatched frees")
    print(f"{exp['ticks']} signals during {exp['count']} malloc/free pairs: all recorded")


def case_robust_early_constructor(c):
    """malloc in a library constructor that may run before the recorder's, free in a library
    destructor that runs after it"""
    log, p = c.record("ctor.htr", c.rb("rb-ctor"))
    exp = json_lines(p.stdout)
    got = c.line_count(log, exp["line"], "--at", "end")
    expect(got == (1, 4242), f"the constructor's block: {got}, expected (1, 4242)")
    # the 100 blocks its destructor frees after main returned: allocated, freed, not leaked
    made = c.line_count(log, exp["temp_line"], "--allocations")
    left = c.line_count(log, exp["temp_line"], "--at", "end")
    expect(made[0] == exp["temp_count"], f"the constructor's {exp['temp_count']} blocks: {made}")
    expect(left == (0, 0), f"blocks freed by a library destructor still live at the end: {left}")
    s = c.ht_json("summary", log)
    expect(s["leaked_blocks"] <= 2, f"{s['leaked_blocks']} blocks not freed, expected at most 2")
    print("the block a constructor allocated before main is there; those a destructor freed "
          "after main are freed")


def case_robust_exceptions(c):
    """C++ exceptions thrown through allocation sites: output and counts unchanged"""
    prog = c.rb("rb-except")
    want = c.run(prog).stdout
    log, p = c.record("except.htr", prog)
    expect(p.stdout == want, f"output changed: {p.stdout!r} vs {want!r}")
    v_allocs, _ = valgrind_total_allocs([prog], None)
    got = c.ht_json("summary", log)["allocations"]
    expect(got == v_allocs, f"heaptrail {got} allocations, valgrind {v_allocs}")
    print(f"exceptions: {got} allocations, as valgrind counts")


def case_robust_closed_fds(c):
    """a program that closes every descriptor and reuses 3..1023 keeps being recorded"""
    log, p = c.record("fds.htr", c.rb(), "fds")
    exp = json_lines(p.stdout)
    for k in ("before", "after"):
        got = c.line_count(log, exp[k + "_line"], "--at", "end")[0]
        expect(got == exp[k + "_count"], f"{k}: {got} of {exp[k + '_count']}")
    expect(c.ht_json("summary", log)["complete"], "the log is incomplete")
    print("closing every descriptor and dup2 onto 3..1023 did not stop the recording")


def case_robust_ld_preload(c):
    """LD_PRELOAD=libheaptrail.so and HEAPTRAIL_OUTPUT, without heaptrail record"""
    lib = subprocess.run([c.heaptrail, "record", "--print-recorder"], capture_output=True,
                         text=True).stdout.strip()
    expect(os.path.exists(lib), f"--print-recorder said {lib!r}")
    log = os.path.join(c.work, "direct.htr")
    env = dict(os.environ, LD_PRELOAD=lib, HEAPTRAIL_OUTPUT=log)
    p = subprocess.run([os.path.join(c.fixtures, "fixture-known")], env=env, cwd=c.work,
                       capture_output=True, text=True)
    expect(p.returncode == 0 and os.path.exists(log), f"no log: {p.stderr}")
    exp = json.loads(p.stdout)
    for site in exp["sites"]:
        got = c.line_count(log, site["line"], "--allocations")
        expect(got == (site["all_count"], site["all_bytes"]), f"{site['name']}: {got}")
    print("LD_PRELOAD + HEAPTRAIL_OUTPUT records exactly what heaptrail record does")


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--heaptrail", required=True)
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--robust", help="directory of the tests/robust programs")
    ap.add_argument("--dot-check", help="tests/graph/dot-check, reads .dot with libcgraph")
    args = ap.parse_args()
    try:
        CASES[args.case](Ctx(args))
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
