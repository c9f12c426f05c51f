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
check_bad truncated 3 '1-20.dcm: a DICOM file that cannot be read (truncated or corrupt)'
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
# The sequence facts from the headers, on every row of a scan (the real series is a T1).
want = {"protocol_source": "dicom", "fluid_fat_suppressed": "no",
        "series_description": "t1_tse_cor lymph nodes CM", "scanning_sequence": "SE",
        "sequence_variant": "SK\\SP\\OSP", "scan_options": "", "inversion_time_ms": "",
        "echo_time_ms": "6.20", "repetition_time_ms": "434.00", "field_strength_t": "1.50",
        "slice_thickness_mm": "4.00", "slice_spacing_mm": "5.20", "manufacturer": "SIEMENS",
        "model": "Avanto_fit"}
for side in ("right", "left"):
    r = [x for x in rows if (x["subject"], x["session"], x["side"]) == ("P1", "1", side)][0]
    assert {k: r[k] for k in want} == want, r
    r = [x for x in rows if (x["subject"], x["session"], x["side"]) == ("P1", "2", side)][0]
    assert r["slice_thickness_mm"] == "3.00", r
    # The STIR-like series chosen from a mixed folder; an error row keeps its facts
    # when its headers can be read (a missing slice), and has none without a series.
    assert (st[("P2", side)]["fluid_fat_suppressed"], st[("P2", side)]["inversion_time_ms"],
            st[("P2", side)]["series_description"]) == ("yes", "160.00", "stir_tirm_cor"), st[("P2", side)]
    assert st[("B_missing", side)]["protocol_source"] == "dicom", st[("B_missing", side)]
    assert st[("B_sr_only", side)]["protocol_source"] == "", st[("B_sr_only", side)]
EOF
/usr/bin/python3 - bout/provenance.json <<'EOF' || fail "provenance.json sequence facts"
import json, sys
inputs = {(i["subject"], i["session"]): i for i in json.load(open(sys.argv[1]))["inputs"]}
p = inputs[("P1", "1")]["protocol"]
assert p["source"] == "dicom" and p["fluid_fat_suppressed"] == "no", p
assert p["field_strength_t"] == 1.5 and p["echo_time_ms"] == 6.2 and p["inversion_time_ms"] is None, p
assert p["model"] == "Avanto_fit" and p["series_description"] == "t1_tse_cor lymph nodes CM", p
assert inputs[("P2", "1")]["protocol"]["inversion_time_ms"] == 160, inputs[("P2", "1")]
assert inputs[("B_sr_only", "1")]["protocol"]["source"] == "", inputs[("B_sr_only", "1")]
EOF
# --- a crash of the DICOM library on one file fails that scan, not the batch ---
# GDCM aborts (assertions) on some malformed files; the known ones are refused before GDCM
# sees them, an unknown one is caught because GDCM runs in a child process. The test-only
# BMEQ_TEST_DICOM_CRASH makes that child abort() on the named file, as GDCM's assertions do:
# in a batch (worker threads: the child is a started program) and in measure and info (one
# thread: a forked child).
cp -r "$cases/real" crashcase
{
	echo "subject,session,path"
	echo "C1,1,$PWD/crashcase"
	echo "C2,1,$cases/stir"
} >crash_manifest.csv
BMEQ_TEST_DICOM_CRASH=crashcase/1-12.dcm "$bmeq" batch crash_manifest.csv -o crash_out -j 2 \
	>crash.out 2>crash.err
rc=$?
crash_msg='1-12.dcm: the DICOM library crashed reading this file (it aborted, signal 6): a malformed file'
[ $rc -eq 6 ] || fail "batch with a crashing file: exit $rc (expected 6): $(tail -3 crash.err)"
[ "$(grep -c '^C1,1,[a-z]*,error,' crash_out/scans.csv)" -eq 2 ] &&
	[ "$(grep -c -F "$crash_msg" crash_out/scans.csv)" -eq 2 ] ||
	fail "the crash is not the scan's error row: $(cat crash_out/scans.csv)"
[ "$(grep -c '^C2,1,[a-z]*,ok,' crash_out/scans.csv)" -eq 2 ] ||
	fail "the other scan of the batch: $(cut -d, -f1-4 crash_out/scans.csv)"
[ -f crash_out/provenance.json ] && [ -f crash_out/report.html ] ||
	fail "the batch did not finish after the crash"
