"""Configurations for tests: the smallest valid one, its mistakes, one source resolved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from watcher.config import ConfigError, Source
from watcher.loading import build_config


def base() -> dict[str, Any]:
    return {
        "service": {"database": "sqlite:///data/x.db"},
        "countries": [
            {
                "code": "VN",
                "name": "Vietnam",
                "sources": [
                    {"url": "https://monitor.example/cp/vietnam.html", "select": "#content"}
                ],
            }
        ],
    }


def errors_of(data: dict[str, Any], environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        build_config(data, environ or {}, Path("watcher.toml"))
    return caught.value.problems


def only_error(data: dict[str, Any], environ: dict[str, str] | None = None) -> str:
    problems = errors_of(data, environ)
    assert len(problems) == 1, problems
    assert "\n" not in problems[0]
    return problems[0]


def source(**settings: Any) -> Source:
    settings.setdefault("url", "https://monitor.example/page.html")
    data = {"countries": [{"code": "VN", "name": "Vietnam", "sources": [settings]}]}
    return build_config(data, {}, None).sources[0]
