"""The one error type users see.

Everything a user can cause (a malformed skill, an unknown model, a missing key, a
provider fault) is raised as `SkvmError` with a message that says what happened and a
hint that says what to do. The CLI prints it without a traceback; the TUI shows it as a
notification. Subclasses only classify; they never change how the error is shown.
"""

from __future__ import annotations

# Process exit codes of the `skvm` command: success, a failed check or run, and a usage or
# infrastructure error (bad input, missing key, unknown model).
EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class SkvmError(Exception):
    """A problem the user can act on."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class SkillError(SkvmError):
    """A skill folder cannot be loaded."""


class ConfigError(SkvmError):
    """A configuration file or value is invalid."""


class ModelError(SkvmError):
    """A model id is unknown or its provider is not usable (missing key, missing extra)."""


class InfraError(SkvmError):
    """The provider failed after retries (429, 5xx, timeout): not the model's fault."""

    def __init__(self, message: str, *, hint: str | None = None, status: int | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