BMEQ_TEST_DICOM_CRASH=crashcase/1-12.dcm "$bmeq" measure crashcase -o crash_measure >/dev/null 2>crash.err
rc=$?
[ $rc -eq 3 ] && [ "$(wc -l <crash.err)" -eq 1 ] && grep -q -F "bmeq: measure: crashcase: $crash_msg" crash.err ||
	fail "measure with a crashing file: exit $rc: $(cat crash.err)"
BMEQ_TEST_DICOM_CRASH=crashcase/1-20.dcm "$bmeq" info crashcase >/dev/null 2>crash.err
rc=$?
[ $rc -eq 3 ] && grep -q -F "1-20.dcm: the DICOM library crashed" crash.err ||
	fail "info with a crashing file: exit $rc: $(cat crash.err)"
# Without the crash the same folder reads (the hook, not the copy, made it fail).
"$bmeq" info crashcase >/dev/null 2>crash.err || fail "info crashcase: $(cat crash.err)"

# --- a hang of the DICOM library stops its scan after scan.dicom_timeout_s ---
# BMEQ_TEST_DICOM_HANG makes the child sleep for ever on the named file, as a hang in GDCM
# would; the caller kills it when the time limit passes. BMEQ_TEST_MARK tags the processes
# of these runs, so that a reader left behind is found below.
mark="hang-$$-$RANDOM"
hang_msg='1-12.dcm: the DICOM reader did not finish within 2 s (scan.dicom_timeout_s) and was stopped'
start=$SECONDS
BMEQ_TEST_MARK=$mark BMEQ_TEST_DICOM_HANG=crashcase/1-12.dcm "$bmeq" measure crashcase \
	-o hang_measure --dicom-timeout 2 >/dev/null 2>hang.err
rc=$?
[ $rc -eq 3 ] && [ "$(wc -l <hang.err)" -eq 1 ] && grep -q -F "bmeq: measure: crashcase: $hang_msg" hang.err ||
	fail "measure with a hanging file: exit $rc: $(cat hang.err)"
[ $((SECONDS - start)) -lt 30 ] || fail "measure with a hanging file took $((SECONDS - start)) s"
grep -q -F "$hang_msg" hang_measure/scans.csv || fail "the hang is not in measure's rows: $(cat hang_measure/scans.csv)"
BMEQ_TEST_MARK=$mark BMEQ_TEST_DICOM_HANG=crashcase/1-20.dcm "$bmeq" info --dicom-timeout 2 crashcase \
	>/dev/null 2>hang.err
rc=$?
[ $rc -eq 3 ] && grep -q -F "1-20.dcm: the DICOM reader did not finish within 2 s" hang.err ||
	fail "info with a hanging file: exit $rc: $(cat hang.err)"
# In a batch (a started child): the scan's error rows, the other scan measured.
printf 'scan.dicom_timeout_s = 2\n' >hang.conf
BMEQ_TEST_MARK=$mark BMEQ_TEST_DICOM_HANG=crashcase/1-12.dcm "$bmeq" batch crash_manifest.csv \
	-o hang_out -j 2 --config hang.conf >hang.out 2>hang.err
rc=$?
[ $rc -eq 6 ] || fail "batch with a hanging file: exit $rc (expected 6): $(tail -3 hang.err)"
[ "$(grep -c '^C1,1,[a-z]*,error,' hang_out/scans.csv)" -eq 2 ] &&
	[ "$(grep -c -F "$hang_msg" hang_out/scans.csv)" -eq 2 ] ||
	fail "the hang is not the scan's error row: $(cat hang_out/scans.csv)"
[ "$(grep -c '^C2,1,[a-z]*,ok,' hang_out/scans.csv)" -eq 2 ] ||
	fail "the other scan of the batch with a hang: $(cut -d, -f1-4 hang_out/scans.csv)"
# A bad limit is a usage error.
"$bmeq" measure crashcase -o hang_bad --dicom-timeout 0 >/dev/null 2>hang.err
[ $? -eq 2 ] && grep -q -F 'bmeq: measure: --dicom-timeout: needs a time in seconds, 1 to 86400' hang.err ||
	fail "--dicom-timeout 0: $(cat hang.err)"
# No reader of these runs is left behind (each was killed with its process group).
sleep 1
left=$(grep -l -a -F "BMEQ_TEST_MARK=$mark" /proc/[0-9]*/environ 2>/dev/null | grep -v "^/proc/$$/" || true)
[ -z "$left" ] || fail "readers left running after the time limit: $left"

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

