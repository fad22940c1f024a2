"""One error tree (`watcher/errors.py`): every exception watcher raises on purpose is a
`WatcherError`, so a caller can catch watcher's own failures apart from everyone else's."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import watcher
from watcher.errors import WatcherError

# Not raised: the worker's traceback text, carried as the cause of what a task raised.
NOT_RAISED = {"watcher.extract.bounded._RemoteTraceback"}


def exception_classes() -> dict[str, type[BaseException]]:
    found = {}
    for info in pkgutil.walk_packages(watcher.__path__, "watcher."):
        if ".migrations" in info.name or info.name == "watcher.__main__":
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ):
                found[f"{module.__name__}.{name}"] = value
    return found


def test_every_error_watcher_raises_on_purpose_is_in_the_tree() -> None:
    classes = exception_classes()
    assert "watcher.config.loader.ConfigError" in classes  # the walk reaches every module
    outside = {
        name
        for name, cls in classes.items()
        if not issubclass(cls, WatcherError) and name not in NOT_RAISED
    }
    assert not outside, f"not a WatcherError: {sorted(outside)}"


def test_the_trees_documentation_names_every_branch() -> None:
    import watcher.errors as errors

    documented = errors.__doc__ or ""
    for name, cls in exception_classes().items():
        if name in NOT_RAISED or cls.__name__.startswith("_"):
            continue
        assert cls.__name__ in documented, f"{name} is not in errors.py's tree"
