"""Drive watcher the way an operator does: a config file on disk and the `watcher` command."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import write_config
from watcher.cli import main
from watcher.extract import Document
from watcher.loading import load_config
from watcher.store import create_engine, read_transaction
from watcher.store.changes import latest_snapshot
from watcher.store.schema import snapshots


@dataclass
class Harness:
    tmp_path: Path
    data: dict[str, Any]
    capsys: pytest.CaptureFixture[str]
    path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.data.setdefault("mail", {}).setdefault("maildir", str(self.tmp_path / "mail"))
        self.save()

    def save(self) -> None:
        self.path = write_config(self.tmp_path, self.data)

    def cli(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        status = main(["--config", str(self.path), *args])
        captured = self.capsys.readouterr()
        return status, captured.out, captured.err

    def check(self, *args: str) -> tuple[int, str]:
        status, out, err = self.cli("check", "--all", *args)
        assert "Traceback" not in err, err
        return status, out

    def sources(self) -> dict[str, dict[str, Any]]:
        status, out, _ = self.cli("sources", "--json")
        assert status == 0
        return {item["id"]: item for item in json.loads(out)}

    def changes(self) -> list[dict[str, Any]]:
        status, out, _ = self.cli("log", "--json", "--limit", "1000")
        assert status == 0
        return json.loads(out)

    def show(self, change_id: int) -> dict[str, Any]:
        status, out, _ = self.cli("show", str(change_id), "--json")
        assert status == 0
        return json.loads(out)

    def snapshot(self, source_id: str) -> tuple[int, Document | None]:
        """How many snapshots the source has, and the newest."""
        return asyncio.run(self._snapshot(source_id))

    async def _snapshot(self, source_id: str) -> tuple[int, Document | None]:
        engine = create_engine(load_config(self.path).settings.service.database)
        try:
            async with read_transaction(engine) as connection:
                count = (
                    await connection.execute(
                        select(func.count())
                        .select_from(snapshots)
                        .where(snapshots.c.source_id == source_id)
                    )
                ).scalar_one()
                return int(count), await latest_snapshot(connection, source_id)
        finally:
            await engine.dispose()


def one_source(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    source: dict[str, Any],
    checks: dict[str, Any] | None = None,
) -> Harness:
    """A configuration of one country (VN) watching one source, on a SQLite file."""
    data = {
        "service": {"database": f"sqlite:///{tmp_path / 'w.db'}"},
        "checks": checks or {},
        "countries": [{"code": "VN", "name": "Vietnam", "sources": [source]}],
    }
    return Harness(tmp_path, data, capsys)