# --- the protocol check: the real T1 handed in as STIR is flagged, a STIR is not ---
"$bmeq" measure "$cases/real" -o proto_t1 >/dev/null 2>proto.err || fail "measure real: $(cat proto.err)"
want='protocol: not a fluid-sensitive fat-suppressed image: T1-weighted (SE, TI none, TE 6.2 ms, TR 434 ms)'
[ "$(grep -c -F "$want" proto_t1/scans.csv)" -eq 2 ] || fail "no protocol warning on the T1: $(cat proto_t1/scans.csv)"
grep -q ',ok,' proto_t1/scans.csv || fail "a protocol warning is not an error: $(cat proto_t1/scans.csv)"
"$bmeq" measure "$cases/stir" -o proto_stir >/dev/null 2>proto.err || fail "measure stir: $(cat proto.err)"
grep -q 'protocol:' proto_stir/scans.csv && fail "protocol warning on the STIR: $(cat proto_stir/scans.csv)"
grep -q ',dicom,yes,stir_tirm_cor,' proto_stir/scans.csv || fail "STIR facts: $(cat proto_stir/scans.csv)"
"$bmeq" measure "$cases/real" -o proto_refuse --protocol-check refuse >/dev/null 2>proto.err
[ $? -eq 3 ] && grep -q -F "bmeq: measure: $cases/real: $want (protocol.check = refuse)" proto.err ||
	fail "--protocol-check refuse: $(cat proto.err)"
# The refused scan's error rows say what it is.
[ "$(grep -c ',error,.*,dicom,no,t1_tse_cor lymph nodes CM,SE,' proto_refuse/scans.csv)" -eq 2 ] ||
	fail "refused scan's facts: $(cat proto_refuse/scans.csv)"
printf 'protocol.check = refuse\n' >refuse.conf
"$bmeq" measure "$cases/real" -o proto_conf --config refuse.conf >/dev/null 2>proto.err
[ $? -eq 3 ] || fail "protocol.check = refuse in a configuration: $(cat proto.err)"
"$bmeq" measure "$cases/real" -o proto_off --protocol-check off >/dev/null 2>&1
grep -q 'protocol:' proto_off/scans.csv && fail "--protocol-check off still warns"
# A NIfTI with its dcm2niix sidecar beside it is checked the same way.
cp "$crop" t1crop.nii.gz
cp "$data/cptac_ucec_pelvis_mri/C3N-02978_t1_tse_cor_post.dcm2niix.json" t1crop.json
"$bmeq" measure t1crop.nii.gz -o proto_sidecar >/dev/null 2>proto.err || fail "measure NIfTI: $(cat proto.err)"
grep -q -F "protocol: not a fluid-sensitive fat-suppressed image: T1-weighted (SE, TI none, TE 6.2 ms, TR 434 ms)" proto_sidecar/scans.csv ||
	fail "sidecar protocol: $(cat proto_sidecar/scans.csv)"
grep -q -F ',sidecar,no,t1_tse_cor lymph nodes CM,SE,SK\SP\OSP,,,6.20,434.00,1.50,4.00,5.20,,Avanto_fit,' \
	proto_sidecar/scans.csv || fail "sidecar facts: $(cat proto_sidecar/scans.csv)"
# The batch's report shows the warning of its T1 visits.
grep -q -F 'protocol: not a fluid-sensitive fat-suppressed image: T1-weighted (SE' bout/report.html ||
	fail "no protocol warning in report.html"
# A follow-up acquired differently from its baseline is flagged in response.csv.
grep -q 'protocol differs: slice thickness 4 mm -> 3 mm' bout/response.csv ||
	fail "protocol change not in response.csv: $(cat bout/response.csv)"
"$bmeq" compare "$cases/named" "$cases/visit2" -o cmp_proto >/dev/null 2>&1
grep -q 'protocol differs: slice thickness 4 mm -> 3 mm' cmp_proto/response.csv ||
	fail "protocol change not in compare's response.csv: $(cat cmp_proto/response.csv)"

