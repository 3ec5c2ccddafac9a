"""Run jobs in this process, on its event loop (today's pool; no extra dependency)."""

from __future__ import annotations

from typing import Any

from skvm_core.executors.base import Job, Resources


class LocalExecutor:
    name = "local"

    async def call(self, job: Job, *args: Any, resources: Resources) -> Any:
        return await job(*args)

    async def close(self) -> None:
        return None
