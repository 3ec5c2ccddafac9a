"""The live trace: model calls with tokens and latency, tool calls that expand to their
arguments and output, errors highlighted, running totals. Events are buffered and drawn in
batches so a fast stream never floods the UI."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual.containers import Vertical
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from skvm_core.printable import printable_value

FLUSH_INTERVAL_S = 0.05
# At most this many events are drawn per flush, so a burst never blocks input for long;
# the rest waits for the next flush (capacity: 250 per 50 ms, 5,000 events/s).
MAX_PER_FLUSH = 250
MAX_TEXT = 400
OPEN_STEPS = 8  # steps of a run shown expanded while it streams


def _populate(node: TreeNode) -> None:
    """Children of a collapsed node are made when it is first opened: most tool calls are
    never opened, and making their leaves up front was most of the cost of a fast stream.
    A node keeps what its leaves are made from (a callable), not the leaves themselves."""
    leaves, node.data = node.data, None
    if callable(leaves):
        leaves = leaves()
    if isinstance(leaves, list):
        # Before any child added since (a call's result), so the order is as if made at once.
        for index, leaf in enumerate(leaves):
            node.add_leaf(leaf, before=index if index < len(node.children) else None)


def _argument_leaves(arguments: dict[str, Any]):
    return lambda: [Text(f"{k} = {_short(v, MAX_TEXT)}", style="dim") for k, v in arguments.items()]


def _output_leaves(output: str):
    return lambda: [Text(line[:200]) for line in output.splitlines()[:30]]


def _short(value: Any, width: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.replace("\n", "⏎ ")
    return text if len(text) <= width else text[: width - 1] + "…"


class TraceTree(Tree):
    """A tree that measures each label once: the stock tree re-renders every label to find
    the widest line whenever a node is added, which grows with the length of the run."""

    def on_mount(self) -> None:
        self._label_widths: dict[int, tuple[object, bool, bool, int]] = {}

    def get_label_width(self, node: TreeNode) -> int:
        cached = self._label_widths.get(node.id)
        if (
            cached is not None
            and cached[0] is node._label
            and cached[1] == node.is_expanded
            and cached[2] == node.allow_expand
        ):
            return cached[3]
        width = super().get_label_width(node)
        self._label_widths[node.id] = (node._label, node.is_expanded, node.allow_expand, width)
        return width


class TracePane(Vertical):
    DEFAULT_CSS = """
    TracePane { height: 1fr; }
    TracePane #trace-totals { height: 1; padding: 0 1; background: $panel; }
    TracePane Tree { height: 1fr; }
    """

    def compose(self):
        yield Static("no run yet", id="trace-totals")
        yield TraceTree("runs", id="trace-tree")

    def on_mount(self) -> None:
        self.pending: list[Any] = []
        self.open_steps: dict[str, list[TreeNode]] = {}
        self.totals = {
            "steps": 0,
            "input": 0,
            "output": 0,
            "calls": 0,
            "errors": 0,
            "cost": 0.0,
            "status": "idle",
        }
        self.runs: dict[str, TreeNode] = {}
        self.steps: dict[tuple[str, int], TreeNode] = {}
        self.calls: dict[str, TreeNode] = {}
        tree = self.query_one(Tree)
        tree.show_root = False
        tree.root.expand()
        self.events_drawn = 0
        self.set_interval(FLUSH_INTERVAL_S, self.flush)

    def add(self, event: Any) -> None:
        # A run's text is shown, never obeyed by the terminal (titles, clipboard, links).
        self.pending.append(printable_value(event))

    def clear(self) -> None:
        self.query_one(Tree).clear()
        self.runs.clear()
        self.steps.clear()
        self.calls.clear()
        self.pending.clear()
        self.open_steps.clear()
        self.totals.update(steps=0, input=0, output=0, calls=0, errors=0, cost=0.0, status="idle")
        self._totals()

    def flush(self, everything: bool = False) -> None:
        if not self.pending:
            return
        cut = len(self.pending) if everything else MAX_PER_FLUSH
        batch, self.pending = self.pending[:cut], self.pending[cut:]
        for event in batch:
            self._draw(event)
        self.events_drawn += len(batch)
        self._totals()

    def on_tree_node_expanded(self, event: Tree.NodeExpanded) -> None:
        _populate(event.node)

    def _totals(self) -> None:
        t = self.totals
        text = f"{t['status']} · {t['steps']} steps · {t['calls']} tool calls · {t['input']:,}→{t['output']:,} tokens · ${t['cost']:.4f}"
        if t["errors"]:
            text += f" · {t['errors']} errors"
        self.query_one("#trace-totals", Static).update(text)

    def _step(self, event: Any) -> TreeNode:
        run = self.runs.get(event.run_id) or self._run_node(event.run_id, event.run_id)
        key = (event.run_id, event.step)
        if key not in self.steps:
            self.steps[key] = run.add(Text(f"step {event.step}", style="bold"), expand=True)
            # Only the latest steps stay open: the tree's layout cost grows with its visible
            # lines, and a long stream is read at its end (older steps expand on demand).
            opened = self.open_steps.setdefault(event.run_id, [])
            opened.append(self.steps[key])
            while len(opened) > OPEN_STEPS:
                opened.pop(0).collapse()
        return self.steps[key]

    def _run_node(self, run_id: str, label: str, parent: str | None = None) -> TreeNode:
        # A fan-out's sub-run hangs under the run it is part of, collapsed.
        under = self.runs.get(parent) if parent else None
        if under is not None:
            node = under.add(Text(label, style="bold"), expand=False)
        else:
            node = self.query_one(Tree).root.add(Text(label, style="bold"), expand=True)
        self.runs[run_id] = node
        return node

    def _draw(self, event: Any) -> None:
        kind = event.type
        t = self.totals
        if kind == "run_started":
            skill = f" · {event.skill} ({event.skill_mode})" if event.skill else " · no skill"
            acts = f" · acts {event.protocol}" if event.protocol else ""
            node = self._run_node(
                event.run_id,
                f"▶ {event.model}{skill} · {event.sandbox}{acts}",
                event.parent_run,
            )
            if event.protocol_reason:
                node.add_leaf(Text(f"protocol {event.protocol_reason}", style="dim"))
            t["status"] = "running"
        elif kind == "llm_request":
            self._step(event)
        elif kind == "llm_response":
            t["steps"] += 1
            t["input"] += event.usage.input
            t["output"] += event.usage.output
            t["cost"] += event.cost_usd or 0.0
            label = Text(
                f"step {event.step} · {event.latency_ms:,.0f} ms · {event.usage.input}→{event.usage.output} tokens",
                style="bold cyan",
            )
            if event.format_repairs:
                label.append(f" · repaired {', '.join(event.format_repairs)}", style="yellow")
            if event.source == "hook":
                label.append(" · answered by hook", style="magenta")
            node = self._step(event)
            node.set_label(label)
            if event.text.strip():
                node.add_leaf(Text(_short(event.text, MAX_TEXT), style="italic"))
        elif kind == "tool_call":
            t["calls"] += 1
            node = self._step(event).add(
                Text(f"→ {event.name}({_short(event.arguments, 60)})", style="blue"),
                data=_argument_leaves(event.arguments) if event.arguments else None,
            )
            self.calls[f"{event.run_id}:{event.call_id}:{event.step}"] = node
        elif kind == "tool_result":
            node = self.calls.get(f"{event.run_id}:{event.call_id}:{event.step}") or self._step(
                event
            )
            style = "green" if event.ok else "bold red"
            code = f" exit {event.exit_code}" if event.exit_code is not None else ""
            node.add(
                Text(
                    f"← {'ok' if event.ok else 'failed'}{code} · {event.duration_ms:,.0f} ms{' · truncated' if event.truncated else ''}",
                    style=style,
                ),
                data=_output_leaves(event.output) if event.output.strip() else None,
            )
            if not event.ok:
                t["errors"] += 1
                _populate(node)
                node.expand()
        elif kind == "fan_out":
            run = self.runs.get(event.run_id)
            if run is not None:
                where = f"{event.folder}/" if event.folder else "the work folder"
                run.add_leaf(
                    Text(
                        f"⑂ fan-out: {len(event.items)} items in {where}, {event.limit} at once, merge by {event.merge}",
                        style="bold magenta",
                    )
                )
        elif kind == "sub_run":
            run = self.runs.get(event.run_id)
            if run is not None:
                retry = f" (attempt {event.attempt})" if event.attempt > 1 else ""
                run.add_leaf(
                    Text(
                        f"⑂ {event.item}{retry}: {event.status} · {event.steps} steps · {event.wall_ms / 1000:.1f} s",
                        style="green" if event.status == "ok" else "bold red",
                    )
                )
        elif kind == "hook":
            self._step(event).add_leaf(Text(f"hook {event.hook}: {event.detail}", style="magenta"))
        elif kind == "error":
            t["errors"] += 1
            self._step(event).add_leaf(
                Text(f"✖ {event.kind}: {_short(event.message, MAX_TEXT)}", style="bold red")
            )
        elif kind == "run_finished":
            t["status"] = event.status + (f" ({event.detail})" if event.detail else "")
            run = self.runs.get(event.run_id)
            if run is not None:
                run.add_leaf(
                    Text(
                        f"■ {event.status} · {event.steps} steps · wall {event.wall_ms / 1000:.1f} s · model {event.model_ms / 1000:.1f} s",
                        style="green" if event.status == "ok" else "bold red",
                    )
                )
