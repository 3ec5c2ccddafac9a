"""`skvm workbench`: the CLI names this handler by string, so the core never imports the UI."""

from __future__ import annotations

import argparse


def cmd_workbench(args: argparse.Namespace) -> int:
    from skvm_tui.app import run_workbench

    targets = [t.strip() for t in args.targets.split(",") if t.strip()] if args.targets else None
    return run_workbench(args.skill, targets)
