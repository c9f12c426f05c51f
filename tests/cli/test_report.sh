#!/usr/bin/env bash
# QC pictures and report.html of a batch: a phantom study (2 subjects x 2 sessions) plus a
# scan that fails, whose path holds markup. Every QC PNG is decoded (tests/tools/png_read.py,
# independent of libpng) and checked: its size, its panels, edema colour on every side that
# has edema and none on an edema-free side, resolved/persistent colours on the change
# pictures. The page: self-contained (no URL to elsewhere), every subject and the failed
# scan listed, markup from paths escaped, thumbnails linking to pictures that exist.
# `bmeq report OUT` redraws the same from OUT alone. The study figures and study_summary.csv:
# the summary recomputed independently, the figures present, PNGs byte-identical across runs.
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
tools=$(cd "$(dirname "$0")/../tools" && pwd)
cd "$tmp"

# Subject 01's visits are measured with their T1 twins, subject 02's without: the pictures
# show the T1 beside the STIR for every hip of a scan with a T1 and only for those.
"$bmeq" phantom -o study --subjects 2 --sessions 2 --seed 5 --t1 >/dev/null
{
  head -1 study/manifest.csv
  tail -n +2 study/manifest.csv |
    awk -F, 'BEGIN { OFS = "," } { $3 = "study/" $3; $4 = ($1 == "01") ? "study/" $4 : ""; print }'
  echo "x9,01,study/<b>evil&amp;.nii.gz,,,0,0.0"
} > manifest.csv
head -1 manifest.csv | grep -q '^subject,session,path,t1,' || fail "phantom manifest has no t1 column"
rc=0
"$bmeq" batch manifest.csv -o out -j 2 --quiet > batch.stdout || rc=$?
[ "$rc" = 6 ] || fail "batch exit $rc, expected 6 (one scan fails)"
grep -qx "out/report.html" batch.stdout || fail "batch does not list report.html"
[ -s out/report.html ] || fail "no report.html"

