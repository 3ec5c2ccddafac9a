"""tool.*: the agent must use its tools; outcomes are files in the work dir."""

from __future__ import annotations

import csv
import io
import json

from skvm_core.profile.instance import (
    Checks,
    Generator,
    close,
    extract_json,
    read,
    write,
)

WORDS = ["amber", "basil", "cedar", "dune", "ember", "fjord", "grove", "heath", "inlet", "jade"]


def _lines(rng, count: int) -> list[str]:
    return [f"{rng.choice(WORDS)} {rng.randint(1, 999)} {rng.choice(WORDS)}" for _ in range(count)]


def _result_lines(work_dir, name="result.txt") -> list[str] | None:
    text = read(work_dir, name)
    return None if text is None else [line.rstrip() for line in text.strip().splitlines()]


class FileReadGenerator(Generator):
    primitive = "tool.file.read"
    descriptions = {
        "L1": "Copy one file exactly",
        "L2": "Read several files, one missing",
        "L3": "Extract a line range from a longer file",
    }

    def make(self, level, rng):
        if level == "L1":
            lines = _lines(rng, rng.randint(3, 8))
            return (
                "Read data.txt and write its exact content to result.txt.",
                {"data.txt": "\n".join(lines) + "\n"},
                {"lines": lines},
            )
        if level == "L2":
            names = [f"{w}.txt" for w in rng.sample(WORDS, rng.randint(3, 5))]
            missing = rng.choice(names)
            files = {
                n: f"{rng.choice(WORDS)}-{rng.randint(10, 99)}\n" for n in names if n != missing
            }
            prompt = f"For each of these files, in this order: {', '.join(names)}, write a line '<file>: <its content>' to result.txt, or '<file>: NOT_FOUND' if it does not exist."
            return (
                prompt,
                files,
                {
                    "lines": [
                        f"{n}: {files[n].strip()}" if n in files else f"{n}: NOT_FOUND"
                        for n in names
                    ]
                },
            )
        lines = [f"line {i:02d} {rng.choice(WORDS)}" for i in range(1, rng.randint(20, 40) + 1)]
        start, count = rng.randint(5, 12), rng.randint(3, 6)
        prompt = f"Write to result.txt exactly {count} lines of log.txt starting at line {start} (line numbers start at 1)."
        return (
            prompt,
            {"log.txt": "\n".join(lines) + "\n"},
            {"lines": lines[start - 1 : start - 1 + count]},
        )

    async def check(self, instance, work_dir, response):
        checks = Checks()
        got = _result_lines(work_dir)
        if checks.add(
            "result_exists",
            got is not None,
            "result.txt written" if got is not None else "result.txt missing",
        ):
            checks.add("content", got == instance.expected["lines"], f"got {got[:4]}…")
        return checks.result()

    def solve(self, instance, work_dir):
        write(work_dir, "result.txt", "\n".join(instance.expected["lines"]) + "\n")
        return "done"

    def wrong(self, instance, work_dir):
        write(work_dir, "result.txt", "\n".join(instance.expected["lines"][:-1]) + "\n")
        return "done"


class FileWriteGenerator(Generator):
    primitive = "tool.file.write"
    descriptions = {
        "L1": "Write a short file",
        "L2": "Write a longer generated file",
        "L3": "Write several files in sequence",
    }

    def make(self, level, rng):
        if level == "L1":
            lines = rng.sample(WORDS, rng.randint(3, 6))
            return (
                f"Create output.txt containing exactly these lines: {', '.join(lines)} (one per line).",
                {},
                {"files": {"output.txt": lines}},
            )
        if level == "L2":
            count, words = rng.randint(15, 50), rng.sample(WORDS, 8)
            lines = [f"{i}. {words[(i - 1) % 8]}" for i in range(1, count + 1)]
            prompt = f"Create list.txt with {count} lines numbered 1 to {count} in the form '<n>. <word>', cycling through the words {', '.join(words)} in that order."
            return prompt, {}, {"files": {"list.txt": lines}}
        count = rng.randint(3, 6)
        files = {
            f"part{i}.txt": [f"part {i}: {rng.choice(WORDS)} {rng.randint(1, 99)}"]
            for i in range(1, count + 1)
        }
        prompt = (
            "Create these files, each with exactly the one line given: "
            + "; ".join(f"{n} -> {v[0]}" for n, v in files.items())
            + "."
        )
        return prompt, {}, {"files": files}

    async def check(self, instance, work_dir, response):
        checks = Checks()
        for name, lines in instance.expected["files"].items():
            got = _result_lines(work_dir, name)
            checks.add(
                name,
                got == lines,
                "exact"
                if got == lines
                else f"{name}: {'missing' if got is None else 'content differs'}",
            )
        return checks.result()

    def solve(self, instance, work_dir):
        for name, lines in instance.expected["files"].items():
            write(work_dir, name, "\n".join(lines) + "\n")
        return "done"

    def wrong(self, instance, work_dir):
        name, lines = next(iter(instance.expected["files"].items()))
        write(work_dir, name, "\n".join(lines[1:]) + "\n")
        return "done"


