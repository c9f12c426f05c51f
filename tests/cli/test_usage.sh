#!/bin/bash
# test_usage.sh BMEQ DATA TMP - the CLI's general contract: help and version on stdout with exit 0,
# usage errors on stderr as `bmeq: ...` with exit 2, for bmeq itself and for every command it lists.
set -u
BMEQ=$1
DATA=$2
TMP=$3
fail=0
rm -rf "$TMP" && mkdir -p "$TMP" || exit 1

err() {
	echo "FAIL: $*" >&2
	fail=1
}

# expect CODE OUT_STREAM(stdout|stderr|none) -- args...: runs bmeq, checks the exit code and that
# output went only to the named stream.
expect() {
	local want=$1 stream=$2
	shift 3
	"$BMEQ" "$@" >"$TMP/out" 2>"$TMP/err"
	local rc=$?
	[ $rc -eq "$want" ] || err "bmeq $*: exit $rc, want $want"
	case $stream in
	stdout)
		[ -s "$TMP/out" ] || err "bmeq $*: nothing on stdout"
		[ -s "$TMP/err" ] && err "bmeq $*: unexpected stderr: $(head -2 "$TMP/err")"
		;;
	stderr)
		[ -s "$TMP/err" ] || err "bmeq $*: nothing on stderr"
		[ -s "$TMP/out" ] && err "bmeq $*: unexpected stdout: $(head -2 "$TMP/out")"
		grep -q '^bmeq' "$TMP/err" || err "bmeq $*: stderr does not start with 'bmeq': $(head -2 "$TMP/err")"
		;;
	esac
	return 0
}

expect 0 stdout -- --help
grep -q 'usage: bmeq <command>' "$TMP/out" || err "--help lacks the usage line"
grep -q 'exit codes' "$TMP/out" || err "--help lacks the exit code table"
expect 0 stdout -- -h
expect 0 stdout -- --version
grep -Eqx 'bmeq [0-9]+\.[0-9]+\.[0-9]+.*' "$TMP/out" || err "--version prints '$(cat "$TMP/out")'"
expect 2 stderr --
expect 2 stderr -- no-such-command
grep -q 'no-such-command' "$TMP/err" || err "unknown command not named in the message"
expect 2 stderr -- --no-such-option

# Every command listed by --help answers --help and -h on stdout with exit 0, and refuses an
# unknown option with exit 2 and a `bmeq: <command>: ...` message.
"$BMEQ" --help >"$TMP/help" 2>/dev/null
mapfile -t cmds < <(awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }' "$TMP/help")
[ "${#cmds[@]}" -ge 1 ] || err "--help lists no commands"
for c in "${cmds[@]}"; do
	expect 0 stdout -- "$c" --help
	grep -qi "usage: bmeq $c" "$TMP/out" || err "bmeq $c --help lacks 'usage: bmeq $c'"
	expect 0 stdout -- "$c" -h
	expect 2 stderr -- "$c" --no-such-option
	grep -q "^bmeq: $c: " "$TMP/err" || err "bmeq $c --no-such-option: message '$(cat "$TMP/err")'"
done

# info's own usage errors.
expect 2 stderr -- info
expect 2 stderr -- info --json
expect 2 stderr -- info --volume
expect 2 stderr -- info --volume -1 "$DATA/niivue/low_res.nii.gz"
expect 2 stderr -- info --volume abc "$DATA/niivue/low_res.nii.gz"
expect 2 stderr -- info --volume 1x "$DATA/niivue/low_res.nii.gz"
# --help wins over everything else on the line.
expect 0 stdout -- info --bogus --help
# `--` ends the options: a file named like an option is a (missing) file, exit 3.
expect 3 stderr -- info -- --json
# --volume 0 of a 3D file is volume 0 (the file itself).
expect 0 stdout -- info --volume 0 "$DATA/niivue/low_res.nii.gz"

[ $fail -eq 0 ] && echo "test_usage: all checks passed"
exit $fail
