#!/usr/bin/env bash
# install.sh BUILD_DIR FIXTURE_DIR WORK - installs into a fresh prefix and checks that the
# installed heaptrail finds its installed recorder (not the build tree's), and that the
# header and pkg-config file are usable.
set -euo pipefail
build=$1 fixtures=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null

ht=$prefix/bin/heaptrail
[[ -x $ht ]] || { echo "FAIL: no $ht"; exit 1; }
lib=$(find "$prefix" -name libheaptrail.so)
[[ -n $lib ]] || { echo "FAIL: libheaptrail.so not installed"; exit 1; }
[[ -f $prefix/include/heaptrail.h ]] || { echo "FAIL: heaptrail.h not installed"; exit 1; }
pc=$(find "$prefix" -name heaptrail.pc)
[[ -n $pc ]] || { echo "FAIL: heaptrail.pc not installed"; exit 1; }

# the desktop app and its data
for f in bin/heaptrail-gui share/applications/org.heaptrail.Heaptrail.desktop \
         share/metainfo/org.heaptrail.Heaptrail.metainfo.xml \
         share/glib-2.0/schemas/org.heaptrail.Heaptrail.gschema.xml \
         share/icons/hicolor/scalable/apps/org.heaptrail.Heaptrail.svg \
         share/icons/hicolor/symbolic/apps/org.heaptrail.Heaptrail-symbolic.svg \
         share/mime/packages/heaptrail.xml share/locale/zh_CN/LC_MESSAGES/heaptrail.mo; do
  [[ -f $prefix/$f ]] || { echo "FAIL: $f not installed"; exit 1; }
done
grep -q '^Name\[zh_CN\]=' "$prefix/share/applications/org.heaptrail.Heaptrail.desktop" \
  || { echo "FAIL: the desktop file is not translated"; exit 1; }

# hide the build tree: copy the installed prefix elsewhere, so only the install layout works
moved=$work/moved
cp -a "$prefix" "$moved"
cd "$work"
echo hi | "$moved/bin/heaptrail" record -o inst.htr -- "$fixtures/fixture-exit" 0 >/dev/null 2>err.txt
grep -q "recorded" err.txt || { echo "FAIL: installed heaptrail did not record:"; cat err.txt; exit 1; }
"$moved/bin/heaptrail" summary inst.htr --json | grep -q '"allocations"' \
  || { echo "FAIL: summary of the installed recording"; exit 1; }

# `heaptrail` is the lean launcher: it records with GLib alone loaded and hands every other
# command to the full CLI in libexec; without it, one line says what is missing
needed=$(readelf -d "$moved/bin/heaptrail" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | tr '\n' ' ')
for l in $needed; do
  case $l in libglib-2.0.so*|libm.so*|libc.so*) ;;
    *) echo "FAIL: the launcher links $l (needed: $needed): record would wait for it"; exit 1;; esac
done
[[ -x $(find "$moved" -path '*libexec/heaptrail/heaptrail-cli') ]] || { echo "FAIL: no libexec/heaptrail/heaptrail-cli"; exit 1; }
"$moved/bin/heaptrail" --version | grep -q '^heaptrail ' || { echo "FAIL: --version through the launcher"; exit 1; }
mkdir -p alone && cp "$moved/bin/heaptrail" alone/
set +e; alone/heaptrail summary inst.htr >alone.out 2>alone.err; code=$?; set -e
[[ $code == 1 && $(wc -l <alone.err) == 1 ]] && grep -q "cannot find heaptrail-cli" alone.err \
  || { echo "FAIL: a launcher without its CLI (exit $code):"; cat alone.err; exit 1; }

