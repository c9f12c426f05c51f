#!/usr/bin/env bash
# report.html in a real browser (Debian's chromium, headless, offline): a batch of a phantom
# study (2 subjects x 2 sessions) plus two scans that fail; the page rendered to a PNG must not
# be blank, and the DOM after the page's own script ran must list every subject and every
# failed scan. Exit 77 (skipped) only when chromium is not installed. Works as root
# (--no-sandbox) and without a writable HOME.
set -euo pipefail
bmeq=$1 data=$2 tmp=$3
tools=$(cd "$(dirname "$0")/../tools" && pwd)
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "chromium not installed: skipped"
  exit 77
fi
rm -rf "$tmp" && mkdir -p "$tmp/home"
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$tmp"

"$bmeq" phantom -o study --subjects 2 --sessions 2 --seed 5 >/dev/null
cp "$data/nifti_reader_js/not-nifti.nii" not_nifti.nii
{
  head -1 study/manifest.csv
  tail -n +2 study/manifest.csv | sed 's|^\([^,]*\),\([^,]*\),|\1,\2,study/|'
  echo "f1,01,missing.nii.gz,,0,0.0"
  echo "f2,03,not_nifti.nii,,0,0.0"
} > manifest.csv
rc=0
"$bmeq" batch manifest.csv -o out -j 2 --quiet > /dev/null || rc=$?
[ "$rc" = 6 ] || fail "batch exit $rc, expected 6 (two scans fail)"

page="file://$tmp/out/report.html"
run_browser() {
  HOME="$tmp/home" timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d "$tmp/profile.XXXX")" "$@" 2> browser.log
}
run_browser --screenshot="$tmp/shot.png" --window-size=1280,2000 "$page" > /dev/null ||
  fail "chromium --screenshot failed: $(tail -3 browser.log)"
[ -s shot.png ] || fail "no screenshot"
run_browser --dump-dom "$page" > dom.html || fail "chromium --dump-dom failed: $(tail -3 browser.log)"

/usr/bin/python3 - "$tmp" "$tools" <<'EOF2'
import html.parser, os, sys
tmp, tools = sys.argv[1], sys.argv[2]
sys.path.insert(0, tools)
import numpy as np
import png_read

w, h, ch, img, _ = png_read.read(os.path.join(tmp, "shot.png"))
assert (w, h) == (1280, 2000), (w, h)
rgb = img[..., :3].reshape(-1, 3)
colours = len(np.unique(rgb[:: 7], axis=0))
assert colours >= 200, "screenshot looks blank: %d colours" % colours
assert float(rgb.std()) >= 10, rgb.std()
# The QC thumbnails were drawn into the page: grey scan pixels and overlay red somewhere.
r, g, b = (rgb[:, k].astype(int) for k in range(3))
assert ((r - g >= 100) & (r - b >= 100)).sum() >= 20, "no edema colour in the rendered page"

class Dom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.subjects, self.failed, self.root, self.in_failed, self.cells = [], 0, {}, False, []
        self.failed_rows = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.root = a
        if tag == "section" and "subject" in (a.get("class") or ""):
            self.subjects.append(a.get("data-subject"))
        if tag == "tr" and a.get("class") == "failed-scan":
            self.in_failed, self.cells = True, []
    def handle_endtag(self, tag):
        if tag == "tr" and self.in_failed:
            self.failed_rows.append(self.cells)
            self.in_failed = False
    def handle_data(self, data):
        if self.in_failed and data.strip():
            self.cells.append(data.strip())

d = Dom()
d.feed(open(os.path.join(tmp, "dom.html"), encoding="utf-8").read())
assert d.root.get("data-script") == "ok", "the page's script did not run: %r" % d.root
assert d.subjects == ["01", "02", "f1", "f2"], d.subjects
subjects = sorted(r[0] for r in d.failed_rows)
assert subjects == ["f1", "f2"], d.failed_rows
for row in d.failed_rows:
    assert len(row) == 4 and row[3], row  # subject, session, scan, reason
print("ok: %d colours, subjects %s, failed %s" % (colours, d.subjects, subjects))
EOF2
echo "test_report_browser: ok"
