"""The house's layers (issue 26): each package imports only the layers below it.

    errors, text, logs, packing, metrics   the ground: no other part of watcher
    config                                 the configuration, as plain data
    fetch, extract                         bytes from the network; documents from bytes
    diff                                   document -> document -> change
    store                                  the database
    render                                 changes and records for people and machines
    check, notify                          one pass of checks; telling readers
    app, loading, desk                     the parts opened once; the configuration with
                                           the registries' rules; what an operator does by
                                           hand (sources, history, readers)
    service, web, cli, demo                the programs

Every import counts, at the top of a module, inside a function or for type checking only:
none goes against the order, and no modules import each other in a loop (a package's
registry imports its kinds; the kinds share a vocabulary module beside it, never the
registry).
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
    ("watcher.app", "watcher.loading", "watcher.desk"),
    ("watcher.service", "watcher.web", "watcher.cli", "watcher.demo", "watcher.__main__"),
)


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


def test_every_import_goes_down_the_layers() -> None:
    edges = graph()
    against = {
        (module, target)
        for module, targets in edges.items()
        for target in targets
        if target in edges and layer(target) > layer(module)
    }
    assert against == set(), "imports against the layers"


def test_no_modules_import_each_other_in_a_loop() -> None:
    assert loops(graph()) == set()


def test_the_layer_check_sees_imports_inside_functions_and_for_types() -> None:
    edges = graph()
    assert "watcher.extract.kinds.rules" in edges["watcher.loading"]  # inside a function
    assert "watcher.notify.compose" in edges["watcher.notify.parts"]  # under TYPE_CHECKING


def test_the_checks_find_what_they_look_for() -> None:
    """The same checks on a made-up house: an import up a layer, and a loop."""
    edges = {
        "watcher.config.loader": {"watcher.notify.channels"},
        "watcher.notify.channels": {"watcher.notify.channels.email"},
        "watcher.notify.channels.email": {"watcher.notify.channels"},
    }
    against = {(m, t) for m, ts in edges.items() for t in ts if layer(t) > layer(m)}
    assert against == {("watcher.config.loader", "watcher.notify.channels")}
    assert loops(edges) == {frozenset({"watcher.notify.channels", "watcher.notify.channels.email"})}