# --- bmeq import: an export tree to a manifest, undecidable visits for review ---
mkdir -p tree/P1/study1 tree/P1/study2 tree/P2/exam tree/P3/a tree/P4 tree/notes
cp -r "$cases/named" tree/P1/study1/t1
cp -r "$cases/stir" tree/P1/study1/stir
cp -r "$cases/localiser" tree/P1/study1/loc
cp -r "$cases/sr_only" tree/P1/study1/reports
cp -r "$cases/visit2" tree/P1/study2/t1
cp -r "$cases/visit2_stir" tree/P1/study2/stir
cp -r "$cases/mixed" tree/P2/exam/all
cp -r "$cases/stir" tree/P3/a/s1
cp -r "$cases/stir_tra" tree/P3/a/s2
cp -r "$cases/stir_plain" tree/P4/x
echo "not DICOM" >tree/notes/readme.txt
"$bmeq" import tree -o import.csv >import.out 2>import.err
rc=$?
[ $rc -eq 6 ] || fail "import exit $rc (expected 6: one visit for review): $(cat import.err)"
root=$(cd tree && pwd -P)
sed "s|$root|ROOT|g" import.csv | tr -d '\r' >import.got
cat >import.want <<'WANT'
subject,session,path,date,t1
P1,20001228,ROOT/P1/study1/stir,2000-12-28,ROOT/P1/study1/t1
P1,20010315,ROOT/P1/study2/stir,2001-03-15,ROOT/P1/study2/t1
P2,20001228,ROOT/P2/exam/all#30,2000-12-28,ROOT/P2/exam/all#29
P4,20001228,ROOT/P4/x,2000-12-28,
WANT
cmp -s import.got import.want || fail "import manifest: $(diff import.want import.got)"
grep -q '^P3,20001228,2000-12-28,"STIR: 2 series match ""\*stir\*""",.*30 ""stir_tirm_cor"".*31 ""stir_tirm_tra""' import_review.csv ||
	fail "import review: $(cat import_review.csv)"
grep -q '11 series in 10 folders, 5 visits: 4 in import.csv, 1 for review' import.out ||
	fail "import summary: $(cat import.out)"
# The rules can be changed: the transversal STIR preferred, the IR fallback off.
"$bmeq" import tree -o import2.csv --stir '*stir*tra*,*stir*' --no-ir-fallback >/dev/null 2>&1
grep -q "^P3,20001228,$root/P3/a/s2," import2.csv || fail "--stir priority: $(cat import2.csv)"
grep -q '^P4,20001228,2000-12-28,"no STIR series' import2_review.csv || fail "--no-ir-fallback: $(cat import2_review.csv)"
"$bmeq" import tree -o import3.csv --session-level 2 >/dev/null 2>&1
grep -q '^P1,study2,' import3.csv || fail "--session-level 2: $(cat import3.csv)"
"$bmeq" import "$cases/notdicom" -o import4.csv >/dev/null 2>import4.err
[ $? -eq 3 ] && grep -q 'no DICOM series' import4.err || fail "import of no DICOM: $(cat import4.err)"
# A folder that cannot be listed is never skipped silently: here the DICOM reader crashes on
# one file of P4's only series folder (the test-only hook, as GDCM's assertions do). P4's
# visit leaves the manifest, its folder is a review row naming the file and the crash, and
# stderr says so; every other visit is as before.
BMEQ_TEST_DICOM_CRASH=P4/x/1-12.dcm "$bmeq" import tree -o import_crash.csv >import_crash.out \
	2>import_crash.err
rc=$?
[ $rc -eq 6 ] || fail "import with a crashing folder: exit $rc (expected 6): $(cat import_crash.err)"
grep -v '^P4,' import.csv | cmp -s - import_crash.csv ||
	fail "import with a crashing folder: manifest $(diff <(grep -v '^P4,' import.csv) import_crash.csv)"
grep -q -F "P4,,,\"folder not read (its series are unknown): 1-12.dcm: the DICOM library crashed reading this file (it aborted, signal 6): a malformed file\",$root/P4/x" \
	import_crash_review.csv || fail "the crashing folder is not in the review table: $(cat import_crash_review.csv)"
[ "$(grep -c '^P3,' import_crash_review.csv)" -eq 1 ] || fail "import review lost P3: $(cat import_crash_review.csv)"
[ "$(wc -l <import_crash.err)" -eq 1 ] &&
	grep -q -F "bmeq: import: $root/P4/x: 1-12.dcm: the DICOM library crashed reading this file (it aborted, signal 6): a malformed file (folder not read: listed in the review table)" \
		import_crash.err || fail "import with a crashing folder, stderr: $(cat import_crash.err)"
