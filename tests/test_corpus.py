"""The corpus (`tests/corpus/`): pages and feeds shaped like the real web's, each with its
expected outcome written down in `cases.toml`, checked revision by revision by `watcher
check` against a local server, as an operator's would be."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.harness import Harness
from tests.servers import ScriptedServer, static

CORPUS = Path(__file__).parent / "corpus"
CASES = tomllib.loads((CORPUS / "cases.toml").read_text())["case"]


def corpus_harness(
    case: dict[str, Any], scripted: ScriptedServer, tmp_path: Path, capsys: Any
) -> Harness:
    source = {"id": "case", "url": scripted.url(f"/{case['name']}"), **case.get("source", {})}
    if "kind" in case:
        source["kind"] = case["kind"]
    data = {
        "service": {"database": f"sqlite:///{tmp_path / 'w.db'}"},
        "checks": {"timeout": "5s"},
        "countries": [{"code": "VN", "name": "Vietnam", "sources": [source]}],
    }
    return Harness(tmp_path, data, capsys)


def serve(case: dict[str, Any], revision: str, scripted: ScriptedServer) -> None:
    body = (CORPUS / case["name"] / revision).read_bytes()
    scripted.routes[f"/{case['name']}"] = static(body, case.get("content_type"))


def outcome_line(out: str) -> tuple[str, str]:
    """`watcher check`'s line for the one source: its outcome and its detail."""
    for line in out.splitlines():
        words = line.split(None, 2)
        if len(words) == 3 and words[1] == "case":
            return words[0], words[2]
    raise AssertionError(f"no line for the source in:\n{out}")


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_the_corpus(
    case: dict[str, Any],
    scripted: ScriptedServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    harness = corpus_harness(case, scripted, tmp_path, capsys)
    assert len(case["expect"]) == len(case["revisions"])
    for revision, expect in zip(case["revisions"], case["expect"], strict=True):
        serve(case, revision, scripted)
        _, out = harness.check()
        outcome, detail = outcome_line(out)
        state = harness.sources()["case"]
        where = f"{case['name']} {revision}"
        assert outcome == expect["outcome"], f"{where}: {outcome} {detail}"
        for part in expect.get("detail", []):
            assert part in detail, f"{where}: {part!r} not in {detail!r}"
        if "warning" in expect:
            warning = state["last_warning"] or ""
            if expect["warning"]:
                assert expect["warning"] in warning, f"{where}: warning {warning!r}"
                _, table, _ = harness.cli("sources")  # as the operator reads it
                assert "ok, warning" in table
                assert f"warning: {warning[:20]}" in table
            else:
                assert not warning, f"{where}: unexpected warning {warning!r}"