class ExecGenerator(Generator):
    primitive = "tool.exec"
    descriptions = {
        "L1": "Run one command and save its output",
        "L2": "Write a script, run it, save the output",
        "L3": "Chain several commands through intermediate files",
    }

    def make(self, level, rng):
        lines = _lines(rng, rng.randint(8, 20))
        if level == "L1":
            kind = rng.choice(["wc", "sort", "head"])
            prompt = {
                "wc": "Run `wc -l < data.txt` and save its output to result.txt.",
                "sort": "Run `sort data.txt` and save its output to result.txt.",
                "head": "Run `head -n 3 data.txt` and save its output to result.txt.",
            }[kind]
            expected = {"wc": [str(len(lines))], "sort": sorted(lines), "head": lines[:3]}[kind]
            return prompt, {"data.txt": "\n".join(lines) + "\n"}, {"lines": expected}
        if level == "L2":
            numbers = [rng.randint(1, 500) for _ in range(rng.randint(5, 15))]
            op = rng.choice(["sum", "max", "product of the first three"])
            value = {
                "sum": sum(numbers),
                "max": max(numbers),
                "product of the first three": numbers[0] * numbers[1] * numbers[2],
            }[op]
            prompt = f"input.txt has one number per line. Write compute.py that prints the {op} of the numbers, run it, and save what it prints to result.txt."
            return (
                prompt,
                {"input.txt": "\n".join(map(str, numbers)) + "\n"},
                {"lines": [str(value)], "script": "compute.py"},
            )
        word = rng.choice(WORDS)
        matching = [line for line in sorted(lines) if word in line]
        prompt = (
            f"Step 1: sort data.txt into sorted.txt. Step 2: keep the lines of sorted.txt containing '{word}' in filtered.txt. "
            "Step 3: write the number of lines of filtered.txt to result.txt. Use commands for each step."
        )
        return (
            prompt,
            {"data.txt": "\n".join(lines) + "\n"},
            {"lines": [str(len(matching))], "sorted": sorted(lines), "filtered": matching},
        )

    async def check(self, instance, work_dir, response):
        checks = Checks()
        e = instance.expected
        got = [line.strip() for line in (_result_lines(work_dir) or [])]
        if "script" in e:
            checks.add(
                "script_created", read(work_dir, e["script"]) is not None, f"{e['script']} exists"
            )
        if "sorted" in e:
            checks.add(
                "sorted_txt", _result_lines(work_dir, "sorted.txt") == e["sorted"], "sorted.txt"
            )
            checks.add(
                "filtered_txt",
                (_result_lines(work_dir, "filtered.txt") or []) == e["filtered"]
                or (not e["filtered"] and read(work_dir, "filtered.txt") is not None),
                "filtered.txt",
            )
        checks.add("result", got == e["lines"], f"result.txt {got[:3]}")
        return checks.result()

    def solve(self, instance, work_dir):
        e = instance.expected
        if "script" in e:
            write(work_dir, "compute.py", "print('see result')\n")
        if "sorted" in e:
            write(work_dir, "sorted.txt", "\n".join(e["sorted"]) + "\n")
            write(
                work_dir, "filtered.txt", "\n".join(e["filtered"]) + ("\n" if e["filtered"] else "")
            )
        write(work_dir, "result.txt", "\n".join(e["lines"]) + "\n")
        return "done"

    def wrong(self, instance, work_dir):
        write(work_dir, "result.txt", "0\n")
        return "done"


