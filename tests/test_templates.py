"""Every template, rendered with hostile text in every value, parses strictly as what it is.

Each template's variables are filled with `Hostile`: an object that answers any attribute,
item, call or loop with more of itself and prints as markup, `]]>`, control characters and a
bidi override. Whatever a template does with remote text, the output must be: HTML whose
only elements are the template's own, Atom that parses as strict XML with watcher's elements
only, plain text without a control character or bidi override.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import lxml.etree
import lxml.html
import pytest
from jinja2 import meta

import watcher
from watcher.render.templates import environment

HOSTILE = (
    "<script>alert(1)</script><b onmouseover='x'>b</b></summary></entry>"
    "<entry><link href='https://evil.example/'/> ]]> & &amp; \x1b[2J\x07\x00\x9b \u202egnp.exe"
)
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class Hostile(str):
    """Prints as hostile text; any attribute, item, call or loop gives more of the same."""

    def __new__(cls, depth: int = 0) -> Hostile:
        made = super().__new__(cls, HOSTILE)
        made.depth = depth
        return made

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return Hostile(self.depth + 1)

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        return Hostile(self.depth + 1)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return Hostile(self.depth + 1)

    def __iter__(self) -> Any:  # type: ignore[override]
        # Two of each (a pair unpacks: `for old, new in ...`), a few levels deep.
        return iter([Hostile(self.depth + 1), Hostile(self.depth + 1)] if self.depth < 3 else [])

    def __contains__(self, item: object) -> bool:  # type: ignore[override]
        return False


def templates(layer: str) -> list[tuple[Path, str]]:
    folder = Path(watcher.__file__).parent / layer / "templates"
    return [(folder, path.name) for path in sorted(folder.iterdir()) if path.is_file()]


ALL = templates("web") + templates("notify")


@pytest.mark.parametrize(("folder", "name"), ALL, ids=[name for _, name in ALL])
def test_hostile_text_stays_text(folder: Path, name: str) -> None:
    from jinja2 import FileSystemLoader

    env = environment(FileSystemLoader(folder))
    for filter_name in ("local", "atomtime", "safe_url", "keywords", "keywords_text", "score"):
        env.filters.setdefault(filter_name, lambda value, *args: value)
    names: set[str] = set()  # the template's own, and those of what it extends or includes
    for other in env.list_templates():
        names |= meta.find_undeclared_variables(env.parse(env.loader.get_source(env, other)[0]))
    output = env.get_template(name).render({key: Hostile() for key in names})
    assert not FORBIDDEN.search(output), name
    if name.endswith(".txt"):
        return
    if name.endswith(".atom"):
        root = lxml.etree.fromstring(output.encode())
        assert all(
            element.tag.startswith("{http://www.w3.org/2005/Atom}")
            for element in root.iter()
            if isinstance(element.tag, str)
        )
        assert "]]>" in "".join(root.itertext())
        return
    assert "<script>alert(1)</script>" not in output, name
    root = lxml.html.fragment_fromstring(output, create_parent="div")
    tags = {element.tag for element in root.iter() if isinstance(element.tag, str)}
    assert not tags & {"entry", "summary"}, (name, tags)
    for script in root.iter("script"):  # only watcher's own files (/api/docs), never inline
        assert script.get("src", "").startswith("/"), (name, script.get("src"))
        assert not (script.text or "").strip(), name
    for element in root.iter():
        if isinstance(element.tag, str):
            assert not any(key.startswith("on") for key in element.attrib), name