check() {
/usr/bin/python3 - out "$tools" <<'EOF2'
import csv, glob, os, re, sys
out, tools = sys.argv[1], sys.argv[2]
sys.path.insert(0, tools)
import png_read

def rows(name):
    return list(csv.DictReader(open(os.path.join(out, name), newline="")))

scans = rows("scans.csv")
resp = rows("response.csv")
ok = {(r["subject"], r["session"]) for r in scans if r["status"] != "error"}
assert len(ok) == 4, ok

def colour_mask(img, kind):
    r, g, b = (img[..., k].astype(int) for k in range(3))
    if kind == "red":
        return (r - g >= 100) & (r - b >= 100)
    if kind == "blue":
        return (b - r >= 100) & (b - g >= 50)
    if kind == "yellow":
        return (r - b >= 120) & (g - b >= 100)
    raise ValueError(kind)

def panel_count(img, p, kind):
    x, y, w, h = p[:4]
    # The R and L letters (yellow) sit at the panel's edges: leave 24 px there.
    sub = img[y:y + h, x + 24:x + w - 24]
    return int(colour_mask(sub, kind).sum())

edema_free_seen = edema_seen = 0
for subject, session in sorted(ok):
    d = os.path.join(out, subject, session)
    pics = glob.glob(d + "/*_qc.png")
    scan_pic = [p for p in pics if not p.endswith("_change_qc.png")]
    assert len(scan_pic) == 1, (d, pics)
    w, h, ch, img, text = png_read.read(scan_pic[0])
    with_t1 = subject == "01"
    # Without a T1 the picture is as it always was; with one, a T1 column beside each
    # hip's STIR column and two more lines of numbers.
    assert (w, h, ch) == ((1074, 758, 3) if with_t1 else (542, 722, 3)), (scan_pic[0], w, h, ch)
    panels = png_read.panels(text)
    assert panels, "no bmeq-panels text"
    for side in ("right", "left"):
        row = [r for r in scans if (r["subject"], r["session"], r["side"]) == (subject, session, side)][0]
        mine = [p for p in panels if p[4] == side]
        assert any(p[5] == "centre" for p in mine), (scan_pic[0], side, panels)
        t1p = [p for p in mine if p[5].startswith("t1-")]
        if not with_t1:
            assert not t1p, (scan_pic[0], side, "T1 panel on a scan without a T1", t1p)
        else:
            # Every STIR panel has its T1 twin, showing an image (not an empty panel).
            assert sorted(p[5] for p in t1p) == sorted("t1-" + p[5] for p in mine
                                                       if not p[5].startswith("t1-")), (side, mine)
            for p in t1p:
                x, y, pw, ph = p[:4]
                assert img[y:y + ph, x:x + pw].std() >= 10, (scan_pic[0], p, "blank T1 panel")
        red = sum(panel_count(img, p, "red") for p in mine)
        edema = float(row["edema_ml"])
        if edema > 0.5:
            assert red >= 50, (scan_pic[0], side, edema, red)
            assert any(p[5] == "edema" for p in mine), (scan_pic[0], side)
            edema_seen += 1
        elif edema == 0:
            assert red == 0, (scan_pic[0], side, red)
            assert not any(p[5] == "edema" for p in mine)
            edema_free_seen += 1
assert edema_seen >= 2 and edema_free_seen >= 2, (edema_seen, edema_free_seen)

change_seen = 0
for r in resp:
    d = os.path.join(out, r["subject"], r["session"])
    pics = glob.glob(d + "/*_change_qc.png")
    assert len(pics) == 1, (d, pics)
    w, h, ch, img, text = png_read.read(pics[0])
    assert w == 542 and ch == 3 and h > 600, (pics[0], w, h, ch)
    panels = png_read.panels(text)
    base = [p for p in panels if p[4] == r["side"] and p[5] == "baseline"]
    fu = [p for p in panels if p[4] == r["side"] and p[5] == "followup"]
    assert len(base) == 1 and len(fu) == 1, panels
    resolved, persistent, new = (float(r[k]) for k in ("resolved_ml", "persistent_ml", "new_ml"))
    blue = panel_count(img, base[0], "blue")
    yb, yf = panel_count(img, base[0], "yellow"), panel_count(img, fu[0], "yellow")
    if resolved > 1:
        assert blue >= 50, (pics[0], r["side"], resolved, blue)
        change_seen += 1
    if persistent > 1:
        assert yb >= 50 and yf >= 50, (pics[0], r["side"], persistent, yb, yf)
        change_seen += 1
    if resolved == persistent == new == 0:
        assert blue == 0 and yb == 0 and yf == 0 and panel_count(img, fu[0], "red") == 0, \
            (pics[0], r["side"], blue, yb, yf)
    # The follow-up panel shows no resolved edema, the baseline panel no new edema.
    assert panel_count(img, fu[0], "blue") == 0
    assert panel_count(img, base[0], "red") == 0
assert change_seen >= 2, change_seen

html = open(os.path.join(out, "report.html"), encoding="utf-8").read()
assert html.startswith("<!DOCTYPE html>")
assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//|ftp:)""", html, re.I), "external URL"
assert not re.search(r"@import|url\(", html), "external style resource"
for s in sorted({r["subject"] for r in scans}):
    assert 'data-subject="%s"' % s in html, s
assert "<b>evil" not in html and "&lt;b&gt;evil&amp;amp;" in html, "path markup not escaped"
assert html.count('class="failed-scan"') == 1
for link in re.findall(r'href="([^"]+\.png)"', html):
    assert os.path.isfile(os.path.join(out, link)), link
assert len(re.findall(r'href="([^"]+_qc\.png)"', html)) == 6
# The viewer's button carries the T1's mosaic for the scans with a T1 and only for them.
t1_buttons = re.findall(r'<button [^>]*data-kind="scan"[^>]*>', html)
assert len(t1_buttons) == 4, len(t1_buttons)
for b in t1_buttons:
    m = re.search(r'data-t1="([^"]+)"', b)
    assert bool(m) == ('data-title="01 ' in b), b
    if m:
        assert m.group(1).startswith("01/") and os.path.isfile(os.path.join(out, m.group(1))), b
assert html.count("<svg") == 2 * 3  # per subject and side (two phantom subjects, one failed)
# Each measured side shows its volume with its range, as in scans.csv; the page is well formed
# around it (every row has as many cells as the header).
for r in scans:
    if r["status"] == "ok":
        cell = '%s <span class="range"' % r["edema_ml"]
        assert cell in html and "(%s-%s)" % (r["edema_ml_low"], r["edema_ml_high"]) in html, r
for table in re.findall(r'<table class="sortable"><thead>.*?</table>', html, re.S):
    heads = table.count("<th>")
    for row in re.findall(r"<tr>.*?</tr>", table.split("</thead>")[1], re.S):
        assert row.count("<td") == heads, row
# An uncertain response is marked with its reason; the card counts them.
unc = [r for r in resp if r["uncertain"] == "yes"]
card = re.search(r'id="n-uncertain"><b>(\d+)</b>', html)
assert card and int(card.group(1)) == len(unc), (card, len(unc))
assert html.count(" (uncertain)</td>") == len(unc), len(unc)
print("ok (%d uncertain responses)" % len(unc))
EOF2
}
check || fail "pictures or page"

