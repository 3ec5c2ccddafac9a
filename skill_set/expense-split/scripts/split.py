#!/usr/bin/env python3
"""Shared-expense ledger: record who paid what, then report balances or settling transfers.

Subcommands: new, add, list, balance, settle (see --help of each).
Amounts are stored in cents; a share that does not divide evenly gives the leftover cents
to the first people of the group in alphabetical order.
"""
import argparse
import csv
import json
import os
import sys
from decimal import Decimal, InvalidOperation


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def names(text):
    people = sorted({p.strip().lower() for p in text.split(",") if p.strip()})
    if not people:
        fail("no names given")
    return people


def cents(text):
    try:
        value = Decimal(text)
    except InvalidOperation:
        fail(f"not an amount: {text!r}")
    if value <= 0 or value != value.quantize(Decimal("0.01")):
        fail(f"amount must be positive with at most 2 decimals: {text!r}")
    return int(value * 100)


def money(c):
    sign = "-" if c < 0 else ""
    return f"{sign}{abs(c) // 100}.{abs(c) % 100:02d}"


def load(path):
    if not os.path.exists(path):
        fail(f"{path} does not exist; create it with: new --ledger {path} --people a,b")
    with open(path) as f:
        return json.load(f)


def save(path, ledger):
    with open(path, "w") as f:
        json.dump(ledger, f, indent=2)
        f.write("\n")


def totals(ledger):
    paid = {p: 0 for p in ledger["people"]}
    share = {p: 0 for p in ledger["people"]}
    for e in ledger["expenses"]:
        paid[e["payer"]] += e["amount_cents"]
        group = sorted(e["among"])
        base, extra = divmod(e["amount_cents"], len(group))
        for i, p in enumerate(group):
            share[p] += base + (1 if i < extra else 0)
    return paid, share


def cmd_new(a):
    if os.path.exists(a.ledger):
        fail(f"{a.ledger} already exists")
    save(a.ledger, {"people": names(a.people), "expenses": []})
    print(f"created {a.ledger}")


def cmd_add(a):
    ledger = load(a.ledger)
    payer = a.payer.strip().lower()
    among = names(a.among) if a.among else list(ledger["people"])
    for p in [payer] + among:
        if p not in ledger["people"]:
            fail(f"{p!r} is not in the ledger (people: {', '.join(ledger['people'])})")
    ledger["expenses"].append(
        {"payer": payer, "amount_cents": cents(a.amount), "note": a.note, "among": among}
    )
    save(a.ledger, ledger)
    print(f"added expense #{len(ledger['expenses'])}: {payer} paid {a.amount} for {a.note}")


def cmd_list(a):
    for i, e in enumerate(load(a.ledger)["expenses"], 1):
        print(f"{i}. {e['payer']} {money(e['amount_cents'])} {e['note']} [{','.join(e['among'])}]")


def cmd_balance(a):
    ledger = load(a.ledger)
    paid, share = totals(ledger)
    with open(a.out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["person", "paid", "share", "net"])
        for p in sorted(ledger["people"]):
            w.writerow([p, money(paid[p]), money(share[p]), money(paid[p] - share[p])])
    print(f"wrote {a.out}")


def cmd_settle(a):
    paid, share = totals(load(a.ledger))
    net = {p: paid[p] - share[p] for p in paid}
    rows = []
    while True:
        debtors = sorted((v, p) for p, v in net.items() if v < 0)
        creditors = sorted((-v, p) for p, v in net.items() if v > 0)
        if not debtors or not creditors:
            break
        (d, debtor), (c, creditor) = debtors[0], creditors[0]
        amount = min(-d, -c)
        rows.append([debtor, creditor, money(amount)])
        net[debtor] += amount
        net[creditor] -= amount
    with open(a.out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["from", "to", "amount"])
        w.writerows(rows)
    print(f"wrote {a.out} ({len(rows)} transfers)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("new", help="create an empty ledger")
    p.add_argument("--ledger", required=True, help="ledger JSON file to create")
    p.add_argument("--people", required=True, help="comma-separated names")
    p.set_defaults(func=cmd_new)
    p = sub.add_parser("add", help="record one expense")
    p.add_argument("--ledger", required=True)
    p.add_argument("--payer", required=True, help="who paid")
    p.add_argument("--amount", required=True, help="amount paid, e.g. 42.50")
    p.add_argument("--note", required=True, help="what it was for")
    p.add_argument("--among", help="comma-separated names sharing it (default: everyone)")
    p.set_defaults(func=cmd_add)
    p = sub.add_parser("list", help="print the recorded expenses")
    p.add_argument("--ledger", required=True)
    p.set_defaults(func=cmd_list)
    for name, func, what in (("balance", cmd_balance, "paid, share and net per person"),
                             ("settle", cmd_settle, "transfers that settle all debts")):
        p = sub.add_parser(name, help=f"write {what} as CSV")
        p.add_argument("--ledger", required=True)
        p.add_argument("--out", required=True, help="CSV file to write")
        p.set_defaults(func=func)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