class CallFormatGenerator(Generator):
    primitive = "tool.call.format"
    writes_files = False
    descriptions = {
        "L1": "Emit a call with simple string arguments",
        "L2": "Emit a call with structured arguments",
        "L3": "Emit a deeply nested call with escaped strings",
    }

    def make(self, level, rng):
        if level == "L1":
            args = {
                "city": rng.choice(["Oslo", "Quito", "Hanoi"]),
                "unit": rng.choice(["celsius", "fahrenheit"]),
            }
            call = {"function": "get_weather", "arguments": args}
        elif level == "L2":
            items = [
                {"sku": f"SKU-{rng.randint(100, 999)}", "qty": rng.randint(1, 5)}
                for _ in range(rng.randint(2, 3))
            ]
            call = {
                "function": "create_order",
                "arguments": {
                    "customer_id": rng.randint(1000, 9999),
                    "items": items,
                    "shipping": {"method": "express", "address": {"city": "Lyon", "zip": "69001"}},
                },
            }
        else:
            note = f'He said "{rng.choice(WORDS)}"\tthen\\left'
            call = {
                "function": "save_record",
                "arguments": {
                    "record": {
                        "meta": {
                            "tags": rng.sample(WORDS, 3),
                            "owner": {"name": "Zoë", "note": note},
                        },
                        "values": [[1, 2], [3, [4, 5]]],
                    }
                },
            }
        prompt = (
            'Write the JSON object of a function call {"function": <name>, "arguments": {...}} for this request, exactly, and nothing else: '
            f"call {call['function']} with arguments {json.dumps(call['arguments'], ensure_ascii=False)}."
        )
        return prompt, {}, {"call": call}

    async def check(self, instance, work_dir, response):
        checks = Checks()
        try:
            data = extract_json(response)
        except ValueError:
            data = None
        if checks.add(
            "valid_json",
            isinstance(data, dict),
            "JSON object found" if isinstance(data, dict) else "no JSON object",
        ):
            want = instance.expected["call"]
            checks.add(
                "function",
                data.get("function") == want["function"],
                f"function {data.get('function')}",
            )
            checks.add(
                "arguments",
                data.get("arguments") == want["arguments"],
                "arguments match exactly"
                if data.get("arguments") == want["arguments"]
                else "arguments differ",
            )
        return checks.result()

    def solve(self, instance, work_dir):
        return json.dumps(instance.expected["call"], ensure_ascii=False)

    def wrong(self, instance, work_dir):
        call = instance.expected["call"]
        return json.dumps(
            {"function": call["function"], "arguments": json.dumps(call["arguments"])}
        )


class BatchGenerator(Generator):
    primitive = "tool.call.batch"
    descriptions = {
        "L1": "Read two files and concatenate them",
        "L2": "Read five files and collect their first words",
        "L3": "Aggregate numbers across several files",
    }

    def make(self, level, rng):
        if level == "L1":
            a, b = _lines(rng, 2), _lines(rng, 2)
            prompt = "Read part1.txt and part2.txt (you may read both at once) and write part1's content followed by part2's to result.txt."
            return (
                prompt,
                {"part1.txt": "\n".join(a) + "\n", "part2.txt": "\n".join(b) + "\n"},
                {"lines": a + b},
            )
        if level == "L2":
            files = {
                f"note{i}.txt": f"{rng.choice(WORDS)} and more text {i}\n" for i in range(1, 6)
            }
            prompt = "Read note1.txt to note5.txt (read them together) and write the first word of each, in file order, one per line, to result.txt."
            return prompt, files, {"lines": [files[f"note{i}.txt"].split()[0] for i in range(1, 6)]}
        count = rng.randint(3, 6)
        files = {
            f"n{i}.txt": "\n".join(str(rng.randint(-50, 200)) for _ in range(rng.randint(3, 6)))
            + "\n"
            for i in range(1, count + 1)
        }
        values = [int(v) for text in files.values() for v in text.split()]
        prompt = f'Files n1.txt to n{count}.txt hold one number per line. Read them all and write result.json with the sum, max and min over every number: {{"sum": .., "max": .., "min": ..}}.'
        return prompt, files, {"json": {"sum": sum(values), "max": max(values), "min": min(values)}}

    async def check(self, instance, work_dir, response):
        checks = Checks()
        e = instance.expected
        if "json" in e:
            try:
                data = json.loads(read(work_dir, "result.json") or "")
            except json.JSONDecodeError:
                data = None
            for key, value in e["json"].items():
                got = data.get(key) if isinstance(data, dict) else None
                checks.add(
                    key,
                    isinstance(got, int | float) and close(float(got), value, 0.001),
                    f"{key} = {got}, expected {value}",
                )
        else:
            got = _result_lines(work_dir)
            checks.add("content", got == e["lines"], f"got {got}")
        return checks.result()

    def solve(self, instance, work_dir):
        e = instance.expected
        if "json" in e:
            write(work_dir, "result.json", json.dumps(e["json"]))
        else:
            write(work_dir, "result.txt", "\n".join(e["lines"]) + "\n")
        return "done"

    def wrong(self, instance, work_dir):
        e = instance.expected
        if "json" in e:
            write(work_dir, "result.json", json.dumps({**e["json"], "sum": e["json"]["sum"] + 1}))
        else:
            write(work_dir, "result.txt", "\n".join(e["lines"][:2]) + "\n")
        return "done"


