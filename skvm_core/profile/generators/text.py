"""gen.text.* and gen.regex: judged from the final answer."""

from __future__ import annotations

import json
import re

from skvm_core.profile.instance import Checks, Generator, extract_json

WORDS = [
    "river",
    "copper",
    "lantern",
    "meadow",
    "harbor",
    "signal",
    "orchid",
    "granite",
    "falcon",
    "velvet",
    "timber",
    "comet",
]
FIRST = ["Ada", "Ben", "Cleo", "Dan", "Eva", "Finn", "Gia", "Hugo", "Iris", "Jon"]
TOPICS = [
    "urban gardening",
    "tidal energy",
    "public libraries",
    "night trains",
    "community radio",
    "coral reefs",
]


class StructuredGenerator(Generator):
    primitive = "gen.text.structured"
    writes_files = False
    descriptions = {
        "L1": "Produce a flat JSON object with given field values",
        "L2": "Produce a nested JSON document of a company and its employees",
        "L3": "Produce a large, deeply nested JSON organisation document (> 5 KB)",
    }

    def make(self, level, rng):
        if level == "L1":
            fields = {
                "id": rng.randint(100, 999),
                "name": rng.choice(FIRST),
                "city": rng.choice(["Oslo", "Lima", "Pune", "Kobe"]),
                "active": rng.choice([True, False]),
                "score": round(rng.uniform(1, 9), 1),
            }
            prompt = (
                "Reply with a JSON object with exactly these fields and values: "
                + ", ".join(f"{k} = {json.dumps(v)}" for k, v in fields.items())
                + "."
            )
            return prompt, {}, {"fields": fields}
        if level == "L2":
            count = rng.randint(3, 5)
            prompt = (
                f'Reply with a JSON object for a company: {{"company": <name>, "founded": <year as integer>, "employees": [...]}} with exactly {count} employees, '
                'each {"name": string, "age": integer, "skills": array of at least 2 strings, "address": {"city": string, "zip": string}}.'
            )
            return prompt, {}, {"count": count}
        departments, teams, members = rng.randint(3, 4), rng.randint(2, 3), rng.randint(3, 4)
        prompt = (
            f'Reply with a JSON object {{"organization": <name>, "departments": [...]}} with {departments} departments; each department has '
            f'"name" and "teams": {teams} teams; each team has "name" and "members": {members} members; each member has "name", "role", '
            '"email" and "projects" (an array of 2 strings). The JSON must be complete and valid.'
        )
        return prompt, {}, {"departments": departments, "teams": teams, "members": members}

    async def check(self, instance, work_dir, response):
        checks = Checks()
        try:
            data = extract_json(response)
        except ValueError:
            data = None
        if not checks.add(
            "valid_json",
            isinstance(data, dict),
            "a JSON object was found" if isinstance(data, dict) else "no JSON object in the answer",
        ):
            return checks.result()
        e = instance.expected
        if instance.level == "L1":
            checks.add("fields", data == e["fields"], f"got {data}")
        elif instance.level == "L2":
            staff = data.get("employees")
            checks.add(
                "top_level",
                isinstance(data.get("company"), str) and isinstance(data.get("founded"), int),
                "company and founded",
            )
            if checks.add(
                "employee_count",
                isinstance(staff, list) and len(staff) == e["count"],
                f"{len(staff) if isinstance(staff, list) else 'no'} employees",
            ):
                ok = all(
                    isinstance(p, dict)
                    and isinstance(p.get("name"), str)
                    and isinstance(p.get("age"), int)
                    and isinstance(p.get("skills"), list)
                    and len(p["skills"]) >= 2
                    and isinstance(p.get("address"), dict)
                    and {"city", "zip"} <= set(p["address"])
                    for p in staff
                )
                checks.add("employee_shape", ok, "every employee has the required typed fields")
        else:
            departments = (
                data.get("departments") if isinstance(data.get("departments"), list) else []
            )
            checks.add(
                "department_count",
                len(departments) == e["departments"],
                f"{len(departments)} departments",
            )
            teams = [
                t
                for d in departments
                if isinstance(d, dict)
                for t in (d.get("teams") or [])
                if isinstance(t, dict)
            ]
            checks.add(
                "team_count", len(teams) == e["departments"] * e["teams"], f"{len(teams)} teams"
            )
            members = [m for t in teams for m in (t.get("members") or []) if isinstance(m, dict)]
            checks.add(
                "member_count",
                len(members) == e["departments"] * e["teams"] * e["members"],
                f"{len(members)} members",
            )
            checks.add(
                "member_fields",
                bool(members)
                and all({"name", "role", "email", "projects"} <= set(m) for m in members),
                "member fields",
            )
            checks.add(
                "size", len(json.dumps(data)) > 5000, f"{len(json.dumps(data))} bytes serialised"
            )
        return checks.result()

    def solve(self, instance, work_dir):
        e = instance.expected
        if instance.level == "L1":
            return json.dumps(e["fields"])
        if instance.level == "L2":
            staff = [
                {
                    "name": f"P{i}",
                    "age": 30 + i,
                    "skills": ["a", "b"],
                    "address": {"city": "X", "zip": "0"},
                }
                for i in range(e["count"])
            ]
            return (
                "```json\n"
                + json.dumps({"company": "Acme", "founded": 1999, "employees": staff})
                + "\n```"
            )

        def member(d: int, t: int, m: int) -> dict:
            return {
                "name": f"member {d}-{t}-{m}",
                "role": "engineer of things",
                "email": f"m{d}{t}{m}@example.org",
                "projects": ["project alpha", "project beta"],
            }

        departments = [
            {
                "name": f"dept {d}",
                "teams": [
                    {
                        "name": f"team {d}-{t}",
                        "members": [member(d, t, m) for m in range(e["members"])],
                    }
                    for t in range(e["teams"])
                ],
            }
            for d in range(e["departments"])
        ]
        return json.dumps({"organization": "Org", "departments": departments}, indent=2)

    def wrong(self, instance, work_dir):
        e = instance.expected
        if instance.level == "L1":
            return json.dumps({**e["fields"], "id": str(e["fields"]["id"])})
        if instance.level == "L2":
            return json.dumps({"company": "Acme", "founded": "1999", "employees": [{"name": "x"}]})
        return '{"organization": "Org", "departments": [{"name": "a", "teams": [{"name": "t", "members": [{"name": "m"'


