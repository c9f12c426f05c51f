#!/usr/bin/env bash
# report.html in a real browser (Debian's chromium, headless, offline): a batch of a phantom
# study (2 subjects x 2 sessions) plus two scans that fail; the page rendered to a PNG must not
# be blank, and the DOM after the page's own script ran must list every subject and every
# failed scan. Exit 77 (skipped) only when chromium is not installed (a failure under
# CI=true). Works as root (--no-sandbox) and without a writable HOME.
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
tools=$(cd "$(dirname "$0")/../tools" && pwd)
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || skip "chromium not installed"
mkdir -p "$tmp/home"
cd "$tmp"

# Subject 02's visits are measured with their T1 twins (the viewer shows STIR and T1 side
# by side), subject 01's without.
"$bmeq" phantom -o study --subjects 2 --sessions 2 --seed 5 --t1 >/dev/null
cp "$data/nifti_reader_js/not-nifti.nii" not_nifti.nii
{
  head -1 study/manifest.csv
  tail -n +2 study/manifest.csv |
    awk -F, 'BEGIN { OFS = "," } { $3 = "study/" $3; $4 = ($1 == "02") ? "study/" $4 : ""; print }'
  echo "f1,01,missing.nii.gz,,,0,0.0"
  echo "f2,03,not_nifti.nii,,,0,0.0"
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
# The every-slice viewer, driven by a test script appended to a copy of the page (mode set
# per run): opened on subject 01's first scan at the slice through its right femoral head
# (computed here from the scan record's head centre and the scan's affine with nibabel), then
# two ArrowUp presses, the slider, the overlays switched off, and the side-by-side change
# viewer. Screenshots show a different picture for a different slice, and the overlay colours
# (green heads, red edema) only while the overlays are on; the DOM says which slice and
# which layers each pane drew, and that no mosaic was requested before a viewer was opened.
k_head=$(/usr/bin/python3 - out <<'EOF2'
import csv, glob, os, sys
import nibabel as nib, numpy as np
out = sys.argv[1]
rec = dict(csv.reader(open(glob.glob(out + "/01/01/scan_record.csv")[0], newline="")))
stem = rec["stem"]
scan = [r["scan"] for r in csv.DictReader(open(out + "/scans.csv", newline=""))
        if (r["subject"], r["session"]) == ("01", "01")][0]
img = nib.load(scan)
A = img.affine
ijk = np.linalg.solve(A, np.r_[[float(x) for x in rec["right_centre"].split()], 1.0])[:3]
sp = np.sqrt((A[:3, :3] ** 2).sum(0))
ax = int(np.argmax(np.abs(A[1, :3]) / sp))
n = img.shape[ax]
k = int(round(ijk[ax]))
print(n - 1 - k if A[1, ax] > 0 else k)
EOF2
)
viewer_run() {  # mode, what (--screenshot=... or --dump-dom)
  { sed 's|</body></html>||' out/report.html
    printf '<script>var MODE=%s, KHEAD=%s;\n' "'$1'" "$k_head"; cat "$tools/../cli/drive_viewer.js"
    printf '</script></body></html>\n'; } > "out/viewer_$1.html"
  run_browser --virtual-time-budget=8000 --window-size=1400,1000 "$2" "file://$tmp/out/viewer_$1.html"
}
for mode in none open keys slider off change t1; do
  viewer_run "$mode" --dump-dom > "dom_$mode.html" || fail "chromium (viewer $mode): $(tail -3 browser.log)"
done
for mode in open keys off t1; do
  viewer_run "$mode" --screenshot="$tmp/shot_$mode.png" > /dev/null ||
    fail "chromium (viewer $mode screenshot): $(tail -3 browser.log)"
done
/usr/bin/python3 - "$tmp" "$tools" "$k_head" <<'EOF2'
import html.parser, os, sys
import numpy as np
tmp, tools, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path.insert(0, tools)
import png_read
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.el = {}
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html": self.el["html"] = a
        if a.get("id"): self.el[a["id"]] = a
def dom(mode):
    p = P(); p.feed(open(os.path.join(tmp, "dom_%s.html" % mode), encoding="utf-8").read())
    return p.el
d = dom("none")
assert d["html"].get("data-viewer") == "ok", d["html"]
assert d["html"].get("data-requested") == "", "mosaics loaded before a viewer was opened: %r" % d["html"]
assert "hidden" in d["viewer"], "viewer open at load"
n = int(dom("open")["html"]["data-n"])
n_t1 = int(dom("t1")["html"]["data-n"])
want = {"open": k, "keys": min(k + 2, n - 1), "slider": 2, "off": k, "change": k,
        "t1": n_t1 // 2}
# Only subject 02 has a T1: its scans' buttons open STIR and T1 side by side.
assert "hidden" in dom("open")["v-f1"], "a second pane for a scan without a T1"
for mode, sl in want.items():
    e = dom(mode)
    assert e["viewer"].get("data-slice") == str(sl), (mode, e["viewer"].get("data-slice"), sl)
    layers = e["viewer"].get("data-layers")
    if mode == "change":
        assert layers == "grey+change|grey+change", layers
    elif mode == "t1":
        assert layers == "grey+regions+edema|grey+regions+edema", layers
        assert "hidden" not in e["v-f1"], "the T1 pane is hidden"
        req = e["html"]["data-requested"].split()
        assert any(u.startswith("02/") and u.endswith("_slices_t1.png") for u in req), req
        continue
    elif mode == "off":
        assert layers == "grey", layers
    else:
        assert layers == "grey+regions+edema", (mode, layers)
    req = e["html"]["data-requested"].split()
    assert req and all(u.startswith(("01/01/", "01/02/")) for u in req), req
def canvas(mode, pane="v-c0"):
    w, h, ch, img, _ = png_read.read(os.path.join(tmp, "shot_%s.png" % mode))
    r = dom(mode)[pane]
    x, y, cw, chh = (int(float(r[key])) for key in ("data-x", "data-y", "data-w", "data-h"))
    assert cw > 50 and chh > 50, r
    return img[y:y + chh, x:x + cw, :3].astype(int)
a, b, off = canvas("open"), canvas("keys"), canvas("off")
green = lambda c: int(((c[..., 1] - c[..., 0] >= 60) & (c[..., 1] - c[..., 2] >= 60)).sum())
assert np.abs(a - b).mean() > 2, "the same picture after two ArrowUp presses"
assert green(a) >= 100, "no head outline colour at the head's slice: %d" % green(a)
assert green(off) == 0, "overlay colour with the overlays off: %d" % green(off)
assert np.abs(a - off).mean() > 0.5
# The T1 pane beside the STIR pane: drawn, and not a copy of the STIR.
c0, c1 = canvas("t1"), canvas("t1", "v-c1")
assert c1.shape == c0.shape and c1.std() >= 10, (c1.shape, c0.shape, c1.std())
assert np.abs(c0 - c1).mean() > 5, "the T1 pane shows the STIR"
print("ok: viewer at slice %d of %d, keys/slider/overlays/change checked" % (k, n))
EOF2

# The sign-off, driven through the page's own controls by a test script appended to a
# copy of the page: two decisions, a comment with a comma and quotes, the initials, then
# the export button. The exported review.csv (the Blob handed to the download link) is
# read back by `bmeq batch --review`.
cat > drive_review.js <<'EOJS'
(function(){
  var blob = null, orig = URL.createObjectURL;
  URL.createObjectURL = function(b){ blob = b; return orig.call(URL, b); };
  HTMLAnchorElement.prototype.click = function(){
    document.documentElement.setAttribute('data-download', this.download); };
  function set(el, v, ev){ el.value = v; el.dispatchEvent(new Event(ev)); }
  var sels = document.querySelectorAll('select.rv-decision');
  set(sels[0], 'accepted', 'change');
  set(sels[3].parentNode.querySelector('input.rv-comment'), 'motion, "both" hips', 'change');
  set(sels[3], 'excluded', 'change');
  document.getElementById('rv-export').click();      /* no initials: refused */
  document.documentElement.setAttribute('data-refused', blob === null ? 'yes' : 'no');
  set(document.getElementById('rv-reader'), 'AB', 'input');
  document.getElementById('rv-export').click();
  blob.text().then(function(t){
    var pre = document.createElement('pre'); pre.id = 'exported'; pre.textContent = t;
    document.body.appendChild(pre);
    document.documentElement.setAttribute('data-count',
      document.getElementById('rv-count').textContent); });
})();
EOJS
{ sed 's|</body></html>||' out/report.html; printf '<script>'; cat drive_review.js; printf '</script></body></html>\n'; } > out/review_drive.html
run_browser --virtual-time-budget=5000 --dump-dom "file://$tmp/out/review_drive.html" > review_dom.html ||
  fail "chromium (review) failed: $(tail -3 browser.log)"
/usr/bin/python3 - review_dom.html review.csv <<'EOF2'
import csv, html.parser, io, sys
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.root = {}; self.inpre = False; self.text = ""
    def handle_starttag(self, tag, attrs):
        if tag == "html": self.root = dict(attrs)
        if tag == "pre" and dict(attrs).get("id") == "exported": self.inpre = True
    def handle_endtag(self, tag):
        if tag == "pre": self.inpre = False
    def handle_data(self, d):
        if self.inpre: self.text += d
p = P(); p.feed(open(sys.argv[1], encoding="utf-8").read())
assert p.root.get("data-review") == "ok", p.root
assert p.root.get("data-refused") == "yes", "exported without initials"
assert p.root.get("data-download") == "review.csv", p.root
assert p.root.get("data-count", "").startswith("2 of "), p.root
rows = list(csv.DictReader(io.StringIO(p.text)))
assert [(r["subject"], r["session"], r["side"], r["decision"], r["comment"], r["reader"]) for r in rows] == [
    ("01", "01", "right", "accepted", "", "AB"),
    ("01", "02", "left", "excluded", 'motion, "both" hips', "AB")], rows
assert all(r["time"][:2] == "20" and "T" in r["time"] for r in rows), rows
open(sys.argv[2], "w", newline="").write(p.text)
print("ok: review.csv exported,", len(rows), "decisions")
EOF2
rc=0
"$bmeq" batch manifest.csv -o out --resume --quiet --review review.csv > /dev/null || rc=$?
[ "$rc" = 6 ] || fail "batch --review exit $rc"
/usr/bin/python3 - out/response.csv <<'EOF2'
import csv, sys
rows = {(r["subject"], r["side"]): r for r in csv.DictReader(open(sys.argv[1], newline=""))}
r = rows[("01", "left")]
assert r["review"] == "excluded" and r["response"] == "not_evaluable", r
assert 'excluded by reader AB: motion, "both" hips' in r["message"], r["message"]
assert rows[("01", "right")]["review"] == "" and rows[("01", "right")]["response"] != "not_evaluable"
print("ok: the exported review read back by bmeq batch --review")
EOF2
grep -q 'rv-table">in the tables: excluded' out/report.html || fail "report does not show the tables' decision"
echo "test_report_browser: ok"
