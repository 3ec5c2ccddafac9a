"""The agent harness: bare agent loop, sandboxed tools, hooks, trace events."""
