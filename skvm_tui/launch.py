"""`skvm workbench`: the CLI names this handler by string, so the core never imports the UI."""

from __future__ import annotations

import argparse


def cmd_workbench(args: argparse.Namespace) -> int:
    from skvm_tui.app import run_workbench

    targets = [t.strip() for t in args.targets.split(",") if t.strip()] if args.targets else None
    parallel = getattr(args, "parallel", None)
    if parallel:
        from skvm_core.run.fanout import parse_parallel

        parallel = str(parse_parallel(parallel))  # a bad value fails here, before the UI opens
    return run_workbench(args.skill, targets, parallel)
