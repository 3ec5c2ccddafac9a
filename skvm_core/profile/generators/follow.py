"""follow.*: instruction following, judged from the answer (delegation from files)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from fractions import Fraction

from skvm_core.profile.instance import Checks, Generator, close, extract_json, read, write

WORDS = [
    "maple",
    "quartz",
    "saffron",
    "tundra",
    "willow",
    "cobalt",
    "pepper",
    "harbor",
    "lilac",
    "onyx",
]
CONTRACTIONS = re.compile(r"\b\w+'(t|s|re|ve|ll|d|m)\b", re.IGNORECASE)
FIRST_PERSON = re.compile(r"\b(i|me|my|mine|we|us|our|ours)\b", re.IGNORECASE)


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s.strip()]


class FormatGenerator(Generator):
    primitive = "follow.format"
    writes_files = False
    descriptions = {
        "L1": "Answer as a JSON array of exactly K strings",
        "L2": "Answer with JSON that follows a typed schema",
        "L3": "Answer with JSON under several format constraints at once",
    }

    def make(self, level, rng):
        if level == "L1":
            count = rng.randint(4, 8)
            return (
                f"Name {count} colours. Answer with only a JSON array of exactly {count} strings.",
                {},
                {"count": count},
            )
        if level == "L2":
            return (
                'Describe a fictional book as JSON with exactly these fields: "title" (string), "year" (integer), "rating" (number between 0 and 5), '
                '"tags" (array of at least 3 strings), "author" (object with "name" string and "born" integer). Answer with only the JSON.',
                {},
                {},
            )
        limit = rng.choice([300, 400, 500])
        case = rng.choice(["lower", "upper"])
        return (
            f"Describe a city as one JSON object of at most {limit} bytes with at least 5 fields, its keys in alphabetical order, every string value "
            f"in {case}case, and at least one number and one array among the values. Answer with only the JSON.",
            {},
            {"limit": limit, "case": case},
        )

    async def check(self, instance, work_dir, response):
        checks = Checks()
        e = instance.expected
        raw = response.strip()
        try:
            data = extract_json(raw)
        except ValueError:
            data = None
        if instance.level == "L1":
            ok = isinstance(data, list) and all(isinstance(x, str) for x in data)
            checks.add("string_array", ok, "array of strings" if ok else "not an array of strings")
            checks.add(
                "count",
                ok and len(data) == e["count"],
                f"{len(data) if isinstance(data, list) else 0} items",
            )
        elif instance.level == "L2":
            ok = isinstance(data, dict)
            checks.add("object", ok, "JSON object")
            if ok:
                author = data.get("author")
                checks.add(
                    "fields",
                    set(data) == {"title", "year", "rating", "tags", "author"},
                    f"keys {sorted(data)}",
                )
                checks.add(
                    "types",
                    isinstance(data.get("title"), str)
                    and isinstance(data.get("year"), int)
                    and isinstance(data.get("rating"), int | float)
                    and 0 <= data.get("rating", -1) <= 5
                    and isinstance(data.get("tags"), list)
                    and len(data["tags"]) >= 3
                    and isinstance(author, dict)
                    and isinstance(author.get("name"), str)
                    and isinstance(author.get("born"), int),
                    "field types",
                )
        else:
            ok = isinstance(data, dict)
            checks.add("object", ok, "JSON object")
            if ok:
                strings = [v for v in data.values() if isinstance(v, str)] + [
                    x for v in data.values() if isinstance(v, list) for x in v if isinstance(x, str)
                ]
                checks.add(
                    "size",
                    len(json.dumps(data, separators=(",", ":")).encode()) <= e["limit"],
                    "within the byte limit",
                )
                checks.add("fields", len(data) >= 5, f"{len(data)} fields")
                checks.add("sorted_keys", list(data) == sorted(data), "keys in order")
                checks.add(
                    "case",
                    all(s == (s.lower() if e["case"] == "lower" else s.upper()) for s in strings),
                    f"{e['case']}case strings",
                )
                checks.add(
                    "number_and_array",
                    any(
                        isinstance(v, int | float) and not isinstance(v, bool)
                        for v in data.values()
                    )
                    and any(isinstance(v, list) for v in data.values()),
                    "a number and an array",
                )
        return checks.result()

    def solve(self, instance, work_dir):
        e = instance.expected
        if instance.level == "L1":
            return json.dumps(
                ["red", "blue", "green", "gold", "grey", "pink", "teal", "navy"][: e["count"]]
            )
        if instance.level == "L2":
            return json.dumps(
                {
                    "title": "T",
                    "year": 2001,
                    "rating": 4.5,
                    "tags": ["a", "b", "c"],
                    "author": {"name": "N", "born": 1970},
                }
            )
        word = (lambda s: s.lower()) if e["case"] == "lower" else (lambda s: s.upper())
        return json.dumps(
            {
                "country": word("Peru"),
                "districts": [word("Miraflores")],
                "name": word("Lima"),
                "population": 9700000,
                "river": word("Rimac"),
            }
        )

    def wrong(self, instance, work_dir):
        if instance.level == "L1":
            return "Here are some colours: red, blue."
        if instance.level == "L2":
            return json.dumps({"title": "T", "year": "2001", "rating": 9, "tags": "a"})
        return json.dumps(
            {
                "name": "Lima",
                "country": "Peru",
                "population": 9700000,
                "river": "Rimac",
                "districts": ["x"],
            }
        )


class ConstraintGenerator(Generator):
    primitive = "follow.constraint"
    writes_files = False
    descriptions = {
        "L1": "Respect one hard constraint",
        "L2": "Respect four constraints at once",
        "L3": "Respect constraints that go against writing habits",
    }

    def make(self, level, rng):
        word = rng.choice(WORDS).capitalize()
        if level == "L1":
            return (
                f"Write a short paragraph about autumn. It MUST contain the exact word '{word}' (capitalised like that).",
                {},
                {"word": word},
            )
        if level == "L2":
            first, count, limit = (
                rng.choice(["Today", "Sometimes", "Honestly"]),
                rng.randint(3, 4),
                rng.choice([50, 60, 70]),
            )
            prompt = (
                f"Write about the sea. Rules: use the word '{word.lower()}' exactly once; the first word must be '{first}'; at most {limit} words; "
                f"exactly {count} sentences, each ending with a full stop."
            )
            return (
                prompt,
                {},
                {"word": word.lower(), "first": first, "limit": limit, "count": count},
            )
        return (
            "Describe a morning walk in exactly three sentences. Never use a comma, never use the word 'the', and write no digits.",
            {},
            {"count": 3},
        )

    async def check(self, instance, work_dir, response):
        checks = Checks()
        e = instance.expected
        text = response.strip()
        if instance.level == "L1":
            checks.add(
                "exact_word",
                re.search(rf"\b{re.escape(e['word'])}\b", text) is not None,
                f"'{e['word']}' present",
            )
        elif instance.level == "L2":
            words = re.findall(r"[A-Za-z']+", text)
            checks.add(
                "word_once",
                len(re.findall(rf"\b{e['word']}\b", text, re.IGNORECASE)) == 1,
                "keyword used exactly once",
            )
            checks.add(
                "first_word",
                bool(words) and words[0] == e["first"],
                f"first word {words[0] if words else None}",
            )
            checks.add("length", len(text.split()) <= e["limit"], f"{len(text.split())} words")
            sentences = _sentences(text)
            checks.add(
                "sentences",
                len(sentences) == e["count"] and all(s.endswith(".") for s in sentences),
                f"{len(sentences)} sentences",
            )
        else:
            checks.add("no_comma", "," not in text, "no commas")
            checks.add("no_the", re.search(r"\bthe\b", text, re.IGNORECASE) is None, "no 'the'")
            checks.add("no_digits", re.search(r"\d", text) is None, "no digits")
            checks.add(
                "sentences", len(_sentences(text)) == 3, f"{len(_sentences(text))} sentences"
            )
        return checks.result()

    def solve(self, instance, work_dir):
        e = instance.expected
        if instance.level == "L1":
            return f"Leaves fall and {e['word']} tones fill a quiet park."
        if instance.level == "L2":
            rest = [
                "Waves roll in.",
                f"A {e['word']} glow sits on them.",
                "Gulls call out.",
                "Boats rest.",
            ][: e["count"] - 1]
            return f"{e['first']} it is calm. " + " ".join(rest)
        return "A cool breeze met me at dawn. Birds sang in a row of tall pines. My dog ran ahead with joy."

    def wrong(self, instance, work_dir):
        if instance.level == "L1":
            return "Autumn is lovely, with falling leaves."
        if instance.level == "L2":
            return "The sea is vast, blue, and deep, and it goes on and on."
        return "The walk began at 7, and the air was fresh."


class ProcedureGenerator(Generator):
    primitive = "follow.procedure"
    writes_files = False
    descriptions = {
        "L1": "Follow three sequential steps exactly",
        "L2": "Follow a branching procedure step by step",
        "L3": "Run a loop with a final verification line",
    }

    def make(self, level, rng):
        if level == "L1":
            count = rng.randint(4, 10)
            return (
                f"Step 1: write a line START. Step 2: write the numbers 1 to {count}, one per line. Step 3: write a line END. Output only those lines.",
                {},
                {"lines": ["START", *map(str, range(1, count + 1)), "END"]},
            )
        if level == "L2":
            value = rng.randint(5, 40)
            lines, x = [], value
            for i in range(1, 7):
                x = x // 2 if x % 2 == 0 else 3 * x + 1
                lines.append(f"step {i}: {x}")
            prompt = (
                f"Start with x = {value}. Repeat 6 times: if x is even, halve it; otherwise set x to 3x + 1. After each update write a line "
                "'step <n>: <x>'. Output only those 6 lines."
            )
            return prompt, {}, {"lines": lines}
        rounds = rng.randint(5, 8)
        words = [rng.choice(WORDS) for _ in range(rounds)]
        prompt = (
            f"For i from 1 to {rounds}, write a line 'Round <i>: <word>' using the words {', '.join(words)} in order. Then count the rounds you wrote "
            "and finish with a line 'Count: <number>'. Output only those lines."
        )
        return (
            prompt,
            {},
            {"lines": [*(f"Round {i}: {w}" for i, w in enumerate(words, 1)), f"Count: {rounds}"]},
        )

    async def check(self, instance, work_dir, response):
        checks = Checks()
        lines = [
            line.strip().strip("`")
            for line in response.strip().splitlines()
            if line.strip() and not line.strip().startswith("```")
        ]
        want = instance.expected["lines"]
        checks.add(
            "exact_lines",
            [line.lower() for line in lines] == [w.lower() for w in want],
            f"{len(lines)} lines, expected {len(want)}",
        )
        return checks.result()

    def solve(self, instance, work_dir):
        return "\n".join(instance.expected["lines"])

    def wrong(self, instance, work_dir):
        return "\n".join(instance.expected["lines"][:-1])


class DelegationGenerator(Generator):
    primitive = "follow.delegation"
    descriptions = {
        "L1": "Write and run a script instead of computing mentally",
        "L2": "Aggregate CSV data with a script",
        "L3": "Exact decimal arithmetic delegated to code",
    }

    def make(self, level, rng):
        if level == "L1":
            numbers = [rng.randint(11, 97) for _ in range(rng.randint(4, 6))]
            product = 1
            for n in numbers:
                product *= n
            prompt = f"Compute the product of {', '.join(map(str, numbers))}. Write a Python script compute.py that does it, run it, and write the result to result.txt."
            return prompt, {}, {"value": str(product)}
        if level == "L2":
            rows = [
                (f"o{i}", rng.randint(1, 9), round(rng.uniform(1, 50), 2))
                for i in range(rng.randint(6, 12))
            ]
            total = round(sum(q * p for _, q, p in rows), 2)
            prompt = "orders.csv has columns id, qty, price. Write compute.py that sums qty*price over all rows, run it, and write the total rounded to 2 decimals to result.txt."
            text = "id,qty,price\n" + "".join(f"{i},{q},{p}\n" for i, q, p in rows)
            return prompt, {"orders.csv": text}, {"value": f"{total:.2f}", "numeric": total}
        terms = [f"0.{rng.randint(1, 9)}" for _ in range(rng.randint(3, 6))]
        exact = sum(Decimal(t) for t in terms)
        prompt = f"Compute exactly {' + '.join(terms)} (no floating-point error). Write compute.py using the decimal or fractions module, run it, and write the exact result to result.txt."
        return prompt, {}, {"value": str(exact), "exact": True}

    async def check(self, instance, work_dir, response):
        checks = Checks()
        e = instance.expected
        script = read(work_dir, "compute.py")
        checks.add(
            "script",
            script is not None and len(script.strip()) >= 10,
            "compute.py written" if script else "compute.py missing",
        )
        got = (read(work_dir, "result.txt") or "").strip()
        if e.get("exact"):
            checks.add(
                "exact_module",
                script is not None
                and re.search(r"\b(decimal|fractions|Decimal|Fraction)\b", script) is not None,
                "uses decimal/fractions",
            )
            try:
                same = Fraction(got) == Fraction(e["value"])
            except (ValueError, ZeroDivisionError):
                same = False
            checks.add("value", same, f"got {got!r}, expected {e['value']}")
        elif "numeric" in e:
            try:
                checks.add("value", close(float(got), e["numeric"], 0.011), f"got {got!r}")
            except ValueError:
                checks.add("value", False, f"got {got!r}")
        else:
            checks.add("value", got == e["value"], f"got {got!r}")
        return checks.result()

    def solve(self, instance, work_dir):
        e = instance.expected
        write(
            work_dir, "compute.py", "from decimal import Decimal\nprint('computed with Decimal')\n"
        )
        write(work_dir, "result.txt", e["value"])
        return "done"

    def wrong(self, instance, work_dir):
        e = instance.expected
        if e.get("exact"):
            write(work_dir, "compute.py", "print(sum([0.1, 0.2]))\n")
            write(work_dir, "result.txt", str(float(e["value"]) + 1e-12) + "1")
        else:
            write(work_dir, "result.txt", str(int(float(e["value"])) + 1))
        return "done"


JARGON = [
    "algorithm",
    "infrastructure",
    "paradigm",
    "utilize",
    "synergy",
    "leverage",
    "methodology",
    "photosynthesis",
    "chlorophyll",
]
PIRATE = ["arr", "matey", "ahoy", "ye", "aye", "treasure", "captain", "sea"]


class StyleGenerator(Generator):
    primitive = "follow.style"
    writes_files = False
    descriptions = {
        "L1": "Write formally: no contractions or first person",
        "L2": "Explain to a five-year-old",
        "L3": "Keep a pirate voice across three sections",
    }

    def make(self, level, rng):
        topic = rng.choice(
            ["why leaves change colour", "how rain forms", "why we sleep", "how bridges stand"]
        )
        if level == "L1":
            return (
                f"In 2 to 3 formal sentences, explain {topic}. No contractions and no first-person words (I, we, my, our).",
                {},
                {},
            )
        if level == "L2":
            return (
                f"Explain {topic} to a five-year-old: simple words, no technical terms, at most 120 words, and at least one exclamation mark.",
                {},
                {},
            )
        return (
            f"Write about {topic} in three sections headed '## Part 1', '## Part 2', '## Part 3', all in the voice of a pirate "
            "(use pirate words like arr, matey, ahoy, ye, aye in every section).",
            {},
            {},
        )

    async def check(self, instance, work_dir, response):
        checks = Checks()
        text = response.strip()
        if instance.level == "L1":
            checks.add(
                "sentences", 2 <= len(_sentences(text)) <= 3, f"{len(_sentences(text))} sentences"
            )
            checks.add("no_contractions", CONTRACTIONS.search(text) is None, "no contractions")
            checks.add("no_first_person", FIRST_PERSON.search(text) is None, "no first person")
        elif instance.level == "L2":
            checks.add("exclamation", "!" in text, "has an exclamation mark")
            used = [w for w in JARGON if re.search(rf"\b{w}", text, re.IGNORECASE)]
            checks.add("no_jargon", not used, f"jargon {used}" if used else "plain words")
            checks.add("short", len(text.split()) <= 120, f"{len(text.split())} words")
        else:
            sections = re.split(r"^##\s*Part\s*\d.*$", text, flags=re.MULTILINE | re.IGNORECASE)[1:]
            checks.add("sections", len(sections) == 3, f"{len(sections)} sections")
            voiced = [
                s
                for s in sections
                if sum(len(re.findall(rf"\b{w}\b", s, re.IGNORECASE)) for w in PIRATE) >= 2
            ]
            checks.graded(
                "style_consistent",
                len(voiced) / 3 if sections else 0.0,
                f"{len(voiced)}/3 sections in pirate voice",
            )
        return checks.result()

    def solve(self, instance, work_dir):
        if instance.level == "L1":
            return "Leaves change colour because chlorophyll breaks down in autumn. Other pigments then become visible in the leaf."
        if instance.level == "L2":
            return "Rain is water from clouds! Tiny drops join up, get heavy, and fall down to the ground."
        return "\n".join(
            f"## Part {i}\nArr matey, ahoy! Ye will hear of this, aye.\n" for i in range(1, 4)
        )

    def wrong(self, instance, work_dir):
        if instance.level == "L1":
            return "I think it's because the leaves don't get enough sun. We see it every year."
        if instance.level == "L2":
            return "The process involves photosynthesis and chlorophyll degradation within the leaf infrastructure."
        return "## Part 1\nArr matey, ahoy!\n## Part 2\nThe weather changes.\n## Part 3\nIt is a plain fact."
