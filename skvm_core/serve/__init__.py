"""A local OpenAI-compatible server in front of any model SkVM can call, so external agent
harnesses (OpenCode, Codex CLI) drive our models; their model calls are recorded."""

from skvm_core.serve.server import ModelServer, ServedCall

__all__ = ["ModelServer", "ServedCall"]
