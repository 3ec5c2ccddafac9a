"""Workspace paths and atomic writes."""

from skvm_core.store.atomic import atomic_write_bytes, atomic_write_text

__all__ = ["atomic_write_bytes", "atomic_write_text"]
