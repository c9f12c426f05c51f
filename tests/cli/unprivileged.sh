# unprivileged.sh - sourced by CLI tests that need file permissions to bite.
# Root ignores permission bits, so when the tests run as root (as in CI) the
# commands under test run as the unprivileged user nobody (setpriv, util-linux),
# in a work area under /tmp that nobody can reach; otherwise they run as the
# current user. Sets: work (a fresh folder, removed on exit), as_user (prefix
# for commands under test), user_bmeq (a copy of the binary that as_user can
# run), give DIR... (makes folders writable for as_user).
# Needs: common.sh sourced first (bmeq, skip).

if [ "$(id -u)" = 0 ]; then
  command -v setpriv >/dev/null || skip "root without setpriv"
  nobody_uid=$(id -u nobody 2>/dev/null || echo 65534)
  nobody_gid=$(id -g nobody 2>/dev/null || echo 65534)
  as_user=(setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --clear-groups
           env HOME=/nonexistent)
  give() { mkdir -p "$@" && chown "$nobody_uid:$nobody_gid" "$@"; }
else
  as_user=(env)
  give() { mkdir -p "$@"; }
fi
work=$(mktemp -d /tmp/bmeq-test.XXXXXX)
chmod 755 "$work"
# Permission bits set by a test must not stop the clean-up.
trap 'chmod -R u+rwX "$work" 2>/dev/null; rm -rf "$work"' EXIT
# The binary is copied so that its own folder's permissions do not matter; it
# links only system libraries, and sanitizer builds keep their runtime.
cp "$bmeq" "$work/bmeq"
chmod 755 "$work/bmeq"
user_bmeq=$work/bmeq
