#!/usr/bin/python3
"""Scores response.csv of a batch over a phantom study against the classes the truth implies.

usage: eval_response.py STUDY_DIR OUT_DIR [--check]

The true class of each follow-up (against baseline) comes from the truth edema volumes and the
default rule (measurable >= 0.5 mL, partial <= -30 %, progression >= +20 % and >= +1 mL). Cases
whose true change lies within 10 percentage points of a cut-off (or within 0.25 mL of the
measurable or 1 mL limits) are reported but not scored, as issue 7 specifies.
"""
import csv
import json
import os
import sys


def true_class(b, f):
    mb, mf = b >= 0.5, f >= 0.5
    if not mb and not mf:
        return "none", True
    if not mb:
        return "new", abs(b - 0.5) > 0.25 and abs(f - 0.5) > 0.25
    if not mf:
        return "complete", abs(f - 0.5) > 0.25
    pct = 100.0 * (f - b) / b
    clear = abs(pct + 30) >= 10 and abs(pct - 20) >= 10 and abs(f - b - 1.0) > 0.25
    if pct <= -30:
        return "partial", clear
    if pct >= 20 and f - b >= 1.0:
        return "progression", clear
    return "stable", clear


def main():
    study, out = sys.argv[1], sys.argv[2]
    truth = json.load(open(os.path.join(study, "truth.json")))
    vol = {(s["subject"], s["session"], side): s[side]["edema_ml"]
           for s in truth["scans"] for side in ("right", "left")}
    rows = list(csv.DictReader(open(os.path.join(out, "response.csv"), newline="")))
    scored = right = 0
    for r in rows:
        b = vol[(r["subject"], r["baseline_session"], r["side"])]
        f = vol[(r["subject"], r["session"], r["side"])]
        want, clear = true_class(b, f)
        ok = want == r["response"]
        if clear:
            scored += 1
            right += ok
        print("%s %-5s %s->%s truth %6.2f -> %6.2f %-11s got %-11s %s%s" % (
            r["subject"], r["side"], r["baseline_session"], r["session"], b, f, want,
            r["response"], "ok" if ok else "WRONG", "" if clear else " (near a cut-off: not scored)"))
    print("classes correct where the true change is clear of the cut-offs: %d of %d" % (right, scored))
    if "--check" in sys.argv:
        return 0 if right == scored else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