grep -q '10 series in 9 folders, 4 visits: 3 in import_crash.csv, 1 for review; 1 folder(s) not read, also for review' \
	import_crash.out || fail "import summary with a crashing folder: $(cat import_crash.out)"
# A folder where the reader hangs is listed the same way once the time limit passes.
BMEQ_TEST_DICOM_HANG=P4/x/1-12.dcm "$bmeq" import tree -o import_hang.csv --dicom-timeout 2 \
	>/dev/null 2>import_hang.err
rc=$?
[ $rc -eq 6 ] && grep -q -F "P4,,,\"folder not read (its series are unknown): 1-12.dcm: the DICOM reader did not finish within 2 s (scan.dicom_timeout_s) and was stopped: a malformed file, or storage too slow\",$root/P4/x" \
	import_hang_review.csv || fail "import with a hanging folder: exit $rc: $(cat import_hang.err) $(cat import_hang_review.csv)"
# A folder without read permission (root reads any folder, so only when not root).
if [ "$(id -u)" != 0 ]; then
	chmod 000 tree/P4/x
	"$bmeq" import tree -o import_perm.csv >/dev/null 2>import_perm.err
	rc=$?
	chmod 755 tree/P4/x
	[ $rc -eq 6 ] && grep -q -F "P4,,,folder not read (its series are unknown): cannot read the folder: Permission denied,$root/P4/x" \
		import_perm_review.csv && grep -q -F "bmeq: import: $root/P4/x: cannot read the folder" import_perm.err ||
		fail "import with an unreadable folder: exit $rc: $(cat import_perm.err) $(cat import_perm_review.csv)"
fi
# And a batch over the imported manifest completes.
"$bmeq" batch import.csv -o iout -j 2 >ibatch.out 2>ibatch.err || fail "batch over the import: $(tail -3 ibatch.err)"
[ "$(grep -c ',ok,' iout/scans.csv)" -eq 8 ] || fail "batch over the import: $(cut -d, -f1-4 iout/scans.csv)"

# --- privacy: the identifying values of cases/named appear nowhere ---
"$bmeq" info "$cases/named" "$cases/named#29" >>priv.log 2>&1
"$bmeq" info --json "$cases/named#29" >>priv.log 2>&1
"$bmeq" measure "$cases/named" -o priv_measure >>priv.log 2>&1
"$bmeq" segment "$cases/named" -o priv_segment >>priv.log 2>&1
"$bmeq" compare "$cases/named" "$cases/visit2" -o priv_compare >>priv.log 2>&1
# The birth date as stored and as bmeq writes dates (import: 2000-12-28); not its year alone,
# which a SHA-256 in hex holds by chance (a series' hash did: 248988...a9ba1945ed...).
pat='DOE|JANE|MRN8675309|19450317|1945-03-17|Hawthorn|ACC55501234|Elsewhere|WELBY|RATCHED|KILDARE|SN77123409'
# The check covers the sequence facts: they are in the outputs it searches.
grep -q ',dicom,no,.*,SIEMENS,Avanto_fit,' priv_measure/scans.csv ||
	fail "the privacy case's facts are not in its table: $(cat priv_measure/scans.csv)"
# A PNG is searched in its chunks but the pixels' deflate stream (IDAT), whose bytes spell a
# word like DOE by chance (a T1 panel's did when the registration moved it by a hundredth of
# a millimetre); the text a picture carries is in tEXt, zTXt or iTXt chunks (zTXt inflated).
png_text() {
	/usr/bin/python3 - "$1" <<'EOF3'
import struct, sys, zlib
d = open(sys.argv[1], "rb").read()
out, i = sys.stdout.buffer, 8
while i + 8 <= len(d):
    n, t = struct.unpack(">I4s", d[i:i + 8])
    body = d[i + 8:i + 8 + n]
    i += 12 + n
    if t == b"IDAT":
        continue
    out.write(t + b" " + body + b"\n")
    if t == b"zTXt":
        out.write(zlib.decompress(body[body.index(b"\0") + 2:]) + b"\n")
EOF3
}
leaks=$(
	for f in $(find priv.log batch.out batch.err priv_measure priv_segment priv_compare bout \
		import.csv import_review.csv import.out iout -type f); do
		case $f in
		*.gz) zcat "$f" ;;
		*.png) png_text "$f" ;;
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