class LongTextGenerator(Generator):
    primitive = "gen.text.long"
    writes_files = False
    descriptions = {
        "L1": "Produce a complete numbered list between markers (< 1 KB)",
        "L2": "Produce 1–5 KB of sectioned text between markers",
        "L3": "Produce a long document (≥ 3 KB) with a table of contents and subsections",
    }

    def make(self, level, rng):
        start, end = f"BEGIN-{rng.randint(1000, 9999)}", f"FINISH-{rng.randint(1000, 9999)}"
        if level == "L1":
            count = rng.randint(5, 10)
            prompt = f"Reply with a line {start}, then a numbered list of exactly {count} kinds of fruit (1. ... {count}. ...), then a line {end}."
            return prompt, {}, {"start": start, "end": end, "count": count}
        sections = rng.randint(3, 5)
        if level == "L2":
            prompt = (
                f"Reply with a line {start}, then a guide to {rng.choice(TOPICS)} with exactly {sections} sections, each starting with a '## ' heading "
                f"and holding two paragraphs, then a line {end}. Aim for about 2,500 characters."
            )
            return prompt, {}, {"start": start, "end": end, "sections": sections}
        subsections = rng.randint(2, 3)
        prompt = (
            f"Reply with a line {start}, then a handbook on {rng.choice(TOPICS)}: a '## Contents' section listing the sections, then exactly {sections} "
            f"'## ' sections with {subsections} '### ' subsections each, every subsection a full paragraph; at least 5,000 characters in all; then a line {end}."
        )
        return (
            prompt,
            {},
            {"start": start, "end": end, "sections": sections, "subsections": subsections},
        )

    async def check(self, instance, work_dir, response):
        checks = Checks()
        e = instance.expected
        inside = re.search(
            re.escape(e["start"]) + r"\s*\n(.*?)\n\s*" + re.escape(e["end"]), response, re.DOTALL
        )
        if not checks.add(
            "markers",
            inside is not None,
            "content between both markers" if inside else "a marker is missing",
        ):
            return checks.result()
        body = inside.group(1)
        size = len(body.encode())
        if instance.level == "L1":
            numbered = re.findall(r"^\s*(\d+)[.)]\s+\S", body, re.MULTILINE)
            checks.add(
                "count",
                [int(n) for n in numbered] == list(range(1, e["count"] + 1)),
                f"items {numbered}",
            )
            checks.add("size", size < 5000, f"{size} bytes")
        elif instance.level == "L2":
            headings = re.findall(r"^##\s+\S", body, re.MULTILINE)
            checks.add("sections", len(headings) == e["sections"], f"{len(headings)} sections")
            checks.add("size", 1000 <= size <= 8000, f"{size} bytes")
        else:
            headings = [h.strip() for h in re.findall(r"^##\s+(.+)$", body, re.MULTILINE)]
            subs = re.findall(r"^###\s+\S", body, re.MULTILINE)
            checks.add(
                "contents",
                bool(headings) and "contents" in headings[0].lower(),
                "contents section first",
            )
            checks.add(
                "sections",
                len(headings) - 1 == e["sections"],
                f"{len(headings) - 1} sections after contents",
            )
            checks.add(
                "subsections",
                len(subs) == e["sections"] * e["subsections"],
                f"{len(subs)} subsections",
            )
            checks.add("size", size >= 3000, f"{size} bytes")
        return checks.result()

    def solve(self, instance, work_dir):
        e = instance.expected
        paragraph = (
            "This paragraph explains the idea in plain words, with an example and a short note on why it matters to readers. "
            * 3
        )
        if instance.level == "L1":
            body = "\n".join(f"{i}. fruit {i}" for i in range(1, e["count"] + 1))
        elif instance.level == "L2":
            body = "\n\n".join(
                f"## Part {i}\n\n{paragraph}\n\n{paragraph}" for i in range(1, e["sections"] + 1)
            )
        else:
            contents = "## Contents\n" + "\n".join(
                f"- Part {i}" for i in range(1, e["sections"] + 1)
            )
            parts = [
                f"## Part {i}\n"
                + "\n".join(
                    f"### Point {i}.{j}\n{paragraph}\n" for j in range(1, e["subsections"] + 1)
                )
                for i in range(1, e["sections"] + 1)
            ]
            body = contents + "\n\n" + "\n".join(parts)
        return f"{e['start']}\n{body}\n{e['end']}"

    def wrong(self, instance, work_dir):
        return f"{instance.expected['start']}\n1. apple\n2. pear\n(truncated)"


