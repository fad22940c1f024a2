"""`python -m watcher` is the `watcher` command."""

from watcher.cli import console

console()
