"""reason.*: answers checked against values computed here."""

from __future__ import annotations

import itertools
import math
import re

from skvm_core.profile.instance import Checks, Generator, close, last_number

ANSWER = " End your reply with the final number alone on the last line."
NAMES = ["Ava", "Ben", "Cal", "Dia", "Eli"]


class ArithmeticGenerator(Generator):
    primitive = "reason.arithmetic"
    writes_files = False
    descriptions = {
        "L1": "One arithmetic operation",
        "L2": "Price, discount and tax in several steps",
        "L3": "Compound interest and effective annual rate",
    }

    def make(self, level, rng):
        if level == "L1":
            a, b = rng.randint(12, 99), rng.randint(12, 99)
            op = rng.choice(["+", "-", "*", "%"])
            if op == "%":
                return (
                    f"What is {a}% of {b * 10}?" + ANSWER,
                    {},
                    {"value": a * b * 10 / 100, "tol": 0.01},
                )
            value = {"+": a + b, "-": a - b, "*": a * b}[op]
            return f"What is {a} {op} {b}?" + ANSWER, {}, {"value": value, "tol": 0.01}
        if level == "L2":
            price, qty, discount, tax = (
                round(rng.uniform(3, 90), 2),
                rng.randint(2, 12),
                rng.choice([5, 10, 15, 20]),
                rng.choice([7, 8, 19, 20]),
            )
            total = price * qty * (1 - discount / 100) * (1 + tax / 100)
            prompt = f"An item costs {price} and a customer buys {qty}. A {discount}% discount applies to the subtotal, then {tax}% tax. What is the total, rounded to cents?"
            return prompt + ANSWER, {}, {"value": round(total, 2), "tol": 0.02}
        principal, rate, years, n = (
            rng.randint(10, 90) * 100,
            rng.choice([3.5, 4.2, 5.0, 6.25]),
            rng.randint(3, 12),
            rng.choice([4, 12]),
        )
        value = principal * (1 + rate / 100 / n) ** (n * years)
        prompt = f"{principal} is invested at {rate}% a year, compounded {'monthly' if n == 12 else 'quarterly'}, for {years} years. What is the final balance, rounded to cents?"
        return prompt + ANSWER, {}, {"value": round(value, 2), "tol": max(0.02, value * 0.002)}

    async def check(self, instance, work_dir, response):
        checks = Checks()
        got = last_number(response)
        want = instance.expected["value"]
        checks.add(
            "value", close(got, want, instance.expected["tol"]), f"got {got}, expected {want}"
        )
        return checks.result()

    def solve(self, instance, work_dir):
        return f"Working it out step by step.\n{instance.expected['value']}"

    def wrong(self, instance, work_dir):
        return f"Roughly:\n{round(instance.expected['value'] * 1.1 + 3, 2)}"


