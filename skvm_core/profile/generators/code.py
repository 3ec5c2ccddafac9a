"""gen.code.*: programs the agent writes and we run in the sandbox."""

from __future__ import annotations

import csv
import io
import json
import random
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from skvm_core.profile.instance import (
    CheckResult,
    Checks,
    Generator,
    close,
    python_has,
    read,
    run_in,
    write,
)

NAMES = ["ana", "bo", "cyd", "dee", "eli", "fay", "gus", "hal", "ivy", "jo", "kit", "lou", "max", "ned", "oli", "pia", "quin", "rae", "sol", "tao", "uma", "vic", "wes", "xia"]  # fmt: skip
DEPARTMENTS = ["sales", "ops", "research", "support", "legal"]


def _employees_csv(rng: random.Random) -> tuple[str, float, int]:
    rows = [
        (name, rng.choice(DEPARTMENTS), rng.randint(40, 100))
        for name in rng.sample(NAMES, rng.randint(5, 12))
    ]
    text = "name,department,score\n" + "".join(f"{n},{d},{s}\n" for n, d, s in rows)
    return text, round(sum(s for _, _, s in rows) / len(rows), 2), len(rows)


async def _run_solution(checks: Checks, work_dir: Path, file: str, command: str) -> bool:
    if not checks.add(
        "script_created",
        read(work_dir, file) is not None,
        f"{file} {'exists' if read(work_dir, file) is not None else 'missing'}",
    ):
        return False
    result = await run_in(work_dir, command)
    return checks.add(
        "execution_success",
        result.exit_code == 0,
        f"exit {result.exit_code}: {result.stderr.strip()[-200:]}",
    )


def _json_file(work_dir: Path, name: str) -> Any:
    text = read(work_dir, name)
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


