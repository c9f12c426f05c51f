# same_outputs.sh - sourced by CLI tests that compare two runs' outputs. Needs fail().
#   same_tables A B       the files named in $tables are byte-identical in folders A and B
#   same_provenance A B   A/provenance.json equals B's but for the run's host, finishing time,
#                         jobs and durations

same_tables() {
  for t in $tables; do
    cmp -s "$1/$t" "$2/$t" || { diff "$1/$t" "$2/$t" | head -5 >&2; fail "$t differs: $1 vs $2"; }
  done
}

same_provenance() {
  /usr/bin/python3 - "$1/provenance.json" "$2/provenance.json" <<'PY'
import json, sys
def strip(p):
    d = json.load(open(p))
    for k in ("host", "finished_utc", "jobs"):
        d.pop(k)
    d["summary"].pop("seconds")
    for i in d["inputs"]:
        i.pop("seconds")
    return d
a, b = strip(sys.argv[1]), strip(sys.argv[2])
assert a == b, (a, b)
PY
}
