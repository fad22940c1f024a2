"""Why extraction failed: a reason fit to show an operator, never a crash."""

from watcher.errors import CheckError


class ExtractError(CheckError):
    """The response cannot be turned into a document; the check fails with this reason."""

    step = "extracting"