class PythonGenerator(Generator):
    primitive = "gen.code.python"
    descriptions = {
        "L1": "Write a Python script that counts values at or above a threshold in a text file",
        "L2": "Write a Python script that averages a CSV column with the standard library",
        "L3": "Write a pandas script that aggregates a CSV by group",
    }

    def make(self, level, rng):
        if level == "L1":
            threshold = rng.randint(25, 74)
            values = [rng.randint(1, 99) for _ in range(rng.randint(5, 24))]
            values[rng.randrange(len(values))] = threshold  # a boundary value tells > from >=
            lines = "".join(f"{rng.choice(NAMES)}:{v}\n" for v in values)
            prompt = (
                f"input.txt has lines of the form name:number. Write solution.py that counts the lines whose number is "
                f"greater than or equal to {threshold} and writes just that count to result.txt. Run it."
            )
            return (
                prompt,
                {"input.txt": lines},
                {"count": sum(v >= threshold for v in values), "threshold": threshold},
            )
        if level == "L2":
            text, average, total = _employees_csv(rng)
            prompt = (
                "data.csv lists employees (name, department, score). Write solution.py that uses the csv and json modules to write "
                'result.json with {"average_score": <mean score rounded to 2 decimals>, "total_employees": <number of employees>}. Run it.'
            )
            return prompt, {"data.csv": text}, {"average_score": average, "total_employees": total}
        rows = [
            (rng.choice(DEPARTMENTS[:3]), rng.randint(10, 500)) for _ in range(rng.randint(50, 120))
        ]
        totals: dict[str, int] = {}
        for department, amount in rows:
            totals[department] = totals.get(department, 0) + amount
        prompt = (
            "sales.csv has columns department and amount. Write solution.py that uses pandas to sum amount per department and "
            "writes result.csv with header department,total and one row per department sorted by department. Run it."
        )
        text = "department,amount\n" + "".join(f"{d},{a}\n" for d, a in rows)
        return prompt, {"sales.csv": text}, {"totals": dict(sorted(totals.items()))}

    async def check(self, instance, work_dir, response):
        checks = Checks()
        if instance.level == "L3" and not await python_has("pandas", work_dir):
            return CheckResult(infra_error="pandas is not installed for python3 on this host")
        if not await _run_solution(checks, work_dir, "solution.py", "python3 solution.py"):
            return checks.result()
        expected = instance.expected
        if instance.level == "L1":
            _check_count(checks, work_dir, expected)
        elif instance.level == "L2":
            _check_average(checks, work_dir, expected)
        else:
            rows = list(csv.DictReader(io.StringIO(read(work_dir, "result.csv") or "")))
            got = {r.get("department"): _num(r.get("total")) for r in rows}
            want = expected["totals"]
            checks.add(
                "groups", set(got) == set(want), f"departments {sorted(k for k in got if k)}"
            )
            checks.add(
                "totals",
                all(close(got.get(k), v, 0.1) for k, v in want.items()),
                "sums per department",
            )
        return checks.result()

    def solve(self, instance, work_dir):
        code = {
            "L1": f"n = sum(1 for line in open('input.txt') if line.strip() and int(line.split(':')[1]) >= {instance.expected.get('threshold')})\nopen('result.txt', 'w').write(str(n))\n",
            "L2": "import csv, json\nrows = list(csv.DictReader(open('data.csv')))\njson.dump({'average_score': round(sum(float(r['score']) for r in rows) / len(rows), 2), 'total_employees': len(rows)}, open('result.json', 'w'))\n",
            "L3": "import pandas as pd\ndf = pd.read_csv('sales.csv')\nout = df.groupby('department', as_index=False)['amount'].sum().rename(columns={'amount': 'total'})\nout.sort_values('department').to_csv('result.csv', index=False)\n",
        }[instance.level]
        write(work_dir, "solution.py", code)
        return "done"

    def wrong(self, instance, work_dir):
        code = {
            "L1": f"n = sum(1 for line in open('input.txt') if line.strip() and int(line.split(':')[1]) > {instance.expected.get('threshold')})\nopen('result.txt', 'w').write(str(n))\n",
            "L2": "import json\nlines = open('data.csv').read().splitlines()\njson.dump({'average_score': 50.0, 'total_employees': len(lines)}, open('result.json', 'w'))\n",
            "L3": "import pandas as pd\ndf = pd.read_csv('sales.csv')\nout = df.groupby('department', as_index=False)['amount'].mean().rename(columns={'amount': 'total'})\nout.to_csv('result.csv', index=False)\n",
        }[instance.level]
        write(work_dir, "solution.py", code)
        return "done"


def _check_count(checks: Checks, work_dir: Path, expected: dict[str, Any]) -> None:
    got = (read(work_dir, "result.txt") or "").strip()
    checks.add(
        "count_correct", got == str(expected["count"]), f"got {got!r}, expected {expected['count']}"
    )


def _check_average(checks: Checks, work_dir: Path, expected: dict[str, Any]) -> None:
    """The shared L2 task of the Python and JavaScript generators: CSV average into JSON."""
    data = _json_file(work_dir, "result.json")
    if checks.add("result_json", isinstance(data, dict), "result.json is a JSON object"):
        average = data.get("average_score")
        checks.add(
            "average",
            close(_num(average), expected["average_score"], 0.006),
            f"average_score {average}",
        )
        total = data.get("total_employees")
        checks.add("total", total == expected["total_employees"], f"total_employees {total}")


