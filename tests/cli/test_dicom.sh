#!/usr/bin/env bash
# test_dicom.sh BMEQ DATA TMP TEST_DICOM - DICOM series in (issue 20), on the real series of
# tests/data and on series made from it here (tests/tools/make_dicom_cases.py, pydicom):
#   - dcm2niix (the independent converter) and bmeq read the same voxels and affine;
#   - JPEG lossless, JPEG-LS, JPEG 2000 and RLE copies (gdcmconv) and a per-slice rescaled
#     copy read as the same volume;
#   - both femoral heads land where they land on the committed NIfTI of the series (1 mm);
#   - --series / FOLDER#SERIES choose among several series; bmeq info lists them;
#   - every bad input is refused with its exit code and a message naming the problem, and
#     in a batch it is an error row while the other scans finish;
#   - no patient name, ID, birth date or other identifying value reaches any output or log.
# pydicom, dcm2niix and gdcmconv come from scripts/setup.sh; without them the test is
# skipped (77), except under CI=true, where it must run.
set -uo pipefail
bmeq=$1 data=$2 tmp=$3 tdicom=$4
rm -rf "$tmp" && mkdir -p "$tmp" || exit 1
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
need() {
	if ! "$@" >/dev/null 2>&1; then
		if [ "${CI:-}" = true ]; then
			echo "FAIL: missing under CI: $*" >&2
			exit 1
		fi
		echo "skipped: missing $*" >&2
		exit 77
	fi
}
need /usr/bin/python3 -c 'import pydicom'
need command -v dcm2niix
need command -v gdcmconv

series=$data/cptac_ucec_pelvis_mri/dicom_C3N-02978_t1_tse_cor_post
crop=$data/cptac_ucec_pelvis_mri/C3N-02978_t1_tse_cor_post_hipcrop.nii.gz
cases=$tmp/cases
/usr/bin/python3 "$(dirname "$0")/../tools/make_dicom_cases.py" "$series" "$cases" ||
	{ echo "FAIL: making the cases" >&2; exit 1; }
cd "$tmp" || exit 1

# --- the independent reference: dcm2niix's NIfTI of the same files ---
mkdir -p d2n
dcm2niix -z y -b n -f ref -o d2n "$cases/real" >d2n/log 2>&1 || fail "dcm2niix: $(tail -2 d2n/log)"
"$tdicom" compare "$cases/real" d2n/ref.nii.gz >cmp.out 2>&1 || fail "bmeq and dcm2niix differ: $(cat cmp.out)"

