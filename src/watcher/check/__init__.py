"""Checking: one source end to end (pipeline), many at once (a pass), and their timing."""

from watcher.check.pipeline import Outcome, check_source
from watcher.check.run import PassResult, UnknownSource, run_pass

__all__ = ["Outcome", "PassResult", "UnknownSource", "check_source", "run_pass"]
