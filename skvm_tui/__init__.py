"""The SkVM terminal workbench (Textual). Talks to the pipeline only through skvm_core."""
