#!/usr/bin/env python3
"""Validate a GPS track CSV and write a clean copy.

Usage: python3 scripts/validate_track.py INPUT.csv --out CLEAN.csv [--rejects REJECTS.csv]

The input needs a header with `time`, `lat` and `lon` (an `ele` column, metres, is kept
when present; other columns are dropped). A row is rejected when its time is not
`YYYY-MM-DDTHH:MM:SSZ`, its lat/lon are not numbers in range, its time repeats an
earlier kept point, or its time is earlier than the previous kept point.
"""
import argparse
import csv
import sys
from datetime import datetime


def main():
    ap = argparse.ArgumentParser(description="validate a GPS track CSV")
    ap.add_argument("input")
    ap.add_argument("--out", required=True, help="clean CSV to write")
    ap.add_argument("--rejects", help="optional CSV of rejected lines and reasons")
    a = ap.parse_args()
    with open(a.input, newline="") as f:
        reader = csv.DictReader(f)
        fields = [h.strip().lower() for h in (reader.fieldnames or [])]
        missing = {"time", "lat", "lon"} - set(fields)
        if missing:
            sys.exit(f"error: {a.input} has no column(s) {', '.join(sorted(missing))}")
        reader.fieldnames = fields
        columns = ["time", "lat", "lon"] + (["ele"] if "ele" in fields else [])
        kept, rejects, last = [], [], None
        for row in reader:
            line = reader.line_num
            values = {k: (row.get(k) or "").strip() for k in columns}
            if not any(values.values()):
                continue
            try:
                when = datetime.strptime(values["time"], "%Y-%m-%dT%H:%M:%SZ")
            except ValueError:
                rejects.append((line, "bad time"))
                continue
            try:
                lat, lon = float(values["lat"]), float(values["lon"])
                ele = float(values["ele"]) if "ele" in values and values["ele"] else None
            except ValueError:
                rejects.append((line, "not a number"))
                continue
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                rejects.append((line, "out of range"))
                continue
            if "ele" in values and ele is None:
                rejects.append((line, "no elevation"))
                continue
            if last is not None and when == last:
                rejects.append((line, "duplicate time"))
                continue
            if last is not None and when < last:
                rejects.append((line, "time goes backwards"))
                continue
            last = when
            kept.append([values[k] for k in columns])
    with open(a.out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(columns)
        w.writerows(kept)
    if a.rejects:
        with open(a.rejects, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["line", "reason"])
            w.writerows(rejects)
    print(f"kept {len(kept)} points, rejected {len(rejects)} -> {a.out}")


if __name__ == "__main__":
    main()
