#!/usr/bin/env python3
"""Writes an audit log for `palisade detect run` measurements: the Falco suite's audit events
(../shared/conformance/falco-k8saudit/events) replayed in order, as recorded, each with a
unique auditID, as JSON lines.

    python3 crates/palisade-detect/benches/gen_audit_log.py EVENTS OUT [--routine]

EVENTS is the number of events; --routine turns every event into a read by a control-plane
user without its request object (the traffic no rule alerts on).
"""
import json
import os
import sys

SUITE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                     "../../../../shared/conformance/falco-k8saudit/events")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    count, out = int(sys.argv[1]), sys.argv[2]
    routine = "--routine" in sys.argv[3:]
    base = []
    for name in sorted(os.listdir(SUITE)):
        with open(os.path.join(SUITE, name), encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if '"auditID"' not in line:
                    continue
                ev = json.loads(line)
                if routine:
                    ev["user"]["username"] = "system:kube-controller-manager"
                    ev["verb"] = "get"
                    ev.pop("requestObject", None)
                base.append(ev)
    with open(out, "w", encoding="utf-8") as f:
        for i in range(count):
            ev = base[i % len(base)]
            ev["auditID"] = "gen-%08d" % i
            f.write(json.dumps(ev, separators=(",", ":")))
            f.write("\n")


if __name__ == "__main__":
    main()
