"""Throughput of the lenient tool-call parser, beside plain json.loads of the same calls."""

from __future__ import annotations

import json

from benchmarks._util import interleaved, report
from skvm_core.llm.toolparse import parse_tool_calls

NAMES = ["read_file", "write_file", "list_directory", "execute_command", "web_fetch"]
CALL = {"name": "write_file", "arguments": {"path": "out/report.json", "content": "x" * 400}}
SAMPLES = [
    "I will write the file now.\n<tool_call>\n" + json.dumps(CALL) + "\n</tool_call>",
    "```json\n" + json.dumps({"function": CALL}) + "\n```",
    "Calling " + json.dumps(CALL) + " then done.",
    "No tool call here, just an answer of moderate length. " * 8,
]
BATCH = 2000


def run() -> list[dict]:
    def lenient() -> None:
        for index in range(BATCH):
            parse_tool_calls(SAMPLES[index % len(SAMPLES)], NAMES)

    raw = [json.dumps(CALL)] * len(SAMPLES)

    def strict() -> None:
        for index in range(BATCH):
            json.loads(raw[index % len(raw)])

    times = interleaved({"lenient": lenient, "strict": strict}, repeats=7)
    rate = BATCH / times["lenient"]
    return [
        report(
            "toolparse: lenient parses per second", f"{rate:,.0f}/s", "> 10,000/s", rate > 10_000
        ),
        report(
            "toolparse: cost vs json.loads", f"{times['lenient'] / times['strict']:.1f}x", "", None
        ),
    ]