def _num(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class JavascriptGenerator(Generator):
    primitive = "gen.code.javascript"
    descriptions = {
        "L1": "Write a Node.js script that counts lines containing a character",
        "L2": "Write a Node.js script that averages a CSV column into JSON",
        "L3": "Write an async Node.js script that merges JSON files with Promise.all",
    }

    def make(self, level, rng):
        if level == "L1":
            char = rng.choice("xqzjk")
            words = [
                "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9)))
                for _ in range(rng.randint(8, 20))
            ]
            prompt = f"Write solution.js (Node.js) that counts the lines of input.txt containing the character '{char}' and writes the count to result.txt. Run it with node."
            return (
                prompt,
                {"input.txt": "\n".join(words) + "\n"},
                {"count": sum(char in w for w in words), "char": char},
            )
        if level == "L2":
            text, average, total = _employees_csv(rng)
            prompt = 'Write solution.js (Node.js) that reads data.csv (name,department,score) and writes result.json with {"average_score": <mean rounded to 2 decimals>, "total_employees": <count>}. Run it with node.'
            return prompt, {"data.csv": text}, {"average_score": average, "total_employees": total}
        files, ids = {}, set()
        for number in range(1, rng.randint(2, 4) + 1):
            items = [
                {"id": rng.randint(1, 12), "name": rng.choice(NAMES)}
                for _ in range(rng.randint(3, 6))
            ]
            ids |= {i["id"] for i in items}
            files[f"part{number}.json"] = json.dumps(items)
        prompt = (
            f"Write solution.js (Node.js) that reads {', '.join(sorted(files))} concurrently with fs.promises and Promise.all, "
            "merges the arrays, keeps the first object for each id, and writes result.json: the merged array sorted by id. Run it with node."
        )
        return prompt, files, {"ids": sorted(ids)}

    async def check(self, instance, work_dir, response):
        checks = Checks()
        if (await run_in(work_dir, "command -v node")).exit_code != 0:
            return CheckResult(infra_error="node is not installed on this host")
        if not await _run_solution(checks, work_dir, "solution.js", "node solution.js"):
            return checks.result()
        expected = instance.expected
        if instance.level == "L1":
            _check_count(checks, work_dir, expected)
        elif instance.level == "L2":
            _check_average(checks, work_dir, expected)
        else:
            data = _json_file(work_dir, "result.json")
            if checks.add("result_json", isinstance(data, list), "result.json is an array"):
                ids = [item.get("id") for item in data if isinstance(item, dict)]
                checks.add(
                    "no_duplicates",
                    len(ids) == len(set(ids)),
                    f"{len(ids)} items, {len(set(ids))} distinct",
                )
                checks.add("all_ids_sorted", ids == expected["ids"], f"ids {ids}")
        return checks.result()

    def solve(self, instance, work_dir):
        code = {
            "L1": f"const fs = require('fs');\nconst n = fs.readFileSync('input.txt', 'utf8').split('\\n').filter(l => l.includes('{instance.expected.get('char')}')).length;\nfs.writeFileSync('result.txt', String(n));\n",
            "L2": "const fs = require('fs');\nconst rows = fs.readFileSync('data.csv', 'utf8').trim().split('\\n').slice(1).map(l => l.split(','));\nconst avg = rows.reduce((s, r) => s + Number(r[2]), 0) / rows.length;\nfs.writeFileSync('result.json', JSON.stringify({average_score: Math.round(avg * 100) / 100, total_employees: rows.length}));\n",
            "L3": "const fs = require('fs').promises;\n(async () => {\n  const names = (await fs.readdir('.')).filter(f => /^part\\d+\\.json$/.test(f)).sort();\n  const parts = await Promise.all(names.map(async f => JSON.parse(await fs.readFile(f, 'utf8'))));\n  const seen = new Map();\n  for (const item of parts.flat()) if (!seen.has(item.id)) seen.set(item.id, item);\n  await fs.writeFile('result.json', JSON.stringify([...seen.values()].sort((a, b) => a.id - b.id)));\n})();\n",
        }[instance.level]
        write(work_dir, "solution.js", code)
        return "done"

    def wrong(self, instance, work_dir):
        code = {
            "L1": "require('fs').writeFileSync('result.txt', String(require('fs').readFileSync('input.txt', 'utf8').split('\\n').length));\n",
            "L2": "require('fs').writeFileSync('result.json', JSON.stringify({average_score: 0, total_employees: 0}));\n",
            "L3": "const fs = require('fs');\nconst all = fs.readdirSync('.').filter(f => /^part\\d+\\.json$/.test(f)).flatMap(f => JSON.parse(fs.readFileSync(f, 'utf8')));\nfs.writeFileSync('result.json', JSON.stringify(all));\n",
        }[instance.level]
        write(work_dir, "solution.js", code)
        return "done"


class ShellGenerator(Generator):
    primitive = "gen.code.shell"
    descriptions = {
        "L1": "Write a shell script that counts lines with a prefix",
        "L2": "Write a shell pipeline that filters, sorts and takes the top entries",
        "L3": "Write an awk pipeline that sums a field for one log level",
    }

    def make(self, level, rng):
        if level == "L1":
            prefix = rng.choice(["ERR", "WARN", "NOTE"])
            lines = [
                f"{rng.choice(['ERR', 'WARN', 'NOTE', 'INFO'])} item {rng.randint(1, 999)}"
                for _ in range(rng.randint(15, 50))
            ]
            prompt = f"Write solution.sh that counts the lines of data.txt starting with {prefix} and writes the number to result.txt. Run it with bash."
            return (
                prompt,
                {"data.txt": "\n".join(lines) + "\n"},
                {"count": sum(line.startswith(prefix) for line in lines), "prefix": prefix},
            )
        if level == "L2":
            threshold, top = rng.randint(40, 70), rng.randint(2, 4)
            people = [(name, rng.randint(10, 99)) for name in rng.sample(NAMES, 14)]
            chosen = sorted([p for p in people if p[1] >= threshold], key=lambda p: (-p[1], p[0]))[
                :top
            ]
            prompt = (
                f"scores.txt has lines 'name score'. Write solution.sh that keeps the lines with score >= {threshold}, sorts them by score "
                f"from highest to lowest and writes the first {top} lines (same 'name score' format) to result.txt. Run it with bash."
            )
            return (
                prompt,
                {"scores.txt": "".join(f"{n} {s}\n" for n, s in people)},
                {"lines": [f"{n} {s}" for n, s in chosen], "threshold": threshold, "top": top},
            )
        level_name = rng.choice(["ERROR", "WARN"])
        lines, total = [], 0
        for _ in range(rng.randint(20, 60)):
            lvl, size = rng.choice(["INFO", "ERROR", "WARN"]), rng.randint(100, 9000)
            lines.append(
                f"2026-01-0{rng.randint(1, 9)} {lvl} request bytes={size} ms={rng.randint(1, 900)}"
            )
            total += size if lvl == level_name else 0
        prompt = f"Write solution.sh using awk that sums the bytes= values of the {level_name} lines in app.log and writes the total to result.txt. Run it with bash."
        return prompt, {"app.log": "\n".join(lines) + "\n"}, {"total": total, "level": level_name}

    async def check(self, instance, work_dir, response):
        checks = Checks()
        if not await _run_solution(checks, work_dir, "solution.sh", "bash solution.sh"):
            return checks.result()
        got = (read(work_dir, "result.txt") or "").strip()
        if instance.level == "L1":
            checks.add("count_correct", got == str(instance.expected["count"]), f"got {got!r}")
        elif instance.level == "L2":
            lines = [" ".join(line.split()) for line in got.splitlines() if line.strip()]
            checks.add("top_lines", lines == instance.expected["lines"], f"got {lines}")
        else:
            checks.add(
                "sum_correct",
                close(_num(got), instance.expected["total"], 0.01, 0.01),
                f"got {got!r}, expected {instance.expected['total']}",
            )
        return checks.result()

    def solve(self, instance, work_dir):
        script = {
            "L1": "grep -c '^{p}' data.txt > result.txt\n",
            "L2": "awk '$2 >= {t}' scores.txt | sort -k2,2nr -k1,1 | head -n {k} > result.txt\n",
            "L3": 'awk \'$2 == "{lvl}" {{ for (i = 1; i <= NF; i++) if ($i ~ /^bytes=/) {{ split($i, kv, "="); s += kv[2] }} }} END {{ print s + 0 }}\' app.log > result.txt\n',
        }[instance.level]
        e = instance.expected
        values = {
            "p": e.get("prefix"),
            "t": e.get("threshold"),
            "k": e.get("top"),
            "lvl": e.get("level"),
        }
        write(work_dir, "solution.sh", script.format(**values))
        return "done"

    def wrong(self, instance, work_dir):
        script = {
            "L1": "wc -l < data.txt > result.txt\n",
            "L2": "sort -k2,2n scores.txt | head -n 3 > result.txt\n",
            "L3": "grep -c bytes app.log > result.txt\n",
        }[instance.level]
        write(work_dir, "solution.sh", script)
        return "done"


class SqlGenerator(Generator):
    primitive = "gen.code.sql"
    descriptions = {
        "L1": "Write a SQL query that counts rows matching a condition",
        "L2": "Write a SQL JOIN with GROUP BY to find the largest department",
        "L3": "Write a SQL query with a CTE and a window function for the top earner per department",
    }

    def make(self, level, rng):
        if level == "L1":
            threshold = rng.randint(30, 80)
            users = [(name, rng.randint(1, 100)) for name in rng.sample(NAMES, rng.randint(8, 16))]
            setup = "CREATE TABLE users (name TEXT, score INTEGER);\n" + "".join(
                f"INSERT INTO users VALUES ('{n}', {s});\n" for n, s in users
            )
            prompt = f"setup.sql creates a users table (name, score). Write query.sql: one SELECT that returns the number of users with score >= {threshold}."
            return (
                prompt,
                {"setup.sql": setup},
                {"output": [str(sum(s >= threshold for _, s in users))], "threshold": threshold},
            )
        departments = rng.sample(DEPARTMENTS, 4)
        if level == "L2":
            sizes = rng.sample(range(1, 9), 4)
            setup = "CREATE TABLE departments (id INTEGER PRIMARY KEY, name TEXT);\nCREATE TABLE employees (id INTEGER PRIMARY KEY, name TEXT, department_id INTEGER);\n"
            setup += "".join(
                f"INSERT INTO departments VALUES ({i + 1}, '{d}');\n"
                for i, d in enumerate(departments)
            )
            eid = 1
            for i, size in enumerate(sizes):
                for _ in range(size):
                    setup += (
                        f"INSERT INTO employees VALUES ({eid}, '{rng.choice(NAMES)}', {i + 1});\n"
                    )
                    eid += 1
            biggest = departments[sizes.index(max(sizes))]
            prompt = "setup.sql creates departments(id, name) and employees(id, name, department_id). Write query.sql: one SELECT that returns only the name of the department with the most employees."
            return prompt, {"setup.sql": setup}, {"output": [biggest]}
        setup = "CREATE TABLE employees (name TEXT, department TEXT, salary INTEGER);\n"
        best = []
        for department in sorted(departments):
            staff = [(n, rng.randint(30, 150) * 1000) for n in rng.sample(NAMES, rng.randint(2, 5))]
            setup += "".join(
                f"INSERT INTO employees VALUES ('{n}', '{department}', {s});\n" for n, s in staff
            )
            top = max(staff, key=lambda p: (p[1], [-ord(c) for c in p[0]]))
            best.append(f"{department}|{top[0]}|{top[1]}")
        prompt = (
            "setup.sql creates employees(name, department, salary). Write query.sql using a WITH clause and a window function "
            "(ROW_NUMBER) that returns, for each department, the best-paid employee as department, name, salary, ordered by department."
        )
        return prompt, {"setup.sql": setup}, {"output": best}

    async def check(self, instance, work_dir, response):
        checks = Checks()
        if (await run_in(work_dir, "command -v sqlite3")).exit_code != 0:
            return CheckResult(infra_error="sqlite3 is not installed on this host")
        query = read(work_dir, "query.sql")
        if not checks.add(
            "query_created", query is not None, "query.sql exists" if query else "query.sql missing"
        ):
            return checks.result()
        result = await run_in(work_dir, "cat setup.sql query.sql | sqlite3 -batch")
        if not checks.add("query_runs", result.exit_code == 0, result.stderr.strip()[-200:]):
            return checks.result()
        rows = [line.strip() for line in result.stdout.splitlines() if line.strip()]
        checks.add(
            "rows_correct",
            rows == instance.expected["output"],
            f"got {rows[:5]}, expected {instance.expected['output']}",
        )
        if instance.level == "L3":
            checks.add(
                "uses_cte",
                "with" in query.lower() and "over" in query.lower(),
                "WITH and OVER present",
            )
        return checks.result()

    def solve(self, instance, work_dir):
        threshold = instance.expected.get("threshold")
        query = {
            "L1": f"SELECT COUNT(*) FROM users WHERE score >= {threshold};\n",
            "L2": "SELECT d.name FROM departments d JOIN employees e ON e.department_id = d.id GROUP BY d.id ORDER BY COUNT(*) DESC LIMIT 1;\n",
            "L3": "WITH ranked AS (SELECT name, department, salary, ROW_NUMBER() OVER (PARTITION BY department ORDER BY salary DESC, name) AS rk FROM employees)\nSELECT department, name, salary FROM ranked WHERE rk = 1 ORDER BY department;\n",
        }[instance.level]
        write(work_dir, "query.sql", query)
        return "done"

    def wrong(self, instance, work_dir):
        query = {
            "L1": "SELECT COUNT(*) FROM users;\n",
            "L2": "SELECT d.name FROM departments d JOIN employees e ON e.department_id = d.id GROUP BY d.id ORDER BY COUNT(*) ASC LIMIT 1;\n",
            "L3": "SELECT department, name, MIN(salary) FROM employees GROUP BY department ORDER BY department;\n",
        }[instance.level]
        write(work_dir, "query.sql", query)
        return "done"


class _Outline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: dict[str, list[str]] = {}
        self._open: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._open.append(tag)

    def handle_endtag(self, tag):
        if tag in self._open:
            while self._open and self._open.pop() != tag:
                pass

    def handle_data(self, data):
        if self._open and data.strip():
            self.text.setdefault(self._open[-1], []).append(data.strip())

    def count(self, tag: str) -> int:
        return sum(1 for name, _ in self.tags if name == tag)


def outline(html: str) -> _Outline:
    parser = _Outline()
    parser.feed(html)
    return parser


class HtmlGenerator(Generator):
    primitive = "gen.code.html"
    descriptions = {
        "L1": "Write an HTML page with a heading and a list",
        "L2": "Write a semantic HTML page with a data table",
        "L3": "Write inline SVG with a bar chart of rectangles",
    }

    def make(self, level, rng):
        if level == "L1":
            title = rng.choice(["Garden Plan", "Reading List", "Trip Notes", "Kitchen Tools"])
            items = rng.sample(
                ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"],
                rng.randint(3, 7),
            )
            prompt = f"Write index.html with an h1 heading '{title}' and an unordered list (ul) with exactly these items: {', '.join(items)}."
            return prompt, {}, {"title": title, "items": items}
        if level == "L2":
            headers = rng.sample(["Name", "Team", "City", "Role", "Level"], rng.randint(3, 5))
            rows = [[f"{h.lower()}{r + 1}" for h in headers] for r in range(rng.randint(3, 6))]
            prompt = (
                "Write index.html with header, main and footer elements. Inside main put a table with a thead row of th cells "
                f"{headers} and a tbody with these rows: {json.dumps(rows)}."
            )
            return prompt, {}, {"headers": headers, "rows": rows}
        values = [rng.randint(5, 95) for _ in range(rng.randint(4, 8))]
        prompt = f"Write chart.html containing an inline svg element with a viewBox attribute and exactly {len(values)} rect elements, one bar per value {values}; each rect needs x, y, width and height attributes and its height must equal its value."
        return prompt, {}, {"values": values}

    async def check(self, instance, work_dir, response):
        checks = Checks()
        name = "chart.html" if instance.level == "L3" else "index.html"
        html = read(work_dir, name)
        if not checks.add(
            "file_exists", html is not None, f"{name} {'exists' if html else 'missing'}"
        ):
            return checks.result()
        page = outline(html)
        expected = instance.expected
        if instance.level == "L1":
            checks.add(
                "heading",
                expected["title"] in page.text.get("h1", []),
                f"h1 texts {page.text.get('h1')}",
            )
            checks.add(
                "items",
                page.text.get("li", []) == expected["items"],
                f"li texts {page.text.get('li')}",
            )
        elif instance.level == "L2":
            checks.add(
                "semantic",
                all(page.count(t) >= 1 for t in ("header", "main", "footer")),
                "header/main/footer present",
            )
            checks.add(
                "headers",
                page.text.get("th", []) == expected["headers"],
                f"th {page.text.get('th')}",
            )
            cells = [cell for row in expected["rows"] for cell in row]
            checks.add(
                "rows", page.text.get("td", []) == cells, f"{len(page.text.get('td', []))} td cells"
            )
        else:
            svgs = [attrs for tag, attrs in page.tags if tag == "svg"]
            rects = [attrs for tag, attrs in page.tags if tag == "rect"]
            checks.add(
                "svg_viewbox",
                any("viewbox" in {k.lower() for k in a} for a in svgs),
                "svg with viewBox",
            )
            checks.add("rect_count", len(rects) == len(expected["values"]), f"{len(rects)} rects")
            complete = all({"x", "y", "width", "height"} <= set(r) for r in rects)
            heights = sorted(_num(r.get("height")) or -1 for r in rects)
            checks.add(
                "rect_attributes",
                complete and heights == sorted(float(v) for v in expected["values"]),
                f"heights {heights}",
            )
        return checks.result()

    def solve(self, instance, work_dir):
        expected = instance.expected
        if instance.level == "L1":
            items = "".join(f"<li>{i}</li>" for i in expected["items"])
            write(
                work_dir,
                "index.html",
                f"<!doctype html><html><body><h1>{expected['title']}</h1><ul>{items}</ul></body></html>",
            )
        elif instance.level == "L2":
            head = "".join(f"<th>{h}</th>" for h in expected["headers"])
            body = "".join(
                "<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in expected["rows"]
            )
            write(
                work_dir,
                "index.html",
                f"<html><body><header>T</header><main><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></main><footer>F</footer></body></html>",
            )
        else:
            rects = "".join(
                f'<rect x="{i * 12}" y="{100 - v}" width="10" height="{v}"/>'
                for i, v in enumerate(expected["values"])
            )
            write(
                work_dir,
                "chart.html",
                f'<html><body><svg viewBox="0 0 200 100">{rects}</svg></body></html>',
            )
        return "done"

    def wrong(self, instance, work_dir):
        expected = instance.expected
        if instance.level == "L1":
            items = "".join(f"<li>{i}</li>" for i in expected["items"][:-1])
            write(
                work_dir,
                "index.html",
                f"<html><body><h2>{expected['title']}</h2><ul>{items}</ul></body></html>",
            )
        elif instance.level == "L2":
            write(
                work_dir,
                "index.html",
                "<html><body><table><tr><td>x</td></tr></table></body></html>",
            )
        else:
            write(
                work_dir,
                "chart.html",
                '<html><body><svg><rect x="0" y="0" width="1" height="1"/></svg></body></html>',
            )
        return "done"
