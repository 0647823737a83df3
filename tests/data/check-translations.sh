#!/usr/bin/env bash
# check-translations.sh SRCDIR - every translatable string of the sources is translated in
# every language of po/LINGUAS: nothing untranslated, nothing fuzzy, formats consistent.
set -euo pipefail
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$src"
# as po/update.sh extracts them: C sources, then the .ui, desktop, metainfo and schema files
grep '\.[ch]$' po/POTFILES.in >"$tmp/c-files"
grep -v '\.[ch]$' po/POTFILES.in >"$tmp/data-files"
xgettext --from-code=UTF-8 --language=C --keyword=_ --keyword=N_ --keyword=C_:1c,2 \
  --keyword=NC_:1c,2 --package-name=heaptrail -f "$tmp/c-files" -o "$tmp/heaptrail.pot"
xgettext --from-code=UTF-8 --join-existing -f "$tmp/data-files" -o "$tmp/heaptrail.pot"
status=0
while read -r lang; do
  [[ -z $lang || $lang == \#* ]] && continue
  msgmerge --quiet --no-fuzzy-matching "po/$lang.po" "$tmp/heaptrail.pot" -o "$tmp/$lang.po"
  stats=$(msgfmt --check --statistics -o /dev/null "$tmp/$lang.po" 2>&1)
  echo "$lang: $stats"
  if grep -qE 'untranslated|fuzzy' <<<"$stats"; then
    echo "FAIL: po/$lang.po is incomplete against the sources"
    status=1
  fi
done < po/LINGUAS
python3 -c 'import sys, xml.dom.minidom as m; [m.parse(f) for f in sys.argv[1:]]' data/*.xml \
  || { echo "FAIL: data/*.xml is not well-formed"; status=1; }
exit $status