class ProseGenerator(Generator):
    primitive = "gen.text.prose"
    writes_files = False
    descriptions = {
        "L1": "Write one coherent paragraph with required keywords",
        "L2": "Write a multi-section essay with several paragraphs per section",
        "L3": "Write a long-form document with introduction, sections and conclusion",
    }

    def make(self, level, rng):
        topic = rng.choice(TOPICS)
        if level == "L1":
            keywords = rng.sample(WORDS, rng.randint(2, 3))
            sentences = rng.randint(4, 7)
            prompt = f"Write one paragraph of at least {sentences} sentences about {topic} that uses the words {', '.join(keywords)}. No headings, no lists."
            return prompt, {}, {"keywords": keywords, "sentences": sentences}
        sections = rng.randint(3, 4)
        if level == "L2":
            prompt = f"Write an essay about {topic} with exactly {sections} sections, each under a '## ' heading and each with at least two paragraphs."
            return prompt, {}, {"sections": sections}
        prompt = (
            f"Write an article about {topic}: a '## Introduction' section, then {sections} more '## ' sections, then a '## Conclusion' section; "
            "between 1,500 and 10,000 characters in all."
        )
        return prompt, {}, {"sections": sections}

    async def check(self, instance, work_dir, response):
        checks = Checks()
        e = instance.expected
        text = response.strip()
        if instance.level == "L1":
            sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 3]
            checks.add(
                "one_paragraph",
                "\n\n" not in text and not re.search(r"^\s*(#|[-*]\s|\d+\.)", text, re.MULTILINE),
                "a single paragraph",
            )
            checks.add("sentences", len(sentences) >= e["sentences"], f"{len(sentences)} sentences")
            missing = [w for w in e["keywords"] if not re.search(rf"\b{w}", text, re.IGNORECASE)]
            checks.add(
                "keywords", not missing, f"missing {missing}" if missing else "all keywords used"
            )
            checks.add("length", len(text) >= 100, f"{len(text)} characters")
            return checks.result()
        parts = re.split(r"^##\s+.*$", text, flags=re.MULTILINE)
        headings = re.findall(r"^##\s+(.+)$", text, re.MULTILINE)
        if instance.level == "L2":
            checks.add("sections", len(headings) == e["sections"], f"{len(headings)} sections")
            bodies = parts[1:]
            full = [
                b
                for b in bodies
                if len([p for p in re.split(r"\n\s*\n", b.strip()) if len(p.split()) >= 8]) >= 2
            ]
            checks.add(
                "paragraphs",
                bool(bodies) and len(full) == len(bodies),
                f"{len(full)}/{len(bodies)} sections with two paragraphs",
            )
        else:
            lowered = [h.lower() for h in headings]
            checks.add(
                "introduction", bool(lowered) and "introduction" in lowered[0], "introduction first"
            )
            checks.add(
                "conclusion", bool(lowered) and "conclusion" in lowered[-1], "conclusion last"
            )
            checks.add("sections", len(headings) == e["sections"] + 2, f"{len(headings)} sections")
            checks.add("length", 1500 <= len(text) <= 10000, f"{len(text)} characters")
        return checks.result()

    def solve(self, instance, work_dir):
        e = instance.expected
        sentence = "Many people care about this topic because it shapes daily life in quiet ways."
        if instance.level == "L1":
            words = " ".join(e["keywords"])
            return f"The words {words} belong to this story. " + " ".join(
                [sentence] * e["sentences"]
            )
        paragraph = " ".join([sentence] * 4)
        if instance.level == "L2":
            return "\n\n".join(
                f"## Section {i}\n\n{paragraph}\n\n{paragraph}" for i in range(1, e["sections"] + 1)
            )
        middle = "\n\n".join(
            f"## Section {i}\n\n{paragraph}\n\n{paragraph}" for i in range(1, e["sections"] + 1)
        )
        return f"## Introduction\n\n{paragraph}\n\n{middle}\n\n## Conclusion\n\n{paragraph}"

    def wrong(self, instance, work_dir):
        return "## Notes\n- short\n- list"


