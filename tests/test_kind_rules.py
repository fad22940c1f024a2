"""The configuration's rules for sources come from what each kind declares
(`extract/kinds/rules.py`): every rule the kinds had, each problem naming its key, and a new
kind accepted, with its own selector language, by registering it alone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.configs import base, errors_of, only_error, source
from watcher.config.model import SourceConfig
from watcher.extract.document import Line, PageDocument
from watcher.extract.kinds import KINDS, Reading, Syntax
from watcher.extract.kinds.rules import kind_names, source_kind

PLACE = "watcher.toml: countries[0].sources[0]"


@pytest.mark.parametrize(
    ("settings", "key", "words"),
    [
        ({"kind": "page", "match": "x"}, "", "'match' does not apply to kind = 'page'"),
        ({"kind": "feed", "select": "#x"}, "", "'select' does not apply to kind = 'feed'"),
        (
            {"kind": "feed", "select": "#x", "exclude": [".ad"]},
            "",
            "'select' and 'exclude' do not apply to kind = 'feed'",
        ),
        ({"kind": "json", "select": "#x"}, "", "selects with a jq program: select = 'jq:.path'"),
        ({"kind": "json", "exclude": [".ad"]}, "", "'exclude' does not apply to kind = 'json'"),
        ({"kind": "pdf", "match": "x"}, "", "'match' does not apply to kind = 'pdf'"),
        ({"kind": "page", "select": "jq:.a"}, "", "a jq program selects from JSON"),
        ({"kind": "page", "exclude": ["jq:.a"]}, "", "a jq program selects from JSON"),
        ({"fetch": "browser", "kind": "pdf"}, "", "fetch = 'browser' is for HTML"),
        ({"fetch": "browser", "select": "jq:.a"}, "", "cannot be used with kind = 'json'"),
        ({"exclude": ["#ok", "div[["]}, ".exclude[1]", "invalid CSS selector"),
        ({"select": "jq:"}, ".select", "empty jq program"),
        ({"kind": "yaml"}, ".kind", "use 'auto', 'page', 'sitemap', 'feed', 'json' or 'pdf'"),
    ],
)
def test_a_source_asking_its_kind_for_what_it_does_not_declare_names_the_key(
    settings: dict[str, Any], key: str, words: str
) -> None:
    data = base()
    data["countries"][0]["sources"][0] = {"url": "https://monitor.example/x", **settings}
    message = only_error(data)
    assert message.startswith(f"{PLACE}{key}: "), message
    assert words in message


def test_an_auto_source_is_the_kind_its_options_claim() -> None:
    assert source(match="Viet").kind == "feed"
    assert source(select="jq:.countries").kind == "json"
    assert source(select="#content").kind == "auto"  # CSS claims nothing: detected at fetch
    assert source().kind == "auto"
    assert source(kind="pdf").kind == "pdf"


def test_every_problem_of_every_source_is_named_at_once() -> None:
    data = base()
    data["countries"][0]["sources"] = [
        {"url": "https://monitor.example/a", "select": "div[["},
        {"url": "https://monitor.example/b", "kind": "feed", "select": "#x"},
    ]
    problems = errors_of(data)
    assert [problem.split(": ")[1] for problem in problems] == [
        "countries[0].sources[0].select",
        "countries[0].sources[1]",
    ]


class YamlKind:
    """A kind the configuration has never heard of, registered as a new module would be."""

    name = "yaml"
    what = "YAML"
    media_types: tuple[str, ...] = ("application/yaml",)
    options: frozenset[str] = frozenset({"select"})
    selector: Syntax | None = Syntax("a YAML path", "yaml:", "yaml:countries.VN", lambda _: None)
    claims: frozenset[str] = frozenset()
    fetches: tuple[str, ...] = ("http",)

    def sniff(self, body: bytes, media: str) -> bool:
        return media == "application/yaml"

    def read(self, reading: Reading) -> tuple[PageDocument, None]:
        text = reading.body.decode()
        return PageDocument(lines=(Line((), "text", text),)), None


def test_a_new_kind_is_one_registration_and_the_configuration_knows_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(KINDS, "yaml", YamlKind())
    assert "yaml" in kind_names()
    assert KINDS["yaml"].read(Reading(b"a: 1", "application/yaml", source()))[0] is not None
    assert source(kind="yaml", select="yaml:countries.VN").kind == "yaml"
    claimed = SourceConfig(url="https://monitor.example/x", select="yaml:a")
    assert source_kind(claimed) == "yaml"  # its own prefix claims an auto source
    data = base()
    data["countries"][0]["sources"][0] = {
        "url": "https://x.example/y",
        "kind": "yaml",
        "match": "a",
    }
    assert "'match' does not apply to kind = 'yaml'" in only_error(data)
    data["countries"][0]["sources"][0] = {"url": "https://x.example/y", "select": "yaml:a"}
    data["countries"][0]["sources"][0]["kind"] = "page"
    assert "a YAML path selects from YAML; it cannot be used with kind = 'page'" in only_error(data)
