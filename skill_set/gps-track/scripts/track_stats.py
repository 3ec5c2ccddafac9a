#!/usr/bin/env python3
"""Distance, duration, speed and climb of a clean GPS track (output of validate_track.py).

Usage: python3 scripts/track_stats.py CLEAN.csv --unit km|mi --out STATS.json
"""
import argparse
import csv
import json
import math
import sys
from datetime import datetime

EARTH_KM = 6371.0
KM_PER_MILE = 1.609344


def haversine_km(p, q):
    lat1, lon1, lat2, lon2 = map(math.radians, (p[0], p[1], q[0], q[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_KM * math.asin(math.sqrt(h))


def main():
    ap = argparse.ArgumentParser(description="statistics of a clean GPS track")
    ap.add_argument("clean")
    ap.add_argument("--unit", required=True, choices=["km", "mi"])
    ap.add_argument("--out", required=True, help="JSON file to write")
    a = ap.parse_args()
    points = []
    with open(a.clean, newline="") as f:
        for n, row in enumerate(csv.DictReader(f), start=2):
            try:
                when = datetime.strptime(row["time"], "%Y-%m-%dT%H:%M:%SZ")
                ele = float(row["ele"]) if row.get("ele") not in (None, "") else None
                points.append((float(row["lat"]), float(row["lon"]), when, ele))
            except (KeyError, ValueError, TypeError):
                sys.exit(f"error: line {n} of {a.clean} is not clean; run scripts/validate_track.py first")
            if len(points) > 1 and points[-1][2] <= points[-2][2]:
                sys.exit(f"error: times not increasing at line {n}; run scripts/validate_track.py first")
    if len(points) < 2:
        sys.exit("error: a track needs at least two points")
    km = sum(haversine_km(p, q) for p, q in zip(points, points[1:]))
    distance = km if a.unit == "km" else km / KM_PER_MILE
    hours = (points[-1][2] - points[0][2]).total_seconds() / 3600
    elevations = [p[3] for p in points]
    gain = None
    if all(e is not None for e in elevations):
        gain = round(sum(max(0.0, b - c) for c, b in zip(elevations, elevations[1:])), 1)
    stats = {
        "points": len(points),
        "unit": a.unit,
        "distance": round(distance, 3),
        "duration_min": round(hours * 60, 1),
        "avg_speed": round(distance / hours, 2),
        "elevation_gain_m": gain,
    }
    with open(a.out, "w") as f:
        json.dump(stats, f, indent=2)
        f.write("\n")
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
