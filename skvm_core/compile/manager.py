"""The pass manager: passes with declared inputs, results cached by the hash of those inputs.

A pass names what it reads — skill views (`skill.source`, `skill.code`, `skill.procedures`),
the target profile (`tcp`), options, or other passes' outputs — and its result is cached
under a key made from exactly those inputs. So an edit to a prose line re-runs the passes
that read the prose, and the analysis cache is shared by every target.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter

from skvm_core.compile.verifier import Verifier
from skvm_core.errors import SkvmError
from skvm_core.llm.types import Usage
from skvm_core.store.atomic import atomic_write_text


@dataclass(frozen=True)
class Pass:
    id: str
    inputs: tuple[str, ...]
    output: Any  # a pydantic model class or a type for TypeAdapter
    run: Callable[[PassContext, dict[str, Any]], Any]
    version: str = "1"
    description: str = ""


@dataclass
class PassRecord:
    id: str
    key: str
    cached: bool = False
    ms: float = 0.0
    usage: Usage = field(default_factory=Usage)
    error: str | None = None
    skipped: str | None = None


@dataclass
class PassContext:
    views: dict[str, Any]  # skill views, tcp, options: anything a pass may declare
    # Precomputed content hashes of views (a Skill's content hash, a TCP's version key).
    digests: dict[str, str] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    # Sandbox checks, cached by their own content: a pass re-run for an unrelated edit
    # re-verifies nothing. Not an input: a check's result depends only on what it reads.
    verifier: Verifier = field(default_factory=Verifier)
    cache_dir: Path | None = None  # for work cached by its own key (synthesis)

    def digest(self, name: str) -> str:
        if name not in self.digests:
            self.digests[name] = _digest(self.views[name])
        return self.digests[name]


def _digest(value: Any) -> str:
    if isinstance(value, BaseModel):
        payload = value.model_dump_json(by_alias=True)
    else:
        payload = json.dumps(value, sort_keys=True, default=_default)
    return hashlib.sha256(payload.encode()).hexdigest()


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot hash {type(value).__name__}")


class PassManager:
    def __init__(self, passes: list[Pass], cache_dir: Path | None) -> None:
        self.passes = {p.id: p for p in passes}
        self.order = [p.id for p in passes]
        self.cache_dir = cache_dir

    def resolve(self, selected: list[str] | None) -> list[str]:
        """The selected passes plus everything they depend on, in registration order."""
        if not selected:
            return list(self.order)
        unknown = [s for s in selected if s not in self.passes]
        if unknown:
            raise SkvmError(
                f"unknown passes: {', '.join(unknown)}", hint=f"passes are: {', '.join(self.order)}"
            )
        needed: set[str] = set()
        stack = list(selected)
        while stack:
            current = stack.pop()
            if current in needed:
                continue
            needed.add(current)
            stack.extend(i for i in self.passes[current].inputs if i in self.passes)
        return [p for p in self.order if p in needed]

    def run(
        self, context: PassContext, selected: list[str] | None = None
    ) -> tuple[dict[str, Any], list[PassRecord]]:
        results: dict[str, Any] = {}
        keys: dict[str, str] = {}
        records: list[PassRecord] = []
        for pass_id in self.resolve(selected):
            spec = self.passes[pass_id]
            missing = [i for i in spec.inputs if i in self.passes and i not in results]
            if missing:
                records.append(
                    PassRecord(
                        id=pass_id, key="", skipped=f"needs {', '.join(missing)}, which failed"
                    )
                )
                continue
            absent = [i for i in spec.inputs if i not in self.passes and i not in context.views]
            if absent:
                records.append(PassRecord(id=pass_id, key="", skipped=f"needs {', '.join(absent)}"))
                continue
            # Upstream passes count by the content of what they produced, so an edit that
            # leaves the analysis unchanged leaves everything downstream of it cached.
            parts = [spec.id, spec.version] + [
                keys[i] if i in keys else context.digest(i) for i in spec.inputs
            ]
            key = hashlib.sha256("\0".join(parts).encode()).hexdigest()
            record = PassRecord(id=pass_id, key=key)
            started = time.perf_counter()
            cached = self._load(spec, key)
            if cached is not None:
                results[pass_id], record.cached = cached, True
            else:
                inputs = {i: results[i] if i in results else context.views[i] for i in spec.inputs}
                before = context.usage
                try:
                    results[pass_id] = spec.run(context, inputs)
                except SkvmError as exc:
                    record.error = str(exc)
                except (
                    Exception
                ) as exc:  # a broken pass reports itself; earlier results stay usable
                    record.error = f"{type(exc).__name__}: {exc}"
                else:
                    self._store(spec, key, results[pass_id])
                record.usage = Usage(
                    input=context.usage.input - before.input,
                    output=context.usage.output - before.output,
                )
            record.ms = (time.perf_counter() - started) * 1000
            if pass_id in results:
                keys[pass_id] = _digest(results[pass_id])
            records.append(record)
        return results, records

    def _path(self, spec: Pass, key: str) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / spec.id / f"{key}.json"

    def _load(self, spec: Pass, key: str) -> Any | None:
        path = self._path(spec, key)
        if path is None or not path.is_file():
            return None
        try:
            return TypeAdapter(spec.output).validate_json(path.read_text("utf-8"))
        except ValueError:
            return None  # an old or damaged entry is recomputed

    def _store(self, spec: Pass, key: str, value: Any) -> None:
        path = self._path(spec, key)
        if path is not None:
            text = TypeAdapter(spec.output).dump_json(value, by_alias=True).decode()
            atomic_write_text(path, text, durable=False)  # a damaged entry is recomputed
