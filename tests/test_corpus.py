"""The corpus (`tests/corpus/`): pages and feeds shaped like the real web's, each with its
expected outcome written down in `cases.toml`, checked revision by revision by `watcher
check` against a local server, as an operator's would be."""

from __future__ import annotations

import itertools
import json
import re
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tests.harness import Harness
from tests.samples import CORPUS
from tests.servers import Route, ScriptedServer, reply, static

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
        "significance": {"key_terms": case.get("key_terms", [])},
    }
    return Harness(tmp_path, data, capsys)


def serve(
    case: dict[str, Any],
    revision: str,
    scripted: ScriptedServer,
    served: Iterator[int] | None = None,
) -> None:
    """Serve one revision of the case; a case with `banners` counts its requests in
    `served` across revisions."""
    body = (CORPUS / case["name"] / revision).read_bytes()
    if "banners" in case:
        assert served is not None
        scripted.routes[f"/{case['name']}"] = varying(body, case["banners"], served)
    else:
        scripted.routes[f"/{case['name']}"] = static(body, case.get("content_type"))


def varying(template: bytes, banners: list[str], served: Iterator[int]) -> Route:
    """A page that differs on every request, as a live site's does: `{visits}` counts the
    requests, `{clock}` moves on, `{banner}` rotates through `banners`."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        visit = next(served)
        body = (
            template.replace(b"{visits}", f"{1000 + visit * 7:,}".encode())
            .replace(b"{clock}", f"09:{visit // 60:02d}:{visit % 60:02d}".encode())
            .replace(b"{banner}", banners[(visit - 1) % len(banners)].encode())
        )
        reply(handler, 200, body)

    return route


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
    served = itertools.count(1)
    for revision, expect in zip(case["revisions"], case["expect"], strict=True):
        serve(case, revision, scripted, served)
        _, out = harness.check()
        outcome, detail = outcome_line(out)
        state = harness.sources()["case"]
        where = f"{case['name']} {revision}"
        assert outcome == expect["outcome"], f"{where}: {outcome} {detail}"
        for part in expect.get("detail", []):
            assert part in detail, f"{where}: {part!r} not in {detail!r}"
        if "significance" in expect or "reasons" in expect:  # how much it matters, and why
            number = re.search(r"\(change #(\d+)\)", detail)
            assert number, f"{where}: no change number in {detail!r}"
            found = harness.show(int(number.group(1)))
            low, high = expect.get("significance", [0.0, 1.0])
            assert low <= found["significance"] <= high, f"{where}: {found['significance']}"
            for part in expect.get("reasons", []):
                assert part in found["reasons"], f"{where}: {part!r} not in {found['reasons']}"
        if "shown" in expect:  # the change as `watcher show` prints it, words marked
            number = re.search(r"\(change #(\d+)\)", detail)
            assert number, f"{where}: no change number in {detail!r}"
            _, shown, _ = harness.cli("show", number.group(1))
            for part in expect["shown"]:
                assert part in shown, f"{where}: {part!r} not in\n{shown}"
        if "noise" in expect:
            _, listed, _ = harness.cli("noise", "--json")
            examples = [line["example"] for line in json.loads(listed)[0]["lines"]]
            assert len(examples) == len(expect["noise"]), f"{where}: noise {examples}"
            for part in expect["noise"]:
                assert any(part in example for example in examples), f"{where}: {examples}"
        if "warning" in expect:
            warning = state["last_warning"] or ""
            if expect["warning"]:
                assert expect["warning"] in warning, f"{where}: warning {warning!r}"
                _, table, _ = harness.cli("sources")  # as the operator reads it
                assert "ok, warning" in table
                assert f"warning: {warning[:20]}" in table
            else:
                assert not warning, f"{where}: unexpected warning {warning!r}"