class LogicGenerator(Generator):
    primitive = "reason.logic"
    writes_files = False
    descriptions = {
        "L1": "Simple syllogism",
        "L2": "Seating under several constraints",
        "L3": "Assignment with minimum total cost",
    }

    def make(self, level, rng):
        if level == "L1":
            a, b, c = rng.sample(["bloops", "razzies", "lazzies", "wumps", "tovs"], 3)
            valid = rng.choice([True, False])
            if valid:
                prompt = f"All {a} are {b}. All {b} are {c}. Are all {a} necessarily {c}? Answer Yes or No."
            else:
                prompt = f"All {a} are {b}. Some {b} are {c}. Are all {a} necessarily {c}? Answer Yes or No."
            return prompt, {}, {"answer": "yes" if valid else "no"}
        if level == "L2":
            people = rng.sample(NAMES, 4)
            while True:
                order = rng.sample(people, 4)
                clues = [
                    f"{order[0]} sits in seat 1.",
                    f"{order[3]} sits directly right of {order[2]}.",
                    f"{order[1]} is not in seat 4.",
                ]
                solutions = [
                    p
                    for p in itertools.permutations(people)
                    if p[0] == order[0]
                    and p.index(order[3]) == p.index(order[2]) + 1
                    and p.index(order[1]) != 3
                ]
                if len(solutions) == 1:
                    break
            seat = rng.randint(2, 4)
            prompt = f"Four people, {', '.join(sorted(people))}, sit in seats 1 to 4 in a row (seat 1 is leftmost). {' '.join(clues)} Who sits in seat {seat}? Answer with the name on the last line."
            return prompt, {}, {"answer": solutions[0][seat - 1].lower()}
        size = rng.choice([3, 4])
        workers, jobs = NAMES[:size], ["paint", "wire", "plumb", "tile"][:size]
        cost = [[rng.randint(1, 20) for _ in jobs] for _ in workers]
        best = min(
            sum(cost[w][p[w]] for w in range(size)) for p in itertools.permutations(range(size))
        )
        table = "\n".join(
            f"{w}: " + ", ".join(f"{j}={cost[i][k]}" for k, j in enumerate(jobs))
            for i, w in enumerate(workers)
        )
        prompt = (
            f"Assign each worker exactly one job (each job to one worker) to minimise the total cost.\n{table}\nWhat is the minimum total cost?"
            + ANSWER
        )
        return prompt, {}, {"value": best}

    async def check(self, instance, work_dir, response):
        checks = Checks()
        e = instance.expected
        if "value" in e:
            got = last_number(response)
            checks.add(
                "minimum", close(got, e["value"], 0.001), f"got {got}, expected {e['value']}"
            )
        elif e["answer"] in ("yes", "no"):
            words = re.findall(r"\b(yes|no)\b", response.lower())
            checks.add(
                "answer",
                bool(words) and words[-1] == e["answer"],
                f"answered {words[-1] if words else 'nothing'}",
            )
        else:
            lines = [line.strip().lower() for line in response.strip().splitlines() if line.strip()]
            checks.add(
                "answer",
                bool(lines) and e["answer"] in lines[-1],
                f"last line {lines[-1] if lines else ''!r}",
            )
        return checks.result()

    def solve(self, instance, work_dir):
        e = instance.expected
        return (
            f"Checked every case.\n{e['value']}"
            if "value" in e
            else f"Reasoning done.\n{e['answer'].capitalize()}"
        )

    def wrong(self, instance, work_dir):
        e = instance.expected
        if "value" in e:
            return f"\n{e['value'] + 3}"
        if e["answer"] in ("yes", "no"):
            return "No" if e["answer"] == "yes" else "Yes"
        return next(n for n in NAMES if n.lower() != e["answer"])


class SpatialGenerator(Generator):
    primitive = "reason.spatial"
    writes_files = False
    descriptions = {
        "L1": "Distance between two points",
        "L2": "Area of a triangle from coordinates",
        "L3": "Great-circle distance between two cities",
    }
    CITIES = {
        "Paris": (48.8566, 2.3522),
        "Tokyo": (35.6762, 139.6503),
        "Lima": (-12.0464, -77.0428),
        "Cairo": (30.0444, 31.2357),
        "Sydney": (-33.8688, 151.2093),
        "Toronto": (43.6532, -79.3832),
    }

    def make(self, level, rng):
        if level == "L1":
            x1, y1, x2, y2 = (rng.randint(-20, 20) for _ in range(4))
            kind = rng.choice(["Euclidean", "Manhattan"])
            value = (
                math.hypot(x2 - x1, y2 - y1) if kind == "Euclidean" else abs(x2 - x1) + abs(y2 - y1)
            )
            return (
                f"What is the {kind} distance between ({x1}, {y1}) and ({x2}, {y2})? Round to 2 decimals."
                + ANSWER,
                {},
                {"value": round(value, 2), "tol": 0.15},
            )
        if level == "L2":
            points = [(rng.randint(-10, 10), rng.randint(-10, 10)) for _ in range(3)]
            (ax, ay), (bx, by), (cx, cy) = points
            area = abs(ax * (by - cy) + bx * (cy - ay) + cx * (ay - by)) / 2
            if area == 0:
                points[2] = (cx + 1, cy + 3)
                (cx, cy) = points[2]
                area = abs(ax * (by - cy) + bx * (cy - ay) + cx * (ay - by)) / 2
            return (
                f"What is the area of the triangle with vertices {points[0]}, {points[1]} and {points[2]}?"
                + ANSWER,
                {},
                {"value": area, "tol": max(0.02, area * 0.005)},
            )
        a, b = rng.sample(sorted(self.CITIES), 2)
        (lat1, lon1), (lat2, lon2) = self.CITIES[a], self.CITIES[b]
        p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
        h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        km = 2 * 6371 * math.asin(math.sqrt(h))
        prompt = f"Using the haversine formula and an Earth radius of 6371 km, how far is {a} ({lat1}, {lon1}) from {b} ({lat2}, {lon2}) in km?"
        return prompt + ANSWER, {}, {"value": round(km, 1), "tol": max(5, km * 0.005)}

    async def check(self, instance, work_dir, response):
        checks = Checks()
        got = last_number(response)
        checks.add(
            "value",
            close(got, instance.expected["value"], instance.expected["tol"]),
            f"got {got}, expected {instance.expected['value']}",
        )
        return checks.result()

    def solve(self, instance, work_dir):
        return f"Computed:\n{instance.expected['value']}"

    def wrong(self, instance, work_dir):
        return f"\n{instance.expected['value'] * 1.5 + 10}"


