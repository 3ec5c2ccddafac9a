"""Print the total of one invoice: lines, then discount, then tax, rounded to cents.

usage: python3 invoice_total.py INVOICE.json --tax PERCENT
"""

import argparse
import json
from decimal import ROUND_HALF_UP, Decimal


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("invoice")
    parser.add_argument("--tax", type=Decimal, required=True, help="tax rate in percent")
    args = parser.parse_args()
    with open(args.invoice) as handle:
        invoice = json.load(handle)
    subtotal = sum(
        Decimal(str(line["qty"])) * Decimal(str(line["unit_price"])) for line in invoice["lines"]
    )
    discount = Decimal(str(invoice.get("discount_pct", 0)))
    total = subtotal * (1 - discount / 100) * (1 + args.tax / 100)
    print(total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


if __name__ == "__main__":
    main()
