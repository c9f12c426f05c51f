#!/usr/bin/env bash
# Faults around a batch, with real file permissions (run as nobody when the suite runs as
# root): an output folder that cannot be written gives exit 4 and one line; unreadable
# subject, session and anat folders in a discovered study give error rows for exactly those
# visits and do not stop or hang discovery; a batch writes nothing outside OUT (and the temp
# folder), never modifies its inputs, and works on a read-only study; peak memory of one
# scan stays under 8x its float32 size plus 64 MB (normal builds only: sanitizers add
# shadow memory), also for a 512x512x200 scan.
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
# shellcheck source=unprivileged.sh
. "$(dirname "$0")/unprivileged.sh"

"$bmeq" phantom -o "$work/study" --subjects 1 --sessions 2 --seed 5 >/dev/null
study=$work/study

# 1. Output folder not writable: exit 4, one line naming it, nothing written.
mkdir -p "$work/locked"
chmod 555 "$work/locked"
rc=0
"${as_user[@]}" "$user_bmeq" batch "$study" -o "$work/locked/out" --quiet >/dev/null 2>"$tmp/err" ||
  rc=$?
[ "$rc" = 4 ] || { cat "$tmp/err" >&2; fail "unwritable OUT: exit $rc, expected 4"; }
[ "$(wc -l <"$tmp/err")" = 1 ] || fail "unwritable OUT: not one line: $(cat "$tmp/err")"
grep -q "locked/out" "$tmp/err" || fail "unwritable OUT: folder not named: $(cat "$tmp/err")"
[ ! -e "$work/locked/out" ] || fail "unwritable OUT: something was created"
give "$work/outdir"
chmod 555 "$work/outdir"
rc=0
"${as_user[@]}" "$user_bmeq" batch "$study" -o "$work/outdir" --quiet >/dev/null 2>"$tmp/err" || rc=$?
[ "$rc" = 4 ] || { cat "$tmp/err" >&2; fail "read-only OUT: exit $rc, expected 4"; }
grep -q "not writable\|Permission denied" "$tmp/err" || fail "read-only OUT: $(cat "$tmp/err")"
chmod 755 "$work/outdir"

# 2. Inputs untouched, nothing written outside OUT, and a read-only study works.
snapshot() {  # every file under $1 with size, mtime and SHA-256
  (cd "$1" && find . -type f -printf '%p %s %T@\n' | sort && find . -type f -print0 | sort -z |
    xargs -0 sha256sum)
}
snapshot "$study" >"$tmp/before"
chmod -R a-w "$study"
give "$work/home" "$work/cwd" "$work/tmpdir" "$work/out"
touch "$work/marker"
sleep 1
rc=0
(cd "$work/cwd" && "${as_user[@]}" HOME="$work/home" TMPDIR="$work/tmpdir" "$user_bmeq" batch \
  "$study" -o "$work/out/run" -j 2 --quiet >/dev/null 2>"$tmp/err") || rc=$?
[ "$rc" = 0 ] || { cat "$tmp/err" >&2; fail "read-only study: exit $rc, expected 0"; }
chmod -R u+w "$study"
snapshot "$study" >"$tmp/after"
cmp -s "$tmp/before" "$tmp/after" || { diff "$tmp/before" "$tmp/after" | head >&2; fail "inputs changed"; }
[ -z "$(find "$work/home" "$work/cwd" -mindepth 1)" ] || fail "files written to HOME or the working folder"
outside=$(find "$work" -newer "$work/marker" -type f ! -path "$work/out/*" ! -path "$work/tmpdir/*" \
  | head -5)
[ -z "$outside" ] || fail "written outside OUT: $outside"
if [ "$(id -u)" = 0 ]; then
  # As nobody the only other writable places are the shared temp folders.
  stray=$(find /tmp /var/tmp /dev/shm -xdev -user "$nobody_uid" -newer "$work/marker" 2>/dev/null |
    grep -v "^$work/" | head -5 || true)
  [ -z "$stray" ] || fail "nobody wrote outside OUT: $stray"
fi
[ -s "$work/out/run/scans.csv" ] || fail "no scans.csv"