class PlanningGenerator(Generator):
    primitive = "reason.planning"
    writes_files = False
    descriptions = {
        "L1": "Order dependent tasks",
        "L2": "Find tasks that can run in parallel",
        "L3": "Trace a pipeline with a failing step",
    }

    def make(self, level, rng):
        if level == "L1":
            tasks = rng.sample(
                ["fetch", "parse", "clean", "train", "score", "ship"], rng.randint(4, 6)
            )
            edges = [(tasks[i], tasks[i + 1]) for i in range(len(tasks) - 1)]
            edges += [(tasks[0], tasks[-1])]
            shown = sorted(edges, key=lambda _: rng.random())
            prompt = "Tasks and dependencies (A -> B means A must finish before B): " + "; ".join(
                f"{a} -> {b}" for a, b in shown
            )
            prompt += ". Give an order to run all tasks, as one comma-separated line at the end of your reply."
            return prompt, {}, {"tasks": tasks, "edges": edges}
        if level == "L2":
            first, *middle, last = rng.sample(
                ["setup", "lint", "test", "docs", "build", "deploy"], rng.randint(4, 5)
            )
            prompt = (
                f"A pipeline: {first} runs first. Then {', '.join(middle)} each depend only on {first}. {last} depends on all of {', '.join(middle)}. "
                f"Which tasks can run in parallel right after {first}? List them comma-separated on the last line."
            )
            return prompt, {}, {"parallel": sorted(middle)}
        steps = ["Checkout", "Build", "Test", "Lint", "Deploy"]
        failing = rng.choice(["Test", "Lint"])
        prompt = (
            "A pipeline runs Checkout, Build, Test, Lint, Deploy in that order; a failing step stops every later step, which is skipped. "
            f"This time {failing} fails. End your reply with two lines: 'completed: <comma-separated steps that succeeded>' and 'skipped: <comma-separated steps never run>'."
        )
        index = steps.index(failing)
        return prompt, {}, {"completed": steps[:index], "skipped": steps[index + 1 :]}

    async def check(self, instance, work_dir, response):
        checks = Checks()
        e = instance.expected
        lines = [line.strip() for line in response.strip().splitlines() if line.strip()]
        if instance.level == "L1":
            names = [
                w.strip(" .`*").lower()
                for w in (lines[-1] if lines else "").replace("->", ",").split(",")
            ]
            order = [n for n in names if n in e["tasks"]]
            ok = sorted(order) == sorted(e["tasks"]) and all(
                order.index(a) < order.index(b) for a, b in e["edges"]
            )
            checks.add("valid_order", ok, f"order {order}")
        elif instance.level == "L2":
            got = sorted(
                w.strip(" .`*").lower()
                for w in (lines[-1] if lines else "").split(",")
                if w.strip()
            )
            checks.add("parallel_set", got == e["parallel"], f"got {got}")
        else:

            def listed(prefix: str) -> list[str]:
                line = next((x for x in reversed(lines) if x.lower().startswith(prefix)), "")
                return [
                    w.strip(" .`*").capitalize()
                    for w in line.split(":", 1)[-1].split(",")
                    if w.strip() and w.strip().lower() != "none"
                ]

            checks.add(
                "completed",
                listed("completed") == e["completed"],
                f"completed {listed('completed')}",
            )
            checks.add("skipped", listed("skipped") == e["skipped"], f"skipped {listed('skipped')}")
        return checks.result()

    def solve(self, instance, work_dir):
        e = instance.expected
        if instance.level == "L1":
            return "Order:\n" + ", ".join(e["tasks"])
        if instance.level == "L2":
            return "These:\n" + ", ".join(e["parallel"])
        return f"completed: {', '.join(e['completed'])}\nskipped: {', '.join(e['skipped'])}"

    def wrong(self, instance, work_dir):
        e = instance.expected
        if instance.level == "L1":
            return ", ".join(reversed(e["tasks"]))
        if instance.level == "L2":
            return ", ".join(e["parallel"][:1])
        return f"completed: {', '.join(e['completed'] + e['skipped'])}\nskipped: none"


