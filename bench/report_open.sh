#!/usr/bin/env bash
# bench/report_open.sh BMEQ [SUBJECTS] - how fast report.html of a large study opens in
# headless Chromium (issue 18: under 2 s to first paint for 200 scans). Not a timed test.
# Measures one phantom subject's two visits once, then builds a batch folder of SUBJECTS
# (default 100, so 200 scans) copies of it (tables rows and scan folders as hard links), runs
# `bmeq report --no-pictures` on it and opens the page: first paint and load as the page's
# Performance API reports them, and the page's size. Prints one line per number.
set -euo pipefail
bmeq=$(realpath "$1") subjects=${2:-100}
browser=$(command -v chromium || command -v chromium-browser)
tmp=$(mktemp -d /tmp/bmeq_report_open.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
"$bmeq" phantom -o study --subjects 1 --sessions 2 --seed 5 >/dev/null
sed '1!s|^\([^,]*\),\([^,]*\),|\1,\2,study/|' study/manifest.csv > one.csv
"$bmeq" batch one.csv -o one -j 2 --quiet >/dev/null
mkdir big
/usr/bin/python3 - one big "$subjects" <<'EOF2'
import csv, os, shutil, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for name in ("scans.csv", "lesions.csv", "response.csv", "response_interval.csv"):
    with open(os.path.join(src, name), newline="") as f:
        rows = list(csv.reader(f))
    with open(os.path.join(dst, name), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(rows[0])
        for k in range(1, n + 1):
            for r in rows[1:]:
                w.writerow(["S%03d" % k] + r[1:])
for k in range(1, n + 1):
    shutil.copytree(os.path.join(src, "01"), os.path.join(dst, "S%03d" % k),
                    copy_function=os.link)
EOF2
"$bmeq" report big --no-pictures >/dev/null
cat > probe.js <<'EOJS'
window.addEventListener('load', function(){
  var fp = performance.getEntriesByType('paint').filter(function(e){
    return e.name === 'first-contentful-paint'; })[0];
  document.documentElement.setAttribute('data-fcp', fp ? fp.startTime.toFixed(0) : 'none');
  document.documentElement.setAttribute('data-load', performance.now().toFixed(0));
  document.documentElement.setAttribute('data-images',
    performance.getEntriesByType('resource').length);
});
EOJS
{ sed 's|</body></html>||' big/report.html; printf '<script>'; cat probe.js; printf '</script></body></html>\n'; } > big/probe.html
for run in 1 2 3; do
  HOME="$tmp" timeout 120 "$browser" --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$tmp/profile$run" --dump-dom \
    "file://$tmp/big/probe.html" 2>/dev/null |
    grep -o 'data-fcp="[^"]*" data-load="[^"]*" data-images="[^"]*"' | sed "s/^/run $run: /"
done
echo "scans: $((2 * subjects)); report.html: $(stat -c %s big/report.html) bytes"
