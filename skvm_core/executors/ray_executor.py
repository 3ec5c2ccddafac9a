"""Run jobs as Ray tasks: on a local Ray instance this executor starts, or on an existing
cluster (`ray://HOST:PORT`, or `RAY_ADDRESS`). Ray is imported only here, and only when
this executor is chosen (`pip install 'skvm-workbench[ray]'`).

A job is a module-level coroutine function and picklable arguments, run by a pool of async
actors, one pool per kind of resources: actors for API-model runs take many runs at once,
actors for a local model's runs take one (with the model's threads as CPUs, on a node that
holds the weights). Ray's own retries are off: a dead actor is reported as WorkerLost and
replaced, so the caller decides (one retry, then an infrastructure-tainted record).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from skvm_core.errors import SkvmError
from skvm_core.executors.base import WEIGHTS_RESOURCE, Job, Resources, WorkerLost

IO_RUNS_PER_ACTOR = 16


class _Runner:
    """An async actor that runs jobs on its own event loop, many at once for IO-bound runs
    (an API model mostly waits), one at a time for a local model's. Its process keeps the
    heavy imports and a loaded local model warm between runs."""

    async def run(self, job: Job, *args: Any) -> Any:
        return await job(*args)


class RayExecutor:
    name = "ray"

    def __init__(self, address: str | None = None) -> None:
        try:
            import ray
        except ImportError as exc:
            raise SkvmError(
                "the ray executor needs Ray, which is not installed",
                hint="pip install 'skvm-workbench[ray]' (or use --executor local)",
            ) from exc
        self._ray = ray
        self.address = address
        self.started = False
        if not ray.is_initialized():
            try:
                if address:
                    ray.init(address=address, log_to_driver=False)
                else:
                    # A local instance: this machine's CPUs, and it holds the embedded weights.
                    ray.init(
                        num_cpus=os.cpu_count() or 1,
                        resources={WEIGHTS_RESOURCE: 1_000},
                        include_dashboard=False,
                        log_to_driver=False,
                    )
            except Exception as exc:  # ray raises plain ConnectionError/RuntimeError
                where = address or "a local Ray instance"
                raise SkvmError(
                    f"could not start or join {where}: {exc}",
                    hint="check the address (ray://HOST:10001) and that the cluster runs the same Ray version",
                ) from exc
            self.started = True
        self._actor_class = ray.remote(_Runner)
        self._pools: dict[tuple, list[Any]] = {}
        self._busy: dict[Any, int] = {}
        self._lost = (
            ray.exceptions.RayActorError,
            ray.exceptions.WorkerCrashedError,
            ray.exceptions.NodeDiedError,
            ray.exceptions.LocalRayletDiedError,
            ray.exceptions.OutOfMemoryError,
        )

    def _actor(self, resources: Resources) -> Any:
        """The least busy actor for these resources; a new one when all are at capacity."""
        key = (resources.cpus, resources.memory_mb, resources.gpus, resources.local_model)
        pool = self._pools.setdefault(key, [])
        capacity = 1 if resources.local_model else IO_RUNS_PER_ACTOR
        free = [a for a in pool if self._busy[a] < capacity]
        if free:
            return min(free, key=lambda a: self._busy[a])
        actor = self._actor_class.options(**self._options(resources)).remote()
        pool.append(actor)
        self._busy[actor] = 0
        return actor

    def _retire(self, actor: Any) -> None:
        for pool in self._pools.values():
            if actor in pool:
                pool.remove(actor)
        self._busy.pop(actor, None)

    def _options(self, resources: Resources) -> dict[str, Any]:
        capacity = 1 if resources.local_model else IO_RUNS_PER_ACTOR
        # An IO-bound actor reserves one CPU for all its runs; a local model's, its threads.
        options: dict[str, Any] = {
            "num_cpus": resources.cpus,
            "max_restarts": 0,
            "max_concurrency": capacity,
        }
        if resources.memory_mb:
            options["memory"] = resources.memory_mb * 1024 * 1024 * (1 if capacity == 1 else 2)
        if resources.gpus:
            options["num_gpus"] = resources.gpus
        if resources.local_model:
            # A sliver of the marker resource: placement only, never a limit.
            options["resources"] = {WEIGHTS_RESOURCE: 0.001}
        return options

    async def call(self, job: Job, *args: Any, resources: Resources) -> Any:
        actor = self._actor(resources)
        self._busy[actor] += 1
        ref = actor.run.remote(job, *args)
        try:
            return await asyncio.wrap_future(ref.future())
        except self._lost as exc:
            self._retire(actor)  # the next call gets a new actor, placed anew
            raise WorkerLost(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc
        except self._ray.exceptions.RayTaskError as exc:
            # The job raised: hand its own exception back, as the local executor would.
            cause = exc.as_instanceof_cause()
            raise cause from None
        except asyncio.CancelledError:
            self._ray.cancel(ref)
            raise
        finally:
            if actor in self._busy:
                self._busy[actor] -= 1

    async def close(self) -> None:
        for pool in self._pools.values():
            for actor in pool:
                self._ray.kill(actor)
        self._pools.clear()
        self._busy.clear()
        if self.started:
            self._ray.shutdown()
            self.started = False
