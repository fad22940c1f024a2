"""The README stays true: every setting, every command and every link it mentions exists."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from watcher.cli import build_parser
from watcher.config.model import (
    ChecksConfig,
    MailConfig,
    ServiceConfig,
    SignificanceConfig,
    SourceConfig,
)

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def keys(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


def documented(section: str) -> set[str]:
    """Keys in the first column of the README's table for `[section]`."""
    part = README.split(f"### `[{section}]`", 1)[1].split("###", 1)[0]
    found: set[str] = set()
    for first, second in re.findall(r"^\| `(\w+)`(?:, `(\w+)`)?", part, re.M):
        found |= {first, second} - {""}
    return found


def test_every_setting_is_in_the_configuration_reference() -> None:
    assert documented("service") == keys(ServiceConfig)
    assert documented("checks") == keys(ChecksConfig)
    assert documented("mail") == keys(MailConfig)
    assert documented("significance") == keys(SignificanceConfig)
    sources = README.split("### `[[countries]]`", 1)[1].split("###", 1)[0]
    for key in keys(SourceConfig):
        assert f"`{key}`" in sources, key


def test_every_command_is_in_the_command_table() -> None:
    commands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    table = README.split("## Commands", 1)[1].split("##", 1)[0]
    assert set(re.findall(r"^\| `watcher (\w+)", table, re.M)) == commands


def test_local_links_lead_somewhere() -> None:
    for target in re.findall(r"\]\(([^)#:]+)\)", README):
        assert (ROOT / target).exists(), target