_SNIPPETS = [
    ("def f(xs):\n    return [x for x in xs if x % 2 == 0]", ["even"]),
    ("def f(s):\n    return s == s[::-1]", ["palindrome"]),
    ("def f(xs):\n    return max(xs) - min(xs)", ["range", "spread", "difference"]),
    ("def f(n):\n    return 1 if n <= 1 else n * f(n - 1)", ["factorial"]),
    ("def f(words):\n    return {w: len(w) for w in words}", ["length"]),
    (
        "def f(path):\n    with open(path) as h:\n        return sum(1 for _ in h)",
        ["count", "lines"],
    ),
]
_BUGS = [
    (
        "def average(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total / (len(xs) - 1)",
        ["len(xs) - 1", "divid", "denominator", "off-by-one", "off by one"],
    ),
    (
        "def last(xs):\n    return xs[len(xs)]",
        ["index", "len(xs) - 1", "out of range", "indexerror"],
    ),
    ("def is_adult(age):\n    return age > 18", [">=", "18", "boundary"]),
    (
        "def add_item(item, bucket=[]):\n    bucket.append(item)\n    return bucket",
        ["mutable default", "default argument", "shared"],
    ),
]
_ROOT_CAUSES = [
    (
        {
            "config.py": "TIMEOUT = '30'\nRETRIES = 3\n",
            "client.py": "from config import TIMEOUT\n\ndef wait_time(attempt):\n    return TIMEOUT * attempt\n",
            "main.py": "from client import wait_time\nprint(wait_time(2) + 1)\n",
        },
        'main.py fails with TypeError: can only concatenate str (not "int") to str.',
        ("config.py", 1),
    ),
    (
        {
            "units.py": "def to_meters(feet):\n    return feet * 3.28\n",
            "route.py": "from units import to_meters\n\ndef total(legs):\n    return sum(to_meters(l) for l in legs)\n",
            "report.py": "from route import total\nprint(round(total([10, 20]), 1))\n",
        },
        "report.py prints 98.4 but the route is 9.1 meters long.",
        ("units.py", 2),
    ),
]


class AnalysisGenerator(Generator):
    primitive = "reason.analysis"
    writes_files = False
    descriptions = {
        "L1": "Say what a short snippet does",
        "L2": "Find the bug in a function",
        "L3": "Find the root-cause file and line across several files",
    }

    def make(self, level, rng):
        if level == "L1":
            code, keywords = rng.choice(_SNIPPETS)
            return (
                f"In at most five words, what does this function compute?\n```python\n{code}\n```",
                {},
                {"keywords": keywords},
            )
        if level == "L2":
            code, keywords = rng.choice(_BUGS)
            return (
                f"This function has one bug. Name it in one sentence.\n```python\n{code}\n```",
                {},
                {"keywords": keywords},
            )
        files, symptom, (file, line) = rng.choice(_ROOT_CAUSES)
        listing = "\n\n".join(f"{name}:\n```python\n{text}```" for name, text in files.items())
        prompt = f"{symptom}\n\n{listing}\n\nWhich file and line hold the root cause? End your reply with two lines: 'file: <name>' and 'line: <number>'."
        return prompt, {}, {"file": file, "line": line}

    async def check(self, instance, work_dir, response):
        checks = Checks()
        e = instance.expected
        lowered = response.lower()
        if instance.level in ("L1", "L2"):
            hit = [k for k in e["keywords"] if k.lower() in lowered]
            checks.add(
                "explains",
                bool(hit),
                f"mentions {hit}" if hit else f"none of {e['keywords']} mentioned",
            )
            if instance.level == "L1":
                checks.add("brief", len(response.split()) <= 12, f"{len(response.split())} words")
        else:
            tail = "\n".join(response.strip().splitlines()[-2:]).lower()
            file = re.search(r"file:\s*`?([\w.]+)", tail)
            line = re.search(r"line:\s*(\d+)", tail)
            checks.add(
                "file",
                bool(file) and file.group(1) == e["file"],
                f"file {file.group(1) if file else None}",
            )
            checks.add(
                "line",
                bool(line) and abs(int(line.group(1)) - e["line"]) <= 2,
                f"line {line.group(1) if line else None}",
            )
        return checks.result()

    def solve(self, instance, work_dir):
        e = instance.expected
        if instance.level == "L3":
            return f"The constant is wrong.\nfile: {e['file']}\nline: {e['line']}"
        return f"It is about {e['keywords'][0]}."

    def wrong(self, instance, work_dir):
        if instance.level == "L3":
            return "file: main.py\nline: 40"
        return "It processes some data for the caller in a loop of some kind."
