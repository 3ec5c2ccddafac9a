"""Where profile instances and bench runs execute: this process (`local`, the default) or a
Ray cluster (`ray`, `ray://HOST:PORT`). Results, records and resume rules are the same
whichever runs them; only the place changes."""

from skvm_core.executors.base import (
    Executor,
    Resources,
    WorkerLost,
    call_with_retry,
    resources_for,
)
from skvm_core.executors.choose import make_executor, with_executor

__all__ = [
    "Executor",
    "Resources",
    "WorkerLost",
    "call_with_retry",
    "make_executor",
    "resources_for",
    "with_executor",
]
