"""Decoding grammars built from tool schemas.

A grammar is a small tree of nodes rendered two ways: as GBNF, the format llama.cpp
constrains decoding with, and as a Python regular expression, which checks text against
the same tree (tests, and the parser's own sanity check). Only what tool arguments need is
supported: literals, character classes, sequences, alternatives and bounded repetition;
the JSON produced is laid out exactly as the chat template renders earlier calls
(`{"key": value, "key": value}`), so a constrained turn reads like the history it follows.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from skvm_core.errors import SkvmError


@dataclass(frozen=True)
class Lit:
    text: str


@dataclass(frozen=True)
class Chars:
    """A character class body as GBNF and regex both read it, e.g. `^<` or `0-9`."""

    spec: str


@dataclass(frozen=True)
class Seq:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Alt:
    options: tuple[Node, ...]


@dataclass(frozen=True)
class Rep:
    item: Node
    low: int = 0
    high: int | None = None  # None: unbounded


@dataclass(frozen=True)
class Ref:
    """A named rule; rules keep the GBNF readable and are inlined in the regex."""

    name: str


Node = Lit | Chars | Seq | Alt | Rep | Ref


class Grammar:
    def __init__(self, root: Node, rules: dict[str, Node] | None = None) -> None:
        self.root = root
        self.rules = dict(rules or {})

    def gbnf(self) -> str:
        lines = [f"root ::= {_gbnf(self.root)}"]
        lines += [f"{name} ::= {_gbnf(node)}" for name, node in self.rules.items()]
        return "\n".join(lines) + "\n"

    def regex(self) -> re.Pattern[str]:
        return re.compile(self._regex(self.root), re.DOTALL)

    def matches(self, text: str) -> bool:
        return self.regex().fullmatch(text) is not None

    def _regex(self, node: Node, depth: int = 0) -> str:
        if depth > 50:
            raise SkvmError("grammar rules are recursive; a regex cannot check them")
        if isinstance(node, Lit):
            return re.escape(node.text)
        if isinstance(node, Chars):
            return f"[{node.spec}]"
        if isinstance(node, Seq):
            return "".join(f"(?:{self._regex(item, depth + 1)})" for item in node.items)
        if isinstance(node, Alt):
            return "(?:" + "|".join(self._regex(o, depth + 1) for o in node.options) + ")"
        if isinstance(node, Rep):
            high = "" if node.high is None else str(node.high)
            return f"(?:{self._regex(node.item, depth + 1)}){{{node.low},{high}}}"
        return self._regex(self.rules[node.name], depth + 1)


def _gbnf(node: Node) -> str:
    if isinstance(node, Lit):
        return json.dumps(node.text, ensure_ascii=False)
    if isinstance(node, Chars):
        return f"[{node.spec}]"
    if isinstance(node, Seq):
        return " ".join(_group(item) for item in node.items) or '""'
    if isinstance(node, Alt):
        return " | ".join(_gbnf(option) for option in node.options)
    if isinstance(node, Rep):
        item = _group(node.item)
        if (node.low, node.high) == (0, None):
            return f"{item}*"
        if (node.low, node.high) == (1, None):
            return f"{item}+"
        if (node.low, node.high) == (0, 1):
            return f"{item}?"
        high = "" if node.high is None else str(node.high)
        return f"{item}{{{node.low},{high}}}"
    return node.name


def _group(node: Node) -> str:
    text = _gbnf(node)
    return f"({text})" if isinstance(node, Seq | Alt) else text


# JSON pieces, shared by every tool's arguments.
JSON_RULES: dict[str, Node] = {
    "jstring": Seq(
        (
            Lit('"'),
            Rep(
                Alt(
                    (
                        Chars('^"\\\\\\x00-\\x1f'),
                        Seq((Lit("\\"), Chars('"\\\\/bfnrt'))),
                        Seq((Lit("\\u"), Rep(Chars("0-9a-fA-F"), 4, 4))),
                    )
                )
            ),
            Lit('"'),
        )
    ),
    "jint": Seq((Rep(Lit("-"), 0, 1), Rep(Chars("0-9"), 1, 12))),
    "jnumber": Seq(
        (
            Rep(Lit("-"), 0, 1),
            Rep(Chars("0-9"), 1, 15),
            Rep(Seq((Lit("."), Rep(Chars("0-9"), 1, 15))), 0, 1),
        )
    ),
    "jbool": Alt((Lit("true"), Lit("false"))),
}


def value_node(schema: dict[str, Any], where: str) -> Node:
    """The grammar of one argument value, from its JSON Schema."""
    if "enum" in schema:
        return Alt(tuple(Lit(json.dumps(v, ensure_ascii=False)) for v in schema["enum"]))
    kind = schema.get("type")
    if kind == "string":
        return Ref("jstring")
    if kind == "integer":
        return Ref("jint")
    if kind == "number":
        return Ref("jnumber")
    if kind == "boolean":
        return Ref("jbool")
    if kind == "array" and isinstance(schema.get("items"), dict):
        item = value_node(schema["items"], where)
        items = Seq((item, Rep(Seq((Lit(", "), item)))))
        return Seq((Lit("["), Rep(items, 0, 1), Lit("]")))
    raise SkvmError(
        f"{where}: type {kind!r} cannot be constrained yet",
        hint="use the native or code-act protocol for tools with nested arguments",
    )


def arguments_node(schema: dict[str, Any], where: str) -> Node:
    """A flat JSON object: required properties in schema order, then optional ones, each
    at most once and in schema order."""
    properties: dict[str, Any] = schema.get("properties") or {}
    required = [name for name in properties if name in set(schema.get("required") or [])]
    optional = [name for name in properties if name not in required]

    def member(name: str) -> Node:
        return Seq((Lit(json.dumps(name) + ": "), value_node(properties[name], f"{where}.{name}")))

    # Optional members follow in order, each present or not; the separator belongs to the
    # member after the first one written, so the object is never `{, …}`.
    if required:
        body: list[Node] = [member(required[0])]
        body += [Seq((Lit(", "), member(name))) for name in required[1:]]
        body += [Rep(Seq((Lit(", "), member(name))), 0, 1) for name in optional]
        return Seq((Lit("{"), *body, Lit("}")))
    options: list[Node] = [Lit("{}")]
    for index, first in enumerate(optional):
        rest = [Rep(Seq((Lit(", "), member(name))), 0, 1) for name in optional[index + 1 :]]
        options.append(Seq((Lit("{"), member(first), *rest, Lit("}"))))
    return Alt(tuple(options))


def tool_call_grammar(tools: list[dict[str, Any]], *, thought_chars: int = 600) -> Grammar:
    """A short free-text thought, then exactly one `<tool_call>` of one of `tools` (OpenAI
    function shape or bare {name, parameters}). The thought cannot contain `<`, `{` or a
    backtick: a model that starts writing JSON or code there is steered into the call
    instead, and the call starts exactly where the thought ends. Nothing follows the call."""
    calls: list[Node] = []
    rules = dict(JSON_RULES)
    for tool in tools:
        function = tool.get("function", tool)
        name = function["name"]
        rule = "args-" + re.sub(r"[^a-zA-Z0-9]+", "-", name)
        rules[rule] = arguments_node(function.get("parameters") or {}, name)
        calls.append(
            Seq((Lit(f'{{"name": {json.dumps(name)}, "arguments": '), Ref(rule), Lit("}")))
        )
    if not calls:
        raise SkvmError("a tool-call grammar needs at least one tool")
    root = Seq(
        (
            Ref("thought"),
            Lit("<tool_call>\n"),
            Alt(tuple(calls)),
            Lit("\n</tool_call>"),
        )
    )
    # One line: a small model given room to ramble fills it and loses the thread.
    char = Alt((Chars("^<{`\\n"), Seq((Lit("`"), Chars("^<{`\\n")))))  # inline `code` only
    rules["thought"] = Seq((Rep(char, 0, thought_chars), Rep(Lit("\n"), 0, 1)))
    return Grammar(root, rules)


def code_act_grammar(*, thought_chars: int = 600, may_finish: bool = True) -> Grammar:
    """A short one-line thought, then one fenced bash or python block, or `DONE` and the
    final answer (any length: text primitives answer here). Two backticks end the thought,
    so the fence starts where the model leaves it. The block and the answer are bounded by
    the token limit, not the grammar (a long bounded repetition makes a large grammar)."""
    # At least one visible character: an empty block would run nothing.
    code = Seq(
        (
            Rep(Chars(" \\t\\n"), 0, 8),
            Chars("^` \\t\\n"),
            Rep(Alt((Chars("^`"), Seq((Lit("`"), Chars("^`")))))),
        )
    )
    block = Seq((Lit("```"), Alt((Lit("bash"), Lit("python"))), Lit("\n"), code, Lit("```")))
    done = Seq((Lit("DONE"), Rep(Chars("^\\x00"))))
    root = Seq((Ref("thought"), Alt((block, done)) if may_finish else block))
    # Inline `code` stays possible in the thought; two backticks in a row start the fence.
    char = Alt((Chars("^`\\n"), Seq((Lit("`"), Chars("^`\\n")))))
    thought = Seq((Rep(char, 0, thought_chars), Rep(Lit("\n"), 0, 1)))
    return Grammar(root, {"thought": thought})
