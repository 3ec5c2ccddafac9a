"""The executor interface, the resources a job asks for, and the retry-once rule."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from pydantic import BaseModel

Job = Callable[..., Awaitable[Any]]


class WorkerLost(Exception):
    """The process running a job died (killed, out of memory, node lost)."""


class Resources(BaseModel):
    """What one job needs where it runs. A local model's runs need its threads as CPUs and a
    node that holds its weights; an API model's runs need one CPU, and are limited per
    provider by the caller, not per node."""

    cpus: float = 1.0
    memory_mb: int | None = None
    gpus: float = 0.0
    local_model: str | None = None  # placement: only nodes that hold the embedded weights


# A node that holds the embedded models' weights declares this Ray resource (the local
# instance the executor starts does so itself; see README, "Running on a Ray cluster").
WEIGHTS_RESOURCE = "skvm_local_models"


def resources_for(model: str) -> Resources:
    from skvm_core.llm.models import provider_of

    if provider_of(model) == "local":
        threads = int(os.environ.get("SKVM_LOCAL_THREADS") or 1)
        # About the weights plus the context of one in-process model.
        return Resources(cpus=float(threads), memory_mb=2_048, local_model=model)
    return Resources(cpus=1.0, memory_mb=512)


class Executor(Protocol):
    name: str

    async def call(self, job: Job, *args: Any, resources: Resources) -> Any:
        """`await job(*args)` wherever this executor runs work; raises WorkerLost when the
        process running it died."""
        ...

    async def close(self) -> None: ...


async def call_with_retry(
    executor: Executor, job: Job, *args: Any, resources: Resources
) -> tuple[Any, int]:
    """Run a job; a lost worker gets one retry (Ray places it anew). Returns (result, how
    many workers were lost); a second loss raises WorkerLost."""
    try:
        return await executor.call(job, *args, resources=resources), 0
    except WorkerLost:
        return await executor.call(job, *args, resources=resources), 1
