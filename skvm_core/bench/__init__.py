"""Tasks, graders and (later) the benchmark orchestrator."""