class RegexGenerator(Generator):
    primitive = "gen.regex"
    writes_files = False
    descriptions = {
        "L1": "Write a regex that finds strings containing a word",
        "L2": "Write a regex that validates a fixed format (email, date or key=value)",
        "L3": "Write a regex with lookarounds (password rules or filtered names)",
    }

    def make(self, level, rng):
        answer = " Reply with only the regular expression (Python syntax) on the last line of your answer."
        if level == "L1":
            word = rng.choice(WORDS)
            positives = [f"the {word} is here", f"{word}s everywhere", f"a {word}"]
            negatives = ["nothing here", f"{word[:-1]} {word[1:]}", "other words"]
            prompt = (
                f"Write a regular expression that matches (with re.search) any string containing the word '{word}'."
                + answer
            )
            return prompt, {}, {"mode": "search", "positives": positives, "negatives": negatives}
        if level == "L2":
            kind = rng.choice(["date", "email", "keyvalue"])
            cases = {
                "date": (
                    "a date in the form YYYY-MM-DD (month 01-12, day 01-31)",
                    ["2024-01-31", "1999-12-01", "2030-06-15"],
                    ["2024-13-01", "24-01-01", "2024-1-5", "2024-01-32"],
                ),
                "email": (
                    "an email address: letters, digits, dots, underscores or hyphens, then @, then a domain with at least one dot and a final part of 2-6 letters",
                    ["ann.lee@mail.example.com", "bo_9@x.io", "c-d@site.org"],
                    ["no-at.example.com", "a@b", "a@@b.com", "a b@c.com"],
                ),
                "keyvalue": (
                    "a key=value pair where the key is lowercase letters or underscores and the value is one or more digits",
                    ["max_size=100", "a=1", "retries=25"],
                    ["Max=1", "size=", "=5", "size=1a"],
                ),
            }[kind]
            prompt = (
                f"Write a regular expression that fully matches (re.fullmatch) {cases[0]}." + answer
            )
            return prompt, {}, {"mode": "fullmatch", "positives": cases[1], "negatives": cases[2]}
        kind = rng.choice(["password", "filename"])
        if kind == "password":
            prompt = (
                "Write a regular expression that fully matches passwords of at least 8 characters containing at least one uppercase letter, at least one digit and no whitespace. Use lookaheads."
                + answer
            )
            return (
                prompt,
                {},
                {
                    "mode": "fullmatch",
                    "positives": ["Secret123", "ABCdef9xyz", "Zz1zzzzz"],
                    "negatives": ["secret123", "Secret", "Secret 123", "SECRETSECRET"],
                },
            )
        prompt = (
            "Write a regular expression that fully matches file names ending in .log that do not start with 'debug'. Use a negative lookahead."
            + answer
        )
        return (
            prompt,
            {},
            {
                "mode": "fullmatch",
                "positives": ["app.log", "server-1.log", "notes.debug.log"],
                "negatives": ["debug.log", "debug-app.log", "app.txt"],
            },
        )

    async def check(self, instance, work_dir, response):
        checks = Checks()
        pattern = _regex_from(response)
        if not checks.add(
            "compiles",
            pattern is not None,
            "a regular expression that compiles"
            if pattern
            else "no valid regular expression found",
        ):
            return checks.result()
        e = instance.expected
        match = pattern.search if e["mode"] == "search" else pattern.fullmatch
        wrong_pos = [s for s in e["positives"] if not match(s)]
        wrong_neg = [s for s in e["negatives"] if match(s)]
        checks.add(
            "positives",
            not wrong_pos,
            f"missed {wrong_pos}" if wrong_pos else "all positives match",
        )
        checks.add(
            "negatives",
            not wrong_neg,
            f"wrongly matched {wrong_neg}" if wrong_neg else "no negative matches",
        )
        return checks.result()

    def solve(self, instance, work_dir):
        e = instance.expected
        if e["mode"] == "search":
            word = e["positives"][2].split()[-1]
            return f"Here it is:\n{word}"
        first = e["positives"][0]
        if re.fullmatch(r"\d{4}-\d\d-\d\d", first):
            return r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
        if "@" in first:
            return r"[A-Za-z0-9._-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,6}"
        if "=" in first:
            return r"[a-z_]+=\d+"
        if first == "Secret123":
            return r"(?=.*[A-Z])(?=.*\d)\S{8,}"
        return r"(?!debug).*\.log"

    def wrong(self, instance, work_dir):
        return ".*"


def _regex_from(response: str) -> re.Pattern[str] | None:
    candidates = re.findall(r"`([^`\n]+)`", response)
    lines = [
        line.strip()
        for line in response.strip().splitlines()
        if line.strip() and not line.strip().startswith("```")
    ]
    candidates += list(reversed(lines[-3:]))
    for candidate in candidates:
        candidate = candidate.strip()
        for prefix in ("r'", 'r"'):
            if candidate.startswith(prefix) and candidate.endswith(candidate[1]):
                candidate = candidate[2:-1]
        if len(candidate) >= 2 and candidate[0] == candidate[-1] == "/":
            candidate = candidate[1:-1]
        try:
            return re.compile(candidate)
        except re.error:
            continue
    return None
