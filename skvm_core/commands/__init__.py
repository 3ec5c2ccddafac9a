"""CLI command implementations (imported lazily by `skvm_core.cli`)."""