class WebGenerator(Generator):
    """Served by a real HTTP server on loopback while the instance runs."""

    primitive = "tool.web"
    descriptions = {
        "L1": "GET an API and extract one field",
        "L2": "GET with query parameters and parse the results",
        "L3": "Collect every item across a paginated API",
    }

    def make(self, level, rng):
        if level == "L1":
            token = f"{rng.choice(WORDS)}-{rng.randint(1000, 9999)}"
            prompt = 'Fetch {base_url}api/status (use the web_fetch tool) and write the value of its "token" field to result.txt.'
            return prompt, {}, {"answer": [token], "token": token}
        if level == "L2":
            category = rng.choice(["tools", "books", "games"])
            items = [
                {"id": i, "category": rng.choice(["tools", "books", "games"])}
                for i in range(1, rng.randint(8, 14))
            ]
            ids = [i["id"] for i in items if i["category"] == category]
            prompt = (
                "Fetch {base_url}api/items?category="
                + category
                + ' (use web_fetch) and write result.json as {"total": <number of items>, "ids": [<item ids>]}.'
            )
            return prompt, {}, {"json": {"total": len(ids), "ids": ids}, "items": items}
        values = [rng.randint(1, 999) for _ in range(rng.randint(8, 15))]
        size = rng.randint(3, 5)
        prompt = "The API at {base_url}api/values?page=1 returns a page of values and the next page number (null on the last page). Fetch every page with web_fetch and write result.json: a JSON array of all values in order."
        return prompt, {}, {"values": values, "page_size": size}

    def routes(self, level, expected):
        if level == "L1":
            return {
                "/api/status": {"ok": True, "token": expected["token"], "server": "skvm-profile"}
            }
        if level == "L2":
            return {"/api/items": {"items": expected["items"], "filter": "category"}}
        size, values = expected["page_size"], expected["values"]
        pages = [values[i : i + size] for i in range(0, len(values), size)]
        return {"/api/values": {"pages": pages}}

    async def check(self, instance, work_dir, response):
        checks = Checks()
        e = instance.expected
        if instance.level == "L1":
            got = (read(work_dir, "result.txt") or "").strip()
            checks.add("field", got == e["token"], f"got {got!r}")
            return checks.result()
        try:
            data = json.loads(read(work_dir, "result.json") or "")
        except json.JSONDecodeError:
            data = None
        if instance.level == "L2":
            ok = isinstance(data, dict)
            checks.add(
                "total",
                ok and data.get("total") == e["json"]["total"],
                f"total {data.get('total') if ok else None}",
            )
            checks.add(
                "ids",
                ok and sorted(data.get("ids") or []) == sorted(e["json"]["ids"]),
                f"ids {data.get('ids') if ok else None}",
            )
        else:
            checks.add(
                "all_values",
                data == e["values"],
                f"{len(data) if isinstance(data, list) else 'no'} values of {len(e['values'])}",
            )
        return checks.result()

    def solve(self, instance, work_dir):
        e = instance.expected
        if instance.level == "L1":
            write(work_dir, "result.txt", e["token"])
        elif instance.level == "L2":
            write(work_dir, "result.json", json.dumps(e["json"]))
        else:
            write(work_dir, "result.json", json.dumps(e["values"]))
        return "done"

    def wrong(self, instance, work_dir):
        e = instance.expected
        if instance.level == "L1":
            write(work_dir, "result.txt", "unknown")
        elif instance.level == "L2":
            write(
                work_dir,
                "result.json",
                json.dumps({"total": len(e["items"]), "ids": [i["id"] for i in e["items"]]}),
            )
        else:
            write(work_dir, "result.json", json.dumps(e["values"][: e["page_size"]]))
        return "done"


