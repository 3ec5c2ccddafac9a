"""Skills: load a folder, validate it against the Agent Skills rules, build its markdown IR."""

from skvm_core.skill.load import content_hash, load_skill
from skvm_core.skill.model import (
    BundleFile,
    CodeBlock,
    Diagnostic,
    FrontMatter,
    ListItem,
    MarkdownIR,
    MarkdownList,
    Section,
    Skill,
    Span,
)

__all__ = [
    "BundleFile",
    "CodeBlock",
    "Diagnostic",
    "FrontMatter",
    "ListItem",
    "MarkdownIR",
    "MarkdownList",
    "Section",
    "Skill",
    "Span",
    "content_hash",
    "load_skill",
]
