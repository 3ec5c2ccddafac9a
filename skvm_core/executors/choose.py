"""Choosing an executor by name; the one module that knows every kind (the kinds know only
`base`)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

from skvm_core.errors import SkvmError
from skvm_core.executors.base import Executor


def make_executor(spec: str | None) -> Executor:
    """`local` (default), `ray` (join `RAY_ADDRESS` if set, else start a local instance) or
    `ray://HOST:PORT` (join that cluster)."""
    spec = (spec or "local").strip()
    if spec == "local":
        from skvm_core.executors.local import LocalExecutor

        return LocalExecutor()
    if spec == "ray" or spec.startswith("ray://"):
        from skvm_core.executors.ray_executor import RayExecutor

        address = spec if spec.startswith("ray://") else os.environ.get("RAY_ADDRESS")
        return RayExecutor(address)
    raise SkvmError(
        f"unknown executor {spec!r}", hint="use local, ray, or ray://HOST:PORT for a cluster"
    )


async def with_executor(spec: str | None, work: Callable[[Executor], Awaitable[Any]]) -> Any:
    """Run `work(executor)` on the chosen executor (default: the configuration's), and
    always release it."""
    from skvm_core.config import load_config

    executor = make_executor(spec or load_config().executor)
    try:
        return await work(executor)
    finally:
        await executor.close()
