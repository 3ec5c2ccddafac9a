"""Compile-time checks cached per unit of work, and run together.

Each check (a command on a layout of files, expecting some outputs) is keyed by exactly what
it reads: the command, every file's bytes, the outputs it must write, its time limit and the
sandbox it runs in. So an edit to a prose line re-runs no check, and a check shared by two
passes or two targets runs once. The checks a pass asks for at once run concurrently, bounded
by the cores; results come back in the order asked.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from skvm_core.agent.sandbox import sandbox_mode
from skvm_core.compile.verify import (
    VERIFY_TIMEOUT_S,
    Verification,
    run_sync,
    verify_command_async,
)
from skvm_core.store.atomic import atomic_write_text


@dataclass(frozen=True)
class Check:
    command: str
    files: dict[str, bytes]
    outputs: list[str] = field(default_factory=list)
    timeout_s: float = VERIFY_TIMEOUT_S

    def key(self) -> str:
        mode = sandbox_mode()
        payload = {
            "command": self.command,
            "files": sorted((p, hashlib.sha256(c).hexdigest()) for p, c in self.files.items()),
            "outputs": self.outputs,
            "timeout": self.timeout_s,
            "sandbox": [mode.kind, mode.bwrap],
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class Verifier:
    """Runs checks in the sandbox once per content key; remembers them in memory and, with
    a cache folder, on disk across processes."""

    def __init__(self, cache_dir: Path | None = None, concurrency: int | None = None) -> None:
        self.cache_dir = cache_dir
        self.concurrency = max(1, concurrency or os.cpu_count() or 1)
        self.remembered: dict[str, Verification] = {}
        self.sandbox_runs = 0  # checks actually run (the rest came from the cache)

    def verify(
        self,
        command: str,
        files: dict[str, bytes],
        outputs: list[str] | None = None,
        *,
        timeout_s: float = VERIFY_TIMEOUT_S,
    ) -> Verification:
        return self.verify_all([Check(command, files, list(outputs or []), timeout_s)])[0]

    def verify_all(self, checks: list[Check]) -> list[Verification]:
        keys = [c.key() for c in checks]
        results: dict[str, Verification] = {}
        pending: dict[str, Check] = {}
        for key, check in zip(keys, checks, strict=True):
            found = self._recall(key)
            if found is not None:
                results[key] = found
            else:
                pending.setdefault(key, check)
        if pending:
            ran = run_sync(self._run(list(pending.values())))
            for key, verification in zip(pending, ran, strict=True):
                self.sandbox_runs += 1
                results[key] = verification
                if verification.evidence != "timed out":  # a timeout may not repeat: no cache
                    self._remember(key, verification)
        return [results[k] for k in keys]

    async def _run(self, checks: list[Check]) -> list[Verification]:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(check: Check) -> Verification:
            async with gate:
                return await verify_command_async(
                    check.command, check.files, check.outputs, timeout_s=check.timeout_s
                )

        return list(await asyncio.gather(*(one(c) for c in checks)))

    def _path(self, key: str) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / f"{key}.json"

    def _recall(self, key: str) -> Verification | None:
        if key in self.remembered:
            return self.remembered[key]
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            found = Verification.model_validate_json(path.read_text("utf-8"))
        except (ValidationError, OSError, ValueError):
            return None  # a damaged entry is run again
        self.remembered[key] = found
        return found

    def _remember(self, key: str, verification: Verification) -> None:
        self.remembered[key] = verification
        path = self._path(key)
        if path is not None:
            atomic_write_text(path, verification.model_dump_json(), durable=False)
