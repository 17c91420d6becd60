#!/usr/bin/env python3
"""report_compare: checks that `kiln report --top` and `go tool pprof -top` agree.

usage: report_compare.py GO_TOP.txt KILN_TOP.txt LABEL

Both outputs are parsed into {function: (flat, cum)} and must hold the same functions with
the same values. go prints values with a unit suffix; run it with -unit=ns, which leaves
nanoseconds, bytes and counts unscaled (1234ns, 1234B, 1234ns), so stripping the suffix
gives the exact integer. go's "(inline)" / "(partial-inline)" tags are dropped.
"""
import re
import sys

ROW_GO = re.compile(r"^\s*(-?[0-9.]+)([a-zA-Z]*)\s+\S+%\s+\S+%\s+(-?[0-9.]+)([a-zA-Z]*)\s+\S+%\s\s(.*)$")
ROW_KILN = re.compile(r"^\s*(-?[0-9]+)\s+\S+%\s+\S+%\s+(-?[0-9]+)\s+\S+%\s\s(.*)$")
RAW_UNITS = {"", "ns", "B"}


def parse(path, rx, go):
    rows = {}
    started = False
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not started:
                started = line.lstrip().startswith("flat")
                continue
            m = rx.match(line)
            if not m:
                sys.exit(f"{path}: cannot parse row: {line!r}")
            if go:
                flat, fu, cum, cu, name = m.groups()
                if fu not in RAW_UNITS or cu not in RAW_UNITS or "." in flat + cum:
                    sys.exit(f"{path}: go scaled a value ({line!r}); use -unit=ns")
                name = re.sub(r" \((partial-)?inline\)$", "", name)
            else:
                flat, cum, name = m.groups()
            if name in rows:
                sys.exit(f"{path}: function {name!r} listed twice")
            rows[name] = (int(flat), int(cum))
    if not started:
        sys.exit(f"{path}: no table header found")
    return rows


def main():
    go_path, kiln_path, label = sys.argv[1:4]
    go = parse(go_path, ROW_GO, True)
    kiln = parse(kiln_path, ROW_KILN, False)
    bad = 0
    for name in sorted(set(go) | set(kiln)):
        g, k = go.get(name), kiln.get(name)
        if g != k:
            bad += 1
            if bad <= 20:
                print(f"{label}: {name}: go flat/cum={g} kiln flat/cum={k}")
    if not go:
        print(f"{label}: go printed no functions")
        bad += 1
    if bad:
        print(f"{label}: {bad} functions differ (go {len(go)}, kiln {len(kiln)})")
        return 1
    print(f"{label}: {len(go)} functions agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
