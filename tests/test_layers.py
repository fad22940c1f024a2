"""The house's layers (issue 26): each package imports only the layers below it.

    errors, text, logs, packing, metrics   the ground: no other part of watcher
    config                                 the configuration, as plain data
    fetch, extract                         bytes from the network; documents from bytes
    diff                                   document -> document -> change
    store                                  the database
    render                                 changes and records for people and machines
    check, notify                          one pass of checks; telling readers
    app                                    the parts opened once (to be narrowed away)
    service, web, cli, demo                the programs

Every import counts, at the top of a module, inside a function or for type checking only.
The imports that still go against the order, and the modules that still import each other
in a loop, are listed here by name: a new one fails the test, and so does one that is gone
but still listed (strike it), so the lists only shrink until the redesign is done.
"""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "src"

LAYERS = (
    ("watcher", "watcher.errors", "watcher.text", "watcher.logs", "watcher.packing"),
    ("watcher.metrics",),
    ("watcher.config",),
    ("watcher.fetch", "watcher.extract"),
    ("watcher.diff",),
    ("watcher.store",),
    ("watcher.render",),
    ("watcher.check", "watcher.notify"),
    ("watcher.app",),
    ("watcher.service", "watcher.web", "watcher.cli", "watcher.demo", "watcher.__main__"),
)

# (importer, imported) pairs against the order, as of the start of issue 26's redesign,
# less those mended since.
AGAINST_THE_ORDER = {
    ("watcher.check.pipeline", "watcher.app"),
    ("watcher.check.run", "watcher.app"),
    ("watcher.config.loader", "watcher.notify.channels"),
    ("watcher.config.model", "watcher.extract.kinds.json"),
    ("watcher.config.model", "watcher.extract.select"),
    ("watcher.notify.channels", "watcher.app"),
    ("watcher.notify.channels.chat", "watcher.app"),
    ("watcher.notify.channels.email", "watcher.app"),
    ("watcher.notify.channels.webhook", "watcher.app"),
    ("watcher.notify.mailer", "watcher.app"),
    ("watcher.notify.outbox", "watcher.app"),
}

# Modules in import loops (each loop as its set of modules), likewise.
LOOPS = {
    frozenset(
        {
            "watcher.app",
            "watcher.config",
            "watcher.config.loader",
            "watcher.notify.channels",
            "watcher.notify.channels.chat",
            "watcher.notify.channels.email",
            "watcher.notify.channels.webhook",
            "watcher.notify.compose",
            "watcher.render.json",
        }
    ),
    frozenset(
        {
            "watcher.config.model",
            "watcher.config.sources",
            "watcher.extract.feed",
            "watcher.extract.kinds",
            "watcher.extract.kinds.feed",
            "watcher.extract.kinds.json",
            "watcher.extract.kinds.page",
            "watcher.extract.kinds.pdf",
            "watcher.extract.page",
        }
    ),
    frozenset(
        {
            "watcher.web.api",
            "watcher.web.app",
            "watcher.web.editors",
            "watcher.web.health",
            "watcher.web.pages",
            "watcher.web.personal",
            "watcher.web.subscriptions",
        }
    ),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in (SOURCE / "watcher").rglob("*.py")}


def imports(path: Path, known: set[str]) -> set[str]:
    """The watcher modules `path` imports, anywhere in it (`from a import b` counts as the
    module `a.b` when there is one, else `a`)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in known
                else node.module
                for alias in node.names
            ]
        else:
            continue
        found |= {name for name in names if name.split(".")[0] == "watcher"}
    return found


def layer(module: str) -> int:
    best, length = -1, -1
    for number, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            fits = module == prefix or module.startswith(prefix + ".")
            if fits and len(prefix) > length:
                best, length = number, len(prefix)
    assert best >= 0, f"{module} is in no layer: place it in LAYERS"
    return best


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {
        module: {target for target in imports(path, known) if target != module}
        for module, path in found.items()
    }


def loops(edges: dict[str, set[str]]) -> set[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan's)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.add(frozenset(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_import_goes_down_the_layers_but_those_listed() -> None:
    edges = graph()
    against = {
        (module, target)
        for module, targets in edges.items()
        for target in targets
        if target in edges and layer(target) > layer(module)
    }
    assert not against - AGAINST_THE_ORDER, "new imports against the layers"
    assert not AGAINST_THE_ORDER - against, "gone (strike them from AGAINST_THE_ORDER)"


def test_no_modules_import_each_other_in_a_loop_but_those_listed() -> None:
    found = loops(graph())
    assert not found - LOOPS, "new import loops"
    assert not LOOPS - found, "loops gone or changed (update LOOPS)"


def test_the_layer_check_sees_imports_inside_functions_and_for_types() -> None:
    edges = graph()
    assert "watcher.notify.channels" in edges["watcher.config.loader"]  # inside a function
    assert "watcher.app" in edges["watcher.notify.channels"]  # under TYPE_CHECKING