# Study figures and study_summary.csv: the summary recomputed here from scans.csv and
# response.csv (numpy's quantiles), a waterfall for the follow-up with one bar per hip with
# a % change, every figure an SVG (well-formed XML) and a PNG, linked from the page.
figures() {
/usr/bin/python3 - out "$tools" <<'EOF2'
import csv, glob, os, re, sys, xml.dom.minidom
import numpy as np
out, tools = sys.argv[1], sys.argv[2]
sys.path.insert(0, tools)
import png_read
rows = lambda n: list(csv.DictReader(open(os.path.join(out, n), newline="")))
scans, resp, summ = rows("scans.csv"), rows("response.csv"), rows("study_summary.csv")
visit, order = {}, {}
for r in scans:
    k = (r["subject"], r["session"])
    if k not in visit:
        order.setdefault(r["subject"], []).append(r["session"])
        visit[k] = len(order[r["subject"]]) - 1
assert [int(s["visit"]) for s in summ] == [0, 1], summ
classes = ["complete", "partial", "stable", "progression", "new", "none", "not_evaluable"]
for s in summ:
    v = int(s["visit"])
    mine = [r for r in scans if visit[(r["subject"], r["session"])] == v]
    ml = [float(r["edema_ml"]) for r in mine if r["status"] == "ok" and r["edema_ml"] != ""]
    assert int(s["scans"]) == len({(r["subject"], r["session"]) for r in mine}), s
    assert int(s["scans_failed"]) == len({(r["subject"], r["session"]) for r in mine if r["status"] == "error"}), s
    assert int(s["hips"]) == len(ml), (s, ml)
    for q, col in ((50, "edema_ml_median"), (25, "edema_ml_q1"), (75, "edema_ml_q3")):
        assert abs(float(s[col]) - np.percentile(ml, q)) <= 0.0006, (col, s[col], np.percentile(ml, q))
    rr = [r for r in resp if visit[(r["subject"], r["session"])] == v]
    pct = [float(r["change_pct"]) for r in rr if r["change_pct"] != ""]
    assert int(s["hips_with_change"]) == len(pct), s
    if v == 0:
        assert s["change_pct_median"] == "" and all(s[c] == "0" for c in classes), s
    else:
        assert len(rr) == 4, rr
        if pct:
            assert abs(float(s["change_pct_median"]) - np.percentile(pct, 50)) <= 0.06, s
        for c in classes:
            assert int(s[c]) == sum(r["response"] == c for r in rr), (c, s)
        assert int(s["early_retreatment"]) == sum(r["early_retreatment"] == "yes" for r in rr)
        assert int(s["uncertain"]) == sum(r["uncertain"] == "yes" for r in rr)
assert summ[1]["sessions"] == "02", summ[1]["sessions"]
html = open(os.path.join(out, "report.html"), encoding="utf-8").read()
for name in ("waterfall_visit1", "edema_course", "response_counts"):
    svg = os.path.join(out, "figures", name + ".svg")
    doc = xml.dom.minidom.parse(svg)
    assert doc.documentElement.tagName == "svg", svg
    w, h, ch, img, _ = png_read.read(os.path.join(out, "figures", name + ".png"))
    assert (w, h) == (760, 400), (name, w, h)
    assert len(np.unique(img.reshape(-1, ch)[::3], axis=0)) >= 20, name + ": PNG looks blank"
    assert 'src="figures/%s.svg"' % name in html and 'href="figures/%s.png"' % name in html, name
assert not os.path.exists(os.path.join(out, "figures", "waterfall_visit2.png"))
# The viewer's slice mosaics: one tile per slice, radiological display: a hip with edema on
# one side only shows its edema on the viewer's left (the patient's right) or right.
def measured_visits():
    """Each measured visit: subject, its rows by side, its output stem, its _slices.csv."""
    for (subject, session) in visit:
        mine = {r["side"]: r for r in scans if (r["subject"], r["session"]) == (subject, session)}
        if mine["right"]["status"] == "error":
            continue
        d = os.path.join(out, subject, session)
        stem = os.path.join(d, dict(csv.reader(open(d + "/scan_record.csv", newline="")))["stem"])
        yield subject, mine, stem, dict(csv.reader(open(stem + "_slices.csv", newline="")))


checked = 0
for subject, mine, stem, info in measured_visits():
    d = os.path.dirname(stem)
    n, cols, tw, th = (int(info[k]) for k in ("slices", "cols", "tile_w", "tile_h"))
    w, h, ch, img, _ = png_read.read(stem + "_slices.png")
    assert ch == 1 and w == cols * tw and h >= th * ((n + cols - 1) // cols), (d, w, h, info)
    ml = {s: float(mine[s]["edema_ml"]) for s in ("right", "left")}
    one = [s for s in ml if ml[s] > 2 and ml["left" if s == "right" else "right"] < 0.05]
    if not one:
        continue
    w, h, ch, red, _ = png_read.read(stem + "_slices_edema.png")
    a = red[..., 3] > 0
    cols_of = np.arange(w) % tw
    left = int(a[:, cols_of < tw // 2].sum()); right = int(a[:, cols_of >= tw // 2].sum())
    assert (left > 5 * right) if one[0] == "right" else (right > 5 * left), (d, one, left, right)
    checked += 1
assert checked >= 1, "no one-sided edema to check the display's sides on"
# The T1's mosaic: on the STIR's tiles for the scans with a T1, none without. Placed right,
# the edema (dark on T1) is darker there than the rest of its hip's regions (fatty marrow,
# bright): a T1 flipped left-right or shifted off the hips would not show that.
t1_checked = 0
for subject, mine, stem, info in measured_visits():
    d = os.path.dirname(stem)
    if subject != "01":
        assert "t1" not in info, (d, info)
        continue
    assert info.get("t1") == "1", (d, info)
    w, h, ch, t1 = png_read.read(stem + "_slices_t1.png")[:4]
    gw, gh = png_read.read(stem + "_slices.png")[:2]
    assert ch == 1 and (w, h) == (gw, gh), (d, w, h, gw, gh)
    roi = png_read.read(stem + "_slices_roi.png")[3][..., 3] > 0
    ede = png_read.read(stem + "_slices_edema.png")[3][..., 3] > 0
    t1 = t1[..., 0].astype(float)
    if max(float(mine[s]["edema_ml"]) for s in ("right", "left")) < 2:
        continue
    e, m = np.median(t1[ede]), np.median(t1[roi & ~ede])
    assert e + 40 < m, (d, "edema not dark on the T1 mosaic", e, m)
    t1_checked += 1
assert t1_checked >= 1, "no scan with a T1 and edema"
print("ok figures (%d hips with a %% change at follow-up 1)" % len(pct))
EOF2
}
figures || fail "study figures"
mkdir -p first_figures && cp out/figures/*.png out/study_summary.csv first_figures/
[ "$(find out -name '*.tmp*' | wc -l)" = 0 ] || fail "temporary files left behind"

# Redrawn from OUT alone: same pictures, same page (but for nothing).
rm -rf out/*/*/*_qc.png out/report.html out/figures out/study_summary.csv
"$bmeq" report out -j 2 > report.stdout 2> report.stderr || fail "bmeq report failed: $(cat report.stderr)"
grep -qx "out/report.html" report.stdout || fail "bmeq report does not print the page"
check || fail "pictures or page after bmeq report"
figures || fail "study figures after bmeq report"
cmp first_figures/study_summary.csv out/study_summary.csv || fail "study_summary.csv differs"
for f in first_figures/*.png; do
  cmp "$f" "out/figures/$(basename "$f")" ||
    fail "$(basename "$f") differs between two runs (PNGs must be deterministic)"
done
# Kept when nothing they show changed: a second report draws nothing (every picture keeps
# its time), the page is the same and the summary line says so. A scan whose row in
# scans.csv changes (its edema volume, as when it is measured again) is drawn again, and
# only its own pictures and its follow-up's change pictures (drawn on it) are.
cp out/report.html page_before.html
touch -d '2000-01-01 00:00' out/*/*/*.png
"$bmeq" report out -j 2 > /dev/null 2> kept.stderr || fail "report failed: $(cat kept.stderr)"
grep -q "pictures of 4 scans kept (unchanged)" kept.stderr || fail "not 4 scans kept: $(cat kept.stderr)"
[ -z "$(find out -name '*.png' -path 'out/*/*/*' -newermt '2000-01-02')" ] ||
  fail "pictures drawn again with nothing changed: $(find out -path 'out/*/*/*' -name '*.png' -newermt '2000-01-02' | head -3)"
cmp -s page_before.html out/report.html || fail "the page changed when the pictures were kept"
base_stem=$(basename "$(ls out/01/01/*_qc.png)" _qc.png)
/usr/bin/python3 - out/scans.csv <<'EOF2' || fail "could not edit scans.csv"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
for r in rows:
    if r["subject"] == "01" and r["session"] == "01" and r["side"] == "right":
        r["edema_ml"] = "%.3f" % (float(r["edema_ml"]) + 1.0)
with open(sys.argv[1], "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0].keys()), lineterminator="\r\n")
    w.writeheader()
    w.writerows(rows)
EOF2
"$bmeq" report out -j 2 > /dev/null 2> kept.stderr || fail "report failed: $(cat kept.stderr)"
grep -q "pictures of 2 scans kept (unchanged)" kept.stderr || fail "not 2 scans kept: $(cat kept.stderr)"
[ -n "$(find out/01/01 -name "${base_stem}_qc.png" -newermt '2000-01-02')" ] ||
  fail "01/01's pictures were not drawn again after its row changed"
[ -n "$(find out/01/02 -name '*_change_qc.png' -newermt '2000-01-02')" ] ||
  fail "01/02's change picture (drawn on 01/01) was not drawn again"
[ -z "$(find out/02 -name '*.png' -newermt '2000-01-02')" ] || fail "subject 02's pictures were drawn again"
# --no-pictures writes only the page and still links the pictures that exist.
"$bmeq" report out --no-pictures > /dev/null 2>&1 || fail "--no-pictures failed"
[ "$(grep -o 'href="[^"]*_qc.png"' out/report.html | wc -l)" = 6 ] || fail "--no-pictures page lost the pictures"
# A comparison that has gone (its change map removed, as when a follow-up is no longer
# registered): the next report removes its change pictures and the page no longer links them.
fu_map=$(ls out/*/*/*_change.nii.gz | head -n 1)
fu_stem=${fu_map%_change.nii.gz}
for f in _change_qc.png _change_slices.png _change_slices_base.png _change_slices_fu.png; do
  [ -f "$fu_stem$f" ] || fail "no $fu_stem$f before the comparison goes"
done
rm "$fu_map"
"$bmeq" report out -j 2 > /dev/null 2>&1 || fail "report after a comparison went failed"
for f in _change_qc.png _change_slices.png _change_slices_base.png _change_slices_fu.png; do
  [ ! -e "$fu_stem$f" ] || fail "stale $fu_stem$f left after its comparison went"
done
! grep -q "$(basename "$fu_stem")_change_qc.png" out/report.html || fail "page links a stale change picture"
# Not a batch folder: exit 3; usage: exit 2.
rc=0; "$bmeq" report study > /dev/null 2>&1 || rc=$?
[ "$rc" = 3 ] || fail "report on a folder without scans.csv: exit $rc, expected 3"
rc=0; "$bmeq" report > /dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "report without OUT: exit $rc, expected 2"
echo "test_report: ok"