# --- compressed transfer syntaxes and per-slice rescale read as the same volume ---
for ts in jpeg jpegls j2k rle; do
	mkdir -p "c_$ts"
	for f in "$cases"/real/*.dcm; do
		gdcmconv "--$ts" "$f" "c_$ts/$(basename "$f")" || fail "gdcmconv --$ts $f"
	done
	"$tdicom" compare "c_$ts" "$cases/real" >cmp.out 2>&1 || fail "$ts copy differs: $(cat cmp.out)"
done
"$tdicom" compare "$cases/rescale" "$cases/real" >cmp.out 2>&1 ||
	fail "per-slice rescale: $(cat cmp.out)"
"$tdicom" compare "$cases/with_sr" "$cases/real" >cmp.out 2>&1 ||
	fail "a structured report beside the series: $(cat cmp.out)"

# --- femoral heads on the series and on its committed NIfTI crop (dcm2niix's): 1 mm ---
"$bmeq" segment "$series" -o seg_dicom >seg_dicom.csv 2>seg.err || fail "segment on DICOM: $(cat seg.err)"
"$bmeq" segment "$crop" -o seg_nifti >seg_nifti.csv 2>seg.err || fail "segment on NIfTI: $(cat seg.err)"
/usr/bin/python3 - seg_dicom.csv seg_nifti.csv <<'EOF' || fail "femoral head centres differ"
import csv, sys, math
a, b = ([r for r in csv.DictReader(open(p))] for p in sys.argv[1:3])
for ra, rb in zip(a, b):
    assert ra["side"] == rb["side"] and ra["status"] == rb["status"] == "found", (ra, rb)
    d = math.dist([float(ra["centre_" + c]) for c in "xyz"], [float(rb["centre_" + c]) for c in "xyz"])
    print(ra["side"], "centre distance %.3f mm" % d)
    assert d <= 1.0, d
EOF

# --- choosing a series ---
"$bmeq" info "$cases/mixed" >info.out 2>info.err || fail "info on a folder of two series: $(cat info.err)"
grep -q '^  29 .*t1_tse_cor lymph nodes CM .*SE SK\\SP\\OSP .*LSP .*384x384 .* 22  ok$' info.out ||
	fail "info lists series 29 wrongly: $(cat info.out)"
grep -q '^  30 .*stir_tirm_cor .*IR\\SE' info.out || fail "info lists series 30 wrongly: $(cat info.out)"
"$bmeq" info --json "$cases/mixed" "$cases/with_sr" >info.json || fail "info --json on folders"
/usr/bin/python3 - info.json <<'EOF' || fail "info --json listing"
import json, sys
a = json.load(open(sys.argv[1]))
s = a[0]["series"]
assert [x["number"] for x in s] == [29, 30] and s[1]["inversion_time_ms"] == 160, s
assert a[1]["series"][1]["problem"].endswith("a structured report, not an image"), a[1]
EOF
"$bmeq" info --series 30 "$cases/mixed" >info30.out || fail "info --series 30"
grep -q 'TI             160 ms' info30.out || fail "info --series 30: $(cat info30.out)"
"$bmeq" info "$cases/mixed#*stir*" >infostir.out || fail "info FOLDER#pattern"
cmp -s <(tail -n +2 info30.out) <(tail -n +2 infostir.out) || fail "--series 30 and #*stir* differ"
"$tdicom" compare "$cases/mixed#30" "$cases/stir" >cmp.out 2>&1 || fail "mixed#30 is not the STIR: $(cat cmp.out)"
"$tdicom" compare "$cases/mixed#t1_tse" "$cases/real" >cmp.out 2>&1 || fail "mixed#t1_tse: $(cat cmp.out)"
"$bmeq" segment --series 99 "$cases/mixed" -o seg99 >/dev/null 2>seg99.err
rc=$?
[ $rc -eq 2 ] && grep -q 'no series matches --series 99 (the folder holds 29 "t1_tse_cor lymph nodes CM", 30 "stir_tirm_cor")' seg99.err ||
	fail "--series 99: exit $rc, $(cat seg99.err)"
"$bmeq" segment --series 29 "$crop" -o segx >/dev/null 2>segx.err
[ $? -eq 2 ] && grep -q 'not a DICOM folder' segx.err || fail "--series on a NIfTI file: $(cat segx.err)"

# --- bad inputs: exit code and the message's keyword, for measure (one line on stderr) ---
check_bad() { # case expected_exit keyword
	"$bmeq" measure "$cases/$1" -o "bad_$1" >/dev/null 2>"bad_$1.err"
	local rc=$?
	[ $rc -eq "$2" ] || fail "$1: exit $rc, expected $2: $(cat "bad_$1.err")"
	[ "$(wc -l <"bad_$1.err")" -eq 1 ] || fail "$1: not one line: $(cat "bad_$1.err")"
	grep -q "^bmeq: measure: .*$3" "bad_$1.err" || fail "$1: message lacks '$3': $(cat "bad_$1.err")"
}
check_bad missing 3 'missing slice: 1 slice(s) absent between 1-19.dcm and 1-21.dcm'
check_bad uneven 3 'uneven slice spacing: 7.20 mm between 1-19.dcm and 1-20.dcm'
check_bad mixed 2 '2 series in one folder; choose one with --series'
check_bad sr_only 3 'structured report, not an image'
check_bad truncated 3 '1-20.dcm is truncated'
check_bad notdicom 3 'no DICOM files in the folder'
check_bad multiecho 3 'multi-echo series (2 echoes'
check_bad fourd 3 '4D series'
check_bad badts 3 'transfer syntax 1.2.840.10008.1.2.4.100 is not supported'
check_bad localiser 3 'slices in different orientations'
check_bad multiframe 3 'multi-frame'
"$bmeq" measure "$cases/real/1-09.dcm" -o bad_file >/dev/null 2>bad_file.err
[ $? -eq 3 ] && grep -q 'is a DICOM file: give the folder' bad_file.err || fail "one file: $(cat bad_file.err)"
"$bmeq" measure "$cases/nonexistent" -o bad_none >/dev/null 2>bad_none.err
[ $? -eq 3 ] || fail "a missing folder: $(cat bad_none.err)"

# --- a batch over DICOM folders: good visits measured, bad ones error rows ---
{
	echo "subject,session,path,date"
	echo "P1,1,$cases/named,2000-12-28"
	echo "P1,2,$cases/visit2,2001-03-15"
	echo "P2,1,$cases/mixed#30,"
	for c in missing mixed truncated badts multiecho sr_only; do echo "B_$c,1,$cases/$c,"; done
} >manifest.csv
"$bmeq" batch manifest.csv -o bout -j 2 >batch.out 2>batch.err
rc=$?
[ $rc -eq 6 ] || fail "batch exit $rc (expected 6): $(tail -3 batch.err)"
/usr/bin/python3 - bout/scans.csv bout/response.csv <<'EOF' || fail "batch tables"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
st = {(r["subject"], r["side"]): r for r in rows}
for s in ("P1", "P2"):
    for side in ("right", "left"):
        assert st[(s, side)]["status"] == "ok", st[(s, side)]
for c, key in (("missing", "missing slice"), ("mixed", "choose one with --series"),
               ("truncated", "truncated"), ("badts", "transfer syntax"),
               ("multiecho", "multi-echo"), ("sr_only", "structured report")):
    r = st[("B_" + c, "right")]
    assert r["status"] == "error" and key in r["message"], r
resp = list(csv.DictReader(open(sys.argv[2], newline="")))
assert any(r["subject"] == "P1" and r["session"] == "2" for r in resp), resp
EOF
# --resume: a series is hashed file by file, so an unchanged series is reused and a
# changed one measured again.
before=$(stat -c %y bout/P1/1/scan_record.csv bout/P2/1/scan_record.csv)
cp bout/scans.csv scans_first.csv
"$bmeq" batch manifest.csv -o bout -j 2 --resume >resume.out 2>&1
[ "$(stat -c %y bout/P1/1/scan_record.csv bout/P2/1/scan_record.csv)" = "$before" ] ||
	fail "--resume measured unchanged DICOM series again"
cmp -s scans_first.csv bout/scans.csv || fail "--resume changed scans.csv"
/usr/bin/python3 - "$cases/visit2/1-15.dcm" <<'EOF2'
import sys, pydicom
d = pydicom.dcmread(sys.argv[1]); d.SeriesDescription = "t1_tse_cor lymph nodes CM2"; d.save_as(sys.argv[1])
EOF2
before2=$(stat -c %y bout/P1/2/scan_record.csv)
"$bmeq" batch manifest.csv -o bout -j 2 --resume >resume2.out 2>&1
[ "$(stat -c %y bout/P1/2/scan_record.csv)" != "$before2" ] || fail "--resume kept a changed series"

# --- privacy: the identifying values of cases/named appear nowhere ---
"$bmeq" info "$cases/named" "$cases/named#29" >>priv.log 2>&1
"$bmeq" info --json "$cases/named#29" >>priv.log 2>&1
"$bmeq" measure "$cases/named" -o priv_measure >>priv.log 2>&1
"$bmeq" segment "$cases/named" -o priv_segment >>priv.log 2>&1
"$bmeq" compare "$cases/named" "$cases/visit2" -o priv_compare >>priv.log 2>&1
pat='DOE|JANE|MRN8675309|19450317|1945|Hawthorn|ACC55501234|Elsewhere|WELBY'
leaks=$(
	for f in $(find priv.log batch.out batch.err priv_measure priv_segment priv_compare bout -type f); do
		case $f in
		*.gz) zcat "$f" ;;
		*) cat "$f" ;;
		esac | grep -a -E -l "$pat" >/dev/null && echo "$f"
	done
)
[ -z "$leaks" ] || fail "identifying header values in: $leaks"
# The check itself can fail: the values are in the input files.
grep -a -q -E "$pat" "$cases"/named/1-09.dcm || fail "the privacy case lost its identifying values"

if [ $fails -ne 0 ]; then
	echo "$fails failure(s)" >&2
	exit 1
fi
echo "all DICOM checks passed"