# a program built against the installed header, with pkg-config
cat > api.c <<'C'
#include <heaptrail.h>
int main (void) { heaptrail_pause (); heaptrail_resume (); return heaptrail_is_recording (); }
C
PKG_CONFIG_PATH=$(dirname "$pc") cc $(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags heaptrail) api.c -o api
./api || { echo "FAIL: heaptrail_is_recording() without the recorder should be 0"; exit 1; }
"$moved/bin/heaptrail" record -o api.htr -- ./api 2>/dev/null && { echo "FAIL: under the recorder it should say 1"; exit 1; }
# an out-of-tree project gates a test on memory with find_package and heaptrail_add_test
mkdir -p project
cat > project/leaky.c <<'C'
#include <stdlib.h>
int main (int argc, char **argv) {
  int n = argc > 1 ? atoi (argv[1]) : 1;
  for (int i = 0; i < n; i++) free (malloc (1024));
  static void *kept; kept = malloc (64); /* still referenced: not freed at exit */
  return kept == NULL;
}
C
cat > project/CMakeLists.txt <<'CM'
cmake_minimum_required(VERSION 3.25)
project(uses_heaptrail C)
enable_testing()
find_package(heaptrail REQUIRED)
add_executable(leaky leaky.c)
heaptrail_add_test(NAME within COMMAND leaky 10 MAX_PEAK 1MiB MAX_LEAKED 100 MAX_ALLOCATIONS 20)
heaptrail_add_test(NAME over_peak COMMAND leaky 10 MAX_PEAK 512)
heaptrail_add_test(NAME over_leaked COMMAND leaky 1 NO_LEAKS_FROM "leaky*")
set_tests_properties(over_peak over_leaked PROPERTIES WILL_FAIL TRUE)
CM
cmake -S project -B project/build -DCMAKE_PREFIX_PATH="$moved" >project.log 2>&1 \
  || { echo "FAIL: find_package(heaptrail) in an out-of-tree project:"; cat project.log; exit 1; }
cmake --build project/build >>project.log 2>&1 || { echo "FAIL: building it"; cat project.log; exit 1; }
(cd project/build && ctest --output-on-failure >ctest.log 2>&1) \
  || { echo "FAIL: its heaptrail_add_test tests:"; cat project/build/ctest.log; exit 1; }
(cd project/build && ctest -R over_peak -V >over.log 2>&1) || true
grep -q "is over --max-peak 512 B" project/build/over.log \
  || { echo "FAIL: a broken limit says which, in one line:"; cat project/build/over.log; exit 1; }
[[ -f project/build/within.htr ]] || { echo "FAIL: the test's recording is not kept"; exit 1; }

# `import heaptrail`: in a recorded interpreter from the recorder's own python/ directory, and
# installed where the system's python3 looks for a prefix such as /usr/local
[[ -f $(dirname "$lib")/python/heaptrail.py ]] || { echo "FAIL: python/heaptrail.py not beside the recorder"; exit 1; }
site=$(cd "$prefix" && find . -path '*dist-packages/heaptrail.py' | head -1)
[[ -n $site ]] || { echo "FAIL: heaptrail.py not installed for python3"; exit 1; }
if [[ -x /usr/bin/python3 ]]; then
  want=/usr/local/${site#./}
  /usr/bin/python3 -c "import sys; sys.exit('$(dirname "$want")' not in sys.path)" \
    || { echo "FAIL: with prefix /usr/local, python3 would not find $want"; exit 1; }
  out=$(PYTHONMALLOC=malloc "$moved/bin/heaptrail" record -o py.htr -- /usr/bin/python3 -c \
        'import heaptrail; heaptrail.snapshot("from-python"); print(heaptrail.is_recording())' 2>/dev/null)
  [[ $out == True ]] || { echo "FAIL: import heaptrail in a recorded python3: $out"; exit 1; }
  "$moved/bin/heaptrail" snapshots py.htr | grep -q '^from-python' \
    || { echo "FAIL: heaptrail.snapshot() from Python left no snapshot"; exit 1; }
fi
echo "install layout works: $(cd "$prefix" && find . -type f | sort | tr '\n' ' ')"
