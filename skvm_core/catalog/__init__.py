"""The 26 primitive capabilities, loaded from `primitives.toml`."""

from skvm_core.catalog.model import (
    CATEGORIES,
    LEVELS,
    Catalog,
    Level,
    Primitive,
    level_index,
    load_catalog,
)

__all__ = ["CATEGORIES", "LEVELS", "Catalog", "Level", "Primitive", "level_index", "load_catalog"]
