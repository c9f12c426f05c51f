#!/bin/bash
# test_info.sh BMEQ DATA TMP - `bmeq info` against tests/data/expected.tsv and rejected.tsv.
#
# Valid files: exit 0, the text report names each file, and the --json array holds every required
# key with values matching the nibabel-recorded table (tolerances in tests/data/README.md).
# Rejected files: exit 3 and exactly one stderr line `bmeq: info: <file>: <reason>` whose reason
# holds the recorded keyword; with --json, an object with path and error.
set -u
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
cd "$data" || exit 1

# Column 1 path, column 2 volume (-1: read as 3D, 0: pick volume 0 of a 4D/5D file).
mapfile -t plain < <(awk -F'\t' 'NR > 1 && $2 == -1 { print $1 }' expected.tsv)
mapfile -t multi < <(awk -F'\t' 'NR > 1 && $2 == 0 { print $1 }' expected.tsv)
[ "${#plain[@]}" -ge 90 ] || err "expected.tsv lists only ${#plain[@]} 3D files"
[ "${#multi[@]}" -ge 5 ] || err "expected.tsv lists only ${#multi[@]} 4D/5D files"

# Text report: every valid file in one call.
"$bmeq" info "${plain[@]}" >"$tmp/text.out" 2>"$tmp/text.err"
rc=$?
[ $rc -eq 0 ] || err "info on the valid files exited $rc: $(head -3 "$tmp/text.err")"
[ -s "$tmp/text.err" ] && grep -v ': warning' "$tmp/text.err" | grep -q . &&
	err "info wrote to stderr for valid files: $(head -3 "$tmp/text.err")"
for f in "${plain[@]}"; do
	grep -qxF "$f" "$tmp/text.out" || err "text report does not name $f"
done
"$bmeq" info --volume 0 "${multi[@]}" >"$tmp/text4d.out" 2>"$tmp/text4d.err" ||
	err "info --volume 0 on the 4D/5D files exited $?: $(head -3 "$tmp/text4d.err")"

# JSON: the 3D files, then the 4D/5D ones with --volume 0.
"$bmeq" info --json "${plain[@]}" >"$tmp/plain.json" 2>"$tmp/plain.err" ||
	err "info --json on the valid files exited $?"
"$bmeq" info --json --volume 0 "${multi[@]}" >"$tmp/multi.json" 2>"$tmp/multi.err" ||
	err "info --json --volume 0 exited $?"

cat >"$tmp/compare.py" <<'EOF'
import json, math, sys

REQUIRED = ["path", "nifti_version", "dims", "voxel_size", "datatype", "scl_slope", "scl_inter",
            "qform_code", "sform_code", "affine", "orientation", "min", "max", "mean"]

def num(s):
    return float(s)

def close(got, want, inter):
    if math.isnan(want):
        return got is None
    return got is not None and abs(got - want) <= 1e-5 * (abs(want) + abs(inter)) + 1e-30

def main(table, *docs):
    rows = {}
    with open(table) as f:
        cols = f.readline().rstrip("\n").split("\t")
        for line in f:
            r = dict(zip(cols, line.rstrip("\n").split("\t")))
            rows[r["path"]] = r
    bad = 0
    seen = 0
    for doc in docs:
        with open(doc) as f:
            arr = json.load(f)
        assert isinstance(arr, list), doc
        for o in arr:
            seen += 1
            missing = [k for k in REQUIRED if k not in o]
            if missing:
                print("%s: missing keys %s" % (o.get("path"), missing)); bad += 1; continue
            r = rows[o["path"]]
            slope, inter = num(r["scl_slope"]), num(r["scl_inter"])
            applied = math.isfinite(slope) and slope != 0
            vinter = inter if applied else 0.0
            errs = []
            if o["nifti_version"] != int(r["nifti_version"]): errs.append("nifti_version")
            if o["dims"] != [int(d) for d in r["dims"].split("x")]: errs.append("dims")
            vs = [num(x) for x in r["voxel_size"].split(",")]
            if len(o["voxel_size"]) != 3 or any(abs(a - b) > 1e-5 for a, b in zip(o["voxel_size"], vs)):
                errs.append("voxel_size")
            if o["datatype"] != r["datatype"]: errs.append("datatype")
            for key, want in (("scl_slope", slope), ("scl_inter", inter)):
                got = o[key]
                if math.isfinite(want):
                    if got is None or abs(got - want) > 1e-6 * abs(want): errs.append(key)
                elif got is not None: errs.append(key)
            if o["qform_code"] != int(r["qform_code"]): errs.append("qform_code")
            if o["sform_code"] != int(r["sform_code"]): errs.append("sform_code")
            aff = [num(x) for x in r["affine"].split(",")]
            flat = [v for row in o["affine"] for v in row]
            if len(o["affine"]) != 4 or len(flat) != 16 or any(abs(a - b) > 1e-4 for a, b in zip(flat, aff)):
                errs.append("affine")
            if o["orientation"] != r["orientation"]: errs.append("orientation")
            for key in ("min", "max", "mean"):
                if not close(o[key], num(r[key]), vinter): errs.append(key)
            if errs:
                print("%s: mismatched %s" % (o["path"], ", ".join(errs))); bad += 1
    print("compared %d objects, %d bad" % (seen, bad))
    sys.exit(1 if bad else 0)