def _page(title: str, body: str) -> str:
    return f"<!doctype html><html><head><title>{title}</title></head><body>{body}</body></html>\n"


class BrowserGenerator(Generator):
    primitive = "tool.browser"
    descriptions = {
        "L1": "Extract an element's text from a local page",
        "L2": "Turn an HTML table into CSV",
        "L3": "Follow 'next' links across pages and collect items",
    }

    def make(self, level, rng):
        if level == "L1":
            target = f"{rng.choice(WORDS)}-{rng.randint(100, 999)}"
            decoys = "".join(f'<p id="d{i}">{rng.choice(WORDS)}</p>' for i in range(5))
            body = f'<div class="main">{decoys}<span id="order-code">{target}</span></div>'
            return (
                'page.html is a saved web page. Write the text of the element with id "order-code" to result.txt.',
                {"page.html": _page("Order", body)},
                {"lines": [target]},
            )
        if level == "L2":
            rows = [
                [rng.choice(WORDS), str(rng.randint(1, 99)), rng.choice(["yes", "no"])]
                for _ in range(rng.randint(3, 6))
            ]
            table = (
                "<table><tr><th>name</th><th>qty</th><th>stock</th></tr>"
                + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
                + "</table>"
            )
            return (
                "page.html holds a table. Write its content to result.csv (header row first, comma-separated).",
                {"page.html": _page("Stock", table)},
                {"rows": [["name", "qty", "stock"], *rows]},
            )
        count = rng.randint(3, 4)
        files, items = {}, []
        for i in range(1, count + 1):
            page_items = rng.sample(WORDS, 2)
            items += page_items
            nav = f'<a class="next" href="page{i + 1}.html">next</a>' if i < count else ""
            files[f"page{i}.html"] = _page(
                f"Page {i}",
                "<ul>" + "".join(f'<li class="item">{w}</li>' for w in page_items) + f"</ul>{nav}",
            )
        prompt = "page1.html is the first of several linked pages. Follow the 'next' links, collect the text of every li.item on every page, and write result.json: a JSON array of those texts sorted alphabetically."
        return prompt, files, {"items": sorted(items)}

    async def check(self, instance, work_dir, response):
        checks = Checks()
        e = instance.expected
        if instance.level == "L1":
            got = _result_lines(work_dir)
            checks.add("text", got == e["lines"], f"got {got}")
        elif instance.level == "L2":
            text = read(work_dir, "result.csv")
            rows = [[c.strip() for c in r] for r in csv.reader(io.StringIO(text or "")) if r]
            checks.add("table", rows == e["rows"], f"{len(rows)} rows")
        else:
            try:
                data = json.loads(read(work_dir, "result.json") or "")
            except json.JSONDecodeError:
                data = None
            checks.add("items", data == e["items"], f"got {data}")
        return checks.result()

    def solve(self, instance, work_dir):
        e = instance.expected
        if instance.level == "L1":
            write(work_dir, "result.txt", e["lines"][0] + "\n")
        elif instance.level == "L2":
            write(work_dir, "result.csv", "\n".join(",".join(r) for r in e["rows"]) + "\n")
        else:
            write(work_dir, "result.json", json.dumps(e["items"]))
        return "done"

    def wrong(self, instance, work_dir):
        e = instance.expected
        if instance.level == "L1":
            write(work_dir, "result.txt", "order-code\n")
        elif instance.level == "L2":
            write(work_dir, "result.csv", "\n".join(",".join(r) for r in e["rows"][1:]) + "\n")
        else:
            write(work_dir, "result.json", json.dumps(e["items"][:2]))
        return "done"
