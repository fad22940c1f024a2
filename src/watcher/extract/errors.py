"""Why extraction failed: a reason fit to show an operator, never a crash."""


class ExtractError(Exception):
    """The response cannot be turned into a document; the check fails with this reason."""