main(*sys.argv[1:])
EOF
"$py" "$tmp/compare.py" expected.tsv "$tmp/plain.json" "$tmp/multi.json" >"$tmp/compare.out" 2>&1 ||
	err "JSON differs from expected.tsv: $(head -20 "$tmp/compare.out")"
n=$("$py" -c 'import json,sys; print(sum(len(json.load(open(p))) for p in sys.argv[1:]))' \
	"$tmp/plain.json" "$tmp/multi.json" 2>/dev/null)
[ "$n" = "$(( ${#plain[@]} + ${#multi[@]} ))" ] || err "JSON holds $n objects"

# Rejected files: exit 3, one line on stderr, nothing on stdout.
while IFS=$'\t' read -r path status keyword; do
	[ "$path" = path ] && continue
	"$bmeq" info "$path" >"$tmp/rej.out" 2>"$tmp/rej.err"
	rc=$?
	[ $rc -eq 3 ] || err "$path: exit $rc, want 3"
	[ "$(wc -l <"$tmp/rej.err")" -eq 1 ] || err "$path: stderr is not one line: $(cat "$tmp/rej.err")"
	line=$(cat "$tmp/rej.err")
	case "$line" in
	"bmeq: info: $path: "?*) ;;
	*) err "$path: stderr '$line' is not 'bmeq: info: $path: <reason>'" ;;
	esac
	echo "${line#"bmeq: info: $path: "}" | grep -qi -- "$keyword" ||
		err "$path: reason '$line' lacks '$keyword' ($status)"
	[ -s "$tmp/rej.out" ] && err "$path: wrote to stdout on failure"
	"$bmeq" info --json "$path" >"$tmp/rej.json" 2>/dev/null
	rc=$?
	[ $rc -eq 3 ] || err "$path: --json exit $rc, want 3"
	"$py" -c 'import json,sys; a=json.load(open(sys.argv[1])); assert len(a)==1 and a[0]["path"]==sys.argv[2] and a[0]["error"]' \
		"$tmp/rej.json" "$path" 2>/dev/null || err "$path: --json lacks path+error: $(cat "$tmp/rej.json")"
done <rejected.tsv

# A batch with one bad file: the good ones are still reported, the exit code is 3.
"$bmeq" info --json niivue/low_res.nii.gz nifti_reader_js/not-nifti.nii nibabel/standard.nii.gz \
	>"$tmp/mixed.json" 2>"$tmp/mixed.err"
rc=$?
[ $rc -eq 3 ] || err "mixed batch exit $rc, want 3"
"$py" -c 'import json,sys; a=json.load(open(sys.argv[1])); assert len(a)==3 and "error" in a[1] and "error" not in a[0] and a[2]["dims"]==[4,5,7]' \
	"$tmp/mixed.json" 2>/dev/null || err "mixed batch JSON wrong: $(cat "$tmp/mixed.json")"
[ "$(wc -l <"$tmp/mixed.err")" -eq 1 ] || err "mixed batch: stderr not one line"

# A missing file is unreadable input too; a --volume past the end is refused.
"$bmeq" info no/such.nii.gz >/dev/null 2>"$tmp/missing.err"
rc=$?
[ $rc -eq 3 ] || err "missing file exit $rc, want 3"
grep -q '^bmeq: info: no/such.nii.gz: .' "$tmp/missing.err" || err "missing file message: $(cat "$tmp/missing.err")"
"$bmeq" info --volume 2 nibabel/example4d.nii.gz >/dev/null 2>&1
rc=$?
[ $rc -eq 3 ] || err "--volume 2 of a 2-volume file exit $rc, want 3"

finish "test_info: all checks passed"
