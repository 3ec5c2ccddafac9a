"""SkVM core: profile models, compile skills per target, run and benchmark them.

Importing this package must stay cheap: it never imports litellm or textual (a test
enforces this), so the CLI and the workbench can start before any model code loads.
"""

from skvm_core.errors import SkvmError

__all__ = ["SkvmError", "__version__"]
__version__ = "0.1.0"
