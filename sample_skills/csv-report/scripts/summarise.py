"""Group a CSV by one column and write sums, counts or means as JSON.

usage: python3 summarise.py FILE --by COLUMN (--sum COL | --mean COL | --count) --out FILE
"""

import argparse
import csv
import json
from collections import defaultdict


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--by", required=True)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--sum")
    group.add_argument("--mean")
    group.add_argument("--count", action="store_true")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    sums: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    column = args.sum or args.mean
    with open(args.file, newline="") as handle:
        for row in csv.DictReader(handle):
            key = row[args.by]
            counts[key] += 1
            if column:
                sums[key] += float(row[column])
    if args.count:
        report = dict(sorted(counts.items()))
    elif args.sum:
        report = {k: round(v, 2) for k, v in sorted(sums.items())}
    else:
        report = {k: round(sums[k] / counts[k], 2) for k in sorted(sums)}
    with open(args.out, "w") as handle:
        json.dump(report, handle, indent=2, sort_keys=True)
    print(json.dumps(report, sort_keys=True))


if __name__ == "__main__":
    main()
