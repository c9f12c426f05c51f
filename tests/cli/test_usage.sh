#!/bin/bash
# test_usage.sh BMEQ DATA TMP - the CLI's general contract: help and version on stdout with exit 0,
# usage errors on stderr as `bmeq: ...` with exit 2, for bmeq itself and for every command it lists.
set -u
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

# expect CODE OUT_STREAM(stdout|stderr|none) -- args...: runs bmeq, checks the exit code and that
# output went only to the named stream.
expect() {
	local want=$1 stream=$2
	shift 3
	"$bmeq" "$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	[ $rc -eq "$want" ] || err "bmeq $*: exit $rc, want $want"
	case $stream in
	stdout)
		[ -s "$tmp/out" ] || err "bmeq $*: nothing on stdout"
		[ -s "$tmp/err" ] && err "bmeq $*: unexpected stderr: $(head -2 "$tmp/err")"
		;;
	stderr)
		[ -s "$tmp/err" ] || err "bmeq $*: nothing on stderr"
		[ -s "$tmp/out" ] && err "bmeq $*: unexpected stdout: $(head -2 "$tmp/out")"
		grep -q '^bmeq' "$tmp/err" || err "bmeq $*: stderr does not start with 'bmeq': $(head -2 "$tmp/err")"
		;;
	esac
	return 0
}

expect 0 stdout -- --help
grep -q 'usage: bmeq <command>' "$tmp/out" || err "--help lacks the usage line"
grep -q 'exit codes' "$tmp/out" || err "--help lacks the exit code table"
expect 0 stdout -- -h
expect 0 stdout -- --version
grep -Eqx 'bmeq [0-9]+\.[0-9]+\.[0-9]+.*' "$tmp/out" || err "--version prints '$(cat "$tmp/out")'"
expect 2 stderr --
expect 2 stderr -- no-such-command
grep -q 'no-such-command' "$tmp/err" || err "unknown command not named in the message"
expect 2 stderr -- --no-such-option

# Every command listed by --help answers --help and -h on stdout with exit 0, and refuses an
# unknown option with exit 2 and a `bmeq: <command>: ...` message.
"$bmeq" --help >"$tmp/help" 2>/dev/null
mapfile -t cmds < <(awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }' "$tmp/help")
[ "${#cmds[@]}" -ge 1 ] || err "--help lists no commands"
for c in "${cmds[@]}"; do
	expect 0 stdout -- "$c" --help
	grep -qi "usage: bmeq $c" "$tmp/out" || err "bmeq $c --help lacks 'usage: bmeq $c'"
	expect 0 stdout -- "$c" -h
	expect 2 stderr -- "$c" --no-such-option
	grep -q "^bmeq: $c: " "$tmp/err" || err "bmeq $c --no-such-option: message '$(cat "$tmp/err")'"
done

# info's own usage errors.
expect 2 stderr -- info
expect 2 stderr -- info --json
expect 2 stderr -- info --volume
expect 2 stderr -- info --volume -1 "$data/niivue/low_res.nii.gz"
expect 2 stderr -- info --volume abc "$data/niivue/low_res.nii.gz"
expect 2 stderr -- info --volume 1x "$data/niivue/low_res.nii.gz"
# --help wins over everything else on the line.
expect 0 stdout -- info --bogus --help
# `--` ends the options: a file named like an option is a (missing) file, exit 3.
expect 3 stderr -- info -- --json
# --volume 0 of a 3D file is volume 0 (the file itself).
expect 0 stdout -- info --volume 0 "$data/niivue/low_res.nii.gz"

finish "test_usage: all checks passed"
