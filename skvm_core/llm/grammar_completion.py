"""The shortest text that completes a prefix of a grammar's language.

A constrained reply that stopped early (the repetition guard ended a degenerate argument)
is still a valid prefix: the grammar held every character so far. Closing it along the
grammar's shortest path (the open string, then the object, then the call's tag) turns it
back into a complete call instead of an unreadable one.

The grammar tree is compiled into a small nondeterministic automaton (one state per
character position; bounded repetitions unrolled), run over the prefix, then searched
breadth-first for the nearest accepting state.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

from skvm_core.errors import SkvmError
from skvm_core.llm.grammar import Alt, Chars, Grammar, Lit, Node, Ref, Rep, Seq

MAX_STATES = 200_000  # a grammar this large is not one the tools produce
# Characters tried, in order, to stand for a character class on a completion path.
_REPRESENTATIVES = " a0-_.x\n" + "".join(chr(c) for c in range(33, 127))


@dataclass
class _State:
    epsilon: list[int] = field(default_factory=list)
    # (character or class, next state); a class is a compiled one-character pattern.
    moves: list[tuple[str | re.Pattern[str], int]] = field(default_factory=list)


class _Automaton:
    def __init__(self, grammar: Grammar) -> None:
        self.grammar = grammar
        self.states: list[_State] = []
        self.classes: dict[str, re.Pattern[str]] = {}
        self.start = self._new()
        self.accept = self._build(grammar.root, self.start, 0)

    def _new(self) -> int:
        if len(self.states) >= MAX_STATES:
            raise SkvmError("the grammar is too large to complete a reply along it")
        self.states.append(_State())
        return len(self.states) - 1

    def _build(self, node: Node, start: int, depth: int) -> int:
        """Add `node` after state `start`; returns the state where it ends."""
        if depth > 50:
            raise SkvmError("grammar rules are recursive; a reply cannot be completed along them")
        if isinstance(node, Lit):
            at = start
            for char in node.text:
                nxt = self._new()
                self.states[at].moves.append((char, nxt))
                at = nxt
            return at
        if isinstance(node, Chars):
            pattern = self.classes.setdefault(node.spec, re.compile(f"[{node.spec}]", re.DOTALL))
            end = self._new()
            self.states[start].moves.append((pattern, end))
            return end
        if isinstance(node, Seq):
            at = start
            for item in node.items:
                at = self._build(item, at, depth + 1)
            return at
        if isinstance(node, Alt):
            end = self._new()
            for option in node.options:
                begin = self._new()
                self.states[start].epsilon.append(begin)
                self.states[self._build(option, begin, depth + 1)].epsilon.append(end)
            return end
        if isinstance(node, Rep):
            at = start
            for _ in range(node.low):
                at = self._build(node.item, at, depth + 1)
            end = self._new()
            if node.high is None:
                loop_end = self._build(node.item, at, depth + 1)
                self.states[loop_end].epsilon.append(at)
                self.states[at].epsilon.append(end)
                return end
            for _ in range(node.high - node.low):
                self.states[at].epsilon.append(end)
                at = self._build(node.item, at, depth + 1)
            self.states[at].epsilon.append(end)
            return end
        if isinstance(node, Ref):
            return self._build(self.grammar.rules[node.name], start, depth + 1)
        raise SkvmError(f"unknown grammar node {node!r}")

    def closure(self, states: set[int]) -> set[int]:
        todo, seen = list(states), set(states)
        while todo:
            for nxt in self.states[todo.pop()].epsilon:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    def step(self, states: set[int], char: str) -> set[int]:
        moved = {
            nxt
            for state in states
            for label, nxt in self.states[state].moves
            if (label == char if isinstance(label, str) else label.fullmatch(char))
        }
        return self.closure(moved)

    def nearest_accept(self, states: set[int]) -> str | None:
        """The shortest text leading from any of `states` to the accepting state (a 0-1
        breadth-first search: epsilon moves cost nothing, characters one each)."""
        distance = {state: 0 for state in states}
        came: dict[int, tuple[int, str]] = {}
        queue = deque(states)
        done: set[int] = set()
        while queue:
            state = queue.popleft()
            if state in done:
                continue
            done.add(state)
            if state == self.accept:
                text: list[str] = []
                while state in came:
                    state, char = came[state]
                    text.append(char)
                return "".join(reversed(text))
            here = distance[state]
            for nxt in self.states[state].epsilon:
                if distance.get(nxt, here + 1) > here:
                    distance[nxt], came[nxt] = here, (state, "")
                    queue.appendleft(nxt)
            for label, nxt in self.states[state].moves:
                char = label if isinstance(label, str) else _representative(label)
                if char is not None and distance.get(nxt, here + 2) > here + 1:
                    distance[nxt], came[nxt] = here + 1, (state, char)
                    queue.append(nxt)
        return None


def _representative(pattern: re.Pattern[str]) -> str | None:
    return next((c for c in _REPRESENTATIVES if pattern.fullmatch(c)), None)


def shortest_completion(grammar: Grammar, prefix: str) -> str | None:
    """The shortest text `t` such that `prefix + t` is in the grammar's language; None when
    `prefix` is not a prefix of any sentence of it. '' when `prefix` is already complete."""
    automaton = _Automaton(grammar)
    states = automaton.closure({automaton.start})
    for char in prefix:
        states = automaton.step(states, char)
        if not states:
            return None
    return automaton.nearest_accept(states)
