#!/usr/bin/env python3
"""Convert a clean GPS track (output of validate_track.py) to a GeoJSON LineString.

Usage: python3 scripts/to_geojson.py CLEAN.csv --out TRACK.geojson [--name "Track name"]
"""
import argparse
import csv
import json


def main():
    ap = argparse.ArgumentParser(description="clean track CSV to GeoJSON")
    ap.add_argument("clean")
    ap.add_argument("--out", required=True, help="GeoJSON file to write")
    ap.add_argument("--name", default="track", help="the feature's name property")
    a = ap.parse_args()
    coords, times = [], []
    with open(a.clean, newline="") as f:
        for row in csv.DictReader(f):
            point = [float(row["lon"]), float(row["lat"])]  # GeoJSON order: lon, lat
            if row.get("ele"):
                point.append(float(row["ele"]))
            coords.append(point)
            times.append(row["time"])
    feature = {
        "type": "Feature",
        "properties": {"name": a.name, "points": len(coords), "start": times[0], "end": times[-1]},
        "geometry": {"type": "LineString", "coordinates": coords},
    }
    with open(a.out, "w") as f:
        json.dump({"type": "FeatureCollection", "features": [feature]}, f, indent=2)
        f.write("\n")
    print(f"wrote {a.out}: {len(coords)} points")


if __name__ == "__main__":
    main()
