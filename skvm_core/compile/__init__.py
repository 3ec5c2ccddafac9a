"""The ahead-of-time compiler: skill + target profile → variant."""

from skvm_core.compile.pipeline import PASSES, CompileResult, compile_skill
from skvm_core.compile.variant import materialize_variant, variant_dir, write_variant

__all__ = [
    "PASSES",
    "CompileResult",
    "compile_skill",
    "materialize_variant",
    "variant_dir",
    "write_variant",
]
