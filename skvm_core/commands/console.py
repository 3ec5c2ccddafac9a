"""The CLI's console: as wide as the terminal, and wide enough in a pipe or a CI log.

Rich assumes 80 columns when output is not a terminal, which squeezes a bench table's
cells to `local… │ origi…`. A pipe has no width, so tables get room for their columns
(COLUMNS, when set, still wins).
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

PIPE_WIDTH = 200


def cli_console(**options) -> Console:
    piped = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(highlight=False, width=PIPE_WIDTH if piped else None, **options)
