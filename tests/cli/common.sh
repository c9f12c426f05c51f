# shellcheck shell=bash
# common.sh - the start every tests/cli script shares; sourced first, with the script's own
# arguments (BMEQ DATA TMP ..., from tests/CMakeLists.txt). Sets and defines:
#   bmeq data tmp   the arguments; tmp is emptied and created
#   py              /usr/bin/python3 (Debian's: numpy, scipy, nibabel come from setup.sh)
#   fail MSG        report and stop: exit 1
#   err MSG         report, count the failure in `errors` and go on; end with `finish`
#   finish [MSG]    exit 1 after any err, else print MSG (if given) and exit 0
#   skip MSG        exit 77 (ctest: skipped); under CI=true a failure instead, because CI
#                   must run every test: a tool missing there is setup.sh's fault, not a skip
#   need_python     skip unless $py imports numpy and nibabel

bmeq=$1 data=${2:-} tmp=${3:-}
py=/usr/bin/python3
errors=0
[ -n "$tmp" ] || { echo "usage: $0 BMEQ DATA TMP" >&2; exit 2; }
rm -rf "$tmp" && mkdir -p "$tmp" || exit 1

fail() { echo "FAIL: $*" >&2; exit 1; }
err() { echo "FAIL: $*" >&2; errors=$((errors + 1)); }
finish() {
  [ "$errors" -eq 0 ] || { echo "$errors check(s) failed" >&2; exit 1; }
  [ $# -eq 0 ] || echo "$*"
  exit 0
}
skip() {
  [ "${CI:-}" = true ] && fail "$* (CI=true: every test must run; see scripts/setup.sh)"
  echo "SKIP: $*" >&2
  exit 77
}
need_python() {
  "$py" -c 'import nibabel, numpy' 2>/dev/null ||
    skip "$py with nibabel and numpy not available"
}
