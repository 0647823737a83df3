#!/usr/bin/env bash
# po/update.sh - regenerates heaptrail.pot from the sources and merges it into every
# po/LL.po, so translators see new and changed strings.  Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
xgettext --from-code=UTF-8 --language=C --keyword=_ --keyword=N_ --keyword=C_:1c,2 \
  --keyword=NC_:1c,2 --add-comments=Translators --package-name=heaptrail \
  -f po/POTFILES.in -o po/heaptrail.pot
while read -r lang; do
  [[ -z $lang || $lang == \#* ]] && continue
  msgmerge --quiet --update --backup=none --no-fuzzy-matching "po/$lang.po" po/heaptrail.pot
  msgattrib --no-obsolete -o "po/$lang.po" "po/$lang.po"
  echo "$lang: $(msgfmt --statistics -o /dev/null "po/$lang.po" 2>&1)"
done < po/LINGUAS
