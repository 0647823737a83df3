#!/usr/bin/env bash
# po/update.sh - regenerates heaptrail.pot from the sources and merges it into every
# po/LL.po, so translators see new and changed strings.  Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
# C sources with the C parser; the .ui, desktop, metainfo and schema files with xgettext's
# own rules for them (it knows each by its extension), joined into one template.
grep '\.[ch]$' po/POTFILES.in >po/.c-files
grep -v '\.[ch]$' po/POTFILES.in >po/.data-files
xgettext --from-code=UTF-8 --language=C --keyword=_ --keyword=N_ --keyword=C_:1c,2 \
  --keyword=NC_:1c,2 --add-comments=Translators --package-name=heaptrail \
  -f po/.c-files -o po/heaptrail.pot
xgettext --from-code=UTF-8 --join-existing -f po/.data-files -o po/heaptrail.pot
rm -f po/.c-files po/.data-files
while read -r lang; do
  [[ -z $lang || $lang == \#* ]] && continue
  msgmerge --quiet --update --backup=none --no-fuzzy-matching "po/$lang.po" po/heaptrail.pot
  msgattrib --no-obsolete -o "po/$lang.po" "po/$lang.po"
  echo "$lang: $(msgfmt --statistics -o /dev/null "po/$lang.po" 2>&1)"
done < po/LINGUAS
