"""A hostile HTTP server against real `watcher check` processes.

Each fault is served to one source while a healthy page shares the pass. Each must end as a
failed check with a reason (or a harmless success) within `timeout` + 2 s, with peak RSS
under 300 MB at `max_bytes = 5MB`, and the healthy source must be checked normally.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.faults.hostile import Fault, faults
from tests.faults.process import Ran, watcher
from tests.servers import ScriptedServer, static
from watcher.loading import load_config
from watcher.store import create_engine, read_transaction
from watcher.store.changes import latest_snapshot

TIMEOUT = 3.0
PEAK_MB = 300
HEALTHY = b"<html><body><h2>Policy</h2><p>All is well.</p></body></html>"
RESULTS = Path(__file__).parent / "last-run.json"


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    server = ScriptedServer().start()
    yield server
    server.stop()


def private_target(server: ScriptedServer) -> str:
    # Another name for this very server: it resolves to loopback, so following it would
    # reach /secret. Only loopback: the test never sends a packet anywhere else.
    return server.url("/secret").replace("127.0.0.1", "localhost")


def configure(tmp: Path, server: ScriptedServer, name: str) -> Path:
    data = {
        "service": {"database": f"sqlite:///{tmp / 'w.db'}"},
        "checks": {"timeout": f"{TIMEOUT:g}s", "max_bytes": "5MB", "retry": "5m"},
        "mail": {"transport": "maildir", "maildir": str(tmp / "mail")},
        "countries": [
            {
                "code": "VN",
                "name": "Vietnam",
                "sources": [
                    {"id": "hostile", "url": server.url(f"/{name}")},
                    {"id": "healthy", "url": server.url("/healthy")},
                ],
            }
        ],
    }
    tmp.mkdir(parents=True, exist_ok=True)
    return write_config(tmp, data)


@pytest.fixture(scope="module")
def runs(server: ScriptedServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Ran]:
    table = faults(private_target(server))
    server.routes["/healthy"] = static(HEALTHY)
    server.routes["/secret"] = static(b"<p>the instance's credentials</p>")
    for name, fault in table.items():
        server.routes[f"/{name}"] = fault.route
    root = tmp_path_factory.mktemp("hostile")

    def run(name: str) -> tuple[str, Ran]:
        config = configure(root / name, server, name)
        ran = watcher(config, "check", "--all", "--no-send", timeout=60)
        ran.config = config
        return name, ran

    with ThreadPoolExecutor(max_workers=3) as pool:
        ran = dict(pool.map(run, sorted(table)))
    RESULTS.write_text(
        json.dumps(
            {
                name: {
                    "status": r.status,
                    "peak_mb": round(r.peak_mb, 1),
                    "outcome": r.checks().get("hostile", {}).get("outcome"),
                    "seconds": r.checks().get("hostile", {}).get("duration"),
                    "detail": r.checks().get("hostile", {}).get("message"),
                }
                for name, r in sorted(ran.items())
            },
            indent=1,
        )
    )
    return ran


FAULTS = sorted(faults("http://localhost/"))


@pytest.mark.parametrize("name", FAULTS)
def test_a_hostile_answer_is_contained(name: str, runs: dict[str, Ran]) -> None:
    fault: Fault = faults("http://localhost/")[name]
    ran = runs[name]
    assert "Traceback" not in ran.err, ran.err
    checks = ran.checks()
    assert set(checks) == {"hostile", "healthy"}, (ran.status, ran.out, ran.err)
    assert checks["healthy"]["outcome"] == "baseline"
    hostile = checks["hostile"]
    if fault.reason is None:
        assert hostile["outcome"] == "baseline", hostile["message"]
        assert ran.status == 0
    else:
        assert hostile["outcome"] == "failed", hostile["message"]
        assert fault.reason in hostile["message"]
        assert "internal error" not in hostile["message"]
        assert ran.status == 3
    assert hostile["duration"] <= TIMEOUT + 2
    assert ran.peak_mb < PEAK_MB


def test_nothing_private_was_reached(runs: dict[str, Ran], server: ScriptedServer) -> None:
    assert server.count("/secret") == 0


def stored_text(config: Path, source_id: str) -> str:
    """Everything the newest snapshot of the source holds, as one string."""

    async def read() -> str:
        engine = create_engine(load_config(config).settings.service.database)
        try:
            async with read_transaction(engine) as connection:
                document = await latest_snapshot(connection, source_id)
        finally:
            await engine.dispose()
        assert document is not None
        return json.dumps(document.to_json())

    return asyncio.run(read())


@pytest.mark.parametrize("name", ["xxe-feed", "xxe-html", "billion-laughs"])
def test_no_entity_is_expanded(name: str, runs: dict[str, Ran]) -> None:
    config = runs[name].config
    assert config is not None
    text = stored_text(config, "hostile")
    assert "root:" not in text  # /etc/passwd
    assert "lollollol" not in text