# 3. Unreadable subject, session and anat folders: error rows for those visits only.
for s in 03 04; do
  cp -r "$study/sub-01" "$study/sub-$s"
  for ses in 01 02; do
    for f in "$study/sub-$s/ses-$ses/anat/"*; do
      mv "$f" "${f/sub-01_/sub-${s}_}"
    done
  done
done
chmod 000 "$study/sub-03"
chmod 000 "$study/sub-04/ses-01"
chmod 000 "$study/sub-04/ses-02/anat"
rc=0
timeout 300 "${as_user[@]}" "$user_bmeq" batch "$study" -o "$work/out/unreadable" -j 2 --quiet \
  >/dev/null 2>"$tmp/err" || rc=$?
chmod 755 "$study/sub-03" "$study/sub-04/ses-01" "$study/sub-04/ses-02/anat"
[ "$rc" = 6 ] || { cat "$tmp/err" >&2; fail "unreadable folders: exit $rc, expected 6"; }
grep -q "warning: .*sub-03: cannot read folder" "$tmp/err" || fail "no warning: $(cat "$tmp/err")"
/usr/bin/python3 - "$work/out/unreadable" "$work/out/run" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1] + "/scans.csv", newline="")))
ref = list(csv.DictReader(open(sys.argv[2] + "/scans.csv", newline="")))
err = {(r["subject"], r["session"]) for r in rows if r["status"] == "error"}
assert err == {("sub-03", ""), ("sub-04", "ses-01"), ("sub-04", "ses-02")}, err
for r in rows:
    if r["status"] == "error":
        assert "Permission denied" in r["message"], r
        assert r["scan"].endswith(("sub-03", "sub-04/ses-01", "sub-04/ses-02/anat")), r["scan"]
# The readable subjects give exactly the rows they give alone.
keep = [r for r in rows if r["subject"] == "sub-01"]
key = lambda r: {k: v for k, v in r.items() if k != "scan"}
assert [key(r) for r in keep] == [key(r) for r in ref], "readable subjects changed"
EOF

# 4. Peak memory of one scan (RSS of the child process, from the kernel).
# ldd's whole output first: with pipefail, `ldd | grep -q` fails whenever grep stops reading
# before ldd has written everything (ldd dies of SIGPIPE), and the check then ran under ASan.
libs=$(ldd "$bmeq" 2>/dev/null || true)
if [[ $libs == *libasan* || $libs == *libubsan* || $libs == *libtsan* ]]; then
  echo "memory check skipped: sanitizer build"
else
  big=$work/big512.nii.gz
  /usr/bin/python3 - "$study/sub-01/ses-01/anat/sub-01_ses-01_acq-STIR_T2w.nii.gz" "$big" <<'EOF'
import sys
import numpy as np, nibabel as nib
from scipy import ndimage
im = nib.load(sys.argv[1])
a = np.asarray(im.dataobj, dtype=np.float32)
zoom = [t / s for t, s in zip((512, 512, 200), a.shape)]
b = ndimage.zoom(a, zoom, order=1).astype(np.float32)
aff = im.affine.copy()
aff[:3, :3] /= np.array(zoom)[None, :]
nib.save(nib.Nifti1Image(b.astype(np.int16), aff), sys.argv[2])
EOF
  for scan in "$study/sub-01/ses-01/anat/sub-01_ses-01_acq-STIR_T2w.nii.gz" \
              "$study/sub-01/ses-02/anat/sub-01_ses-02_acq-STIR_T2w.nii.gz" "$big"; do
    /usr/bin/python3 - "$bmeq" "$scan" "$tmp/mem" <<'EOF'
import resource, subprocess, sys
import nibabel as nib
bmeq, scan, out = sys.argv[1:]
subprocess.run([bmeq, "measure", scan, "-o", out], check=True, stdout=subprocess.DEVNULL)
peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
shape = nib.load(scan).shape
float_mb = shape[0] * shape[1] * shape[2] * 4 / 1048576.0
limit = 8 * float_mb + 64
print(f"peak RSS {peak_mb:.0f} MB for {shape} ({float_mb:.1f} MB as float32): "
      f"{peak_mb / float_mb:.1f}x; limit {limit:.0f} MB")
assert peak_mb <= limit, (peak_mb, limit)
EOF
  done
fi
echo "faults: all checks passed"
