"""Review from the command line and the API (issue 27), in the words of the web's queue:
`watcher review list|approve|discard`, `watcher log` and `watcher show` with the review
state, and `POST /api/v1/changes/{id}/review`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TOKEN, bearer, demo_data, web_client
from tests.harness import Harness
from tests.mailing import cycle, outbox
from watcher.app import open_app
from watcher.demo.site import SiteServer
from watcher.loading import build_config


def reviewed_data(site: SiteServer, tmp_path: Path) -> dict[str, Any]:
    """The demo, Viet Nam reviewed, one reader of every country."""
    data = demo_data(site, f"sqlite:///{tmp_path / 'w.db'}")
    data["mail"] = {"transport": "maildir", "maildir": str(tmp_path / "mail")}
    data["countries"][0]["review"] = True
    data["subscribers"] = [{"email": "reader@example.org", "countries": ["*"]}]
    return data


def test_the_command_line_lists_approves_and_discards(
    site: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    harness = Harness(tmp_path, reviewed_data(site, tmp_path), capsys)
    site.revision = "r1"
    harness.check()
    site.revision = "r2"
    harness.check()
    waiting = {c["source_id"]: c["id"] for c in harness.changes() if c["country"] == "VN"}
    profile, news = waiting["vn-profile"], waiting["vn-news"]

    status, out, _ = harness.cli("review", "list")
    assert status == 0
    assert re.search(rf"#{profile} .* vn-profile +1 ", out), out
    assert "watcher review approve|discard CHANGE" in out
    status, out, _ = harness.cli("log")
    assert "REVIEW" in out
    assert re.search(rf"#{profile} .* waiting ", out), out
    status, out, _ = harness.cli("show", str(profile))
    assert "Review: waiting for an editor (readers are told once it is approved)" in out

    with pytest.raises(SystemExit) as refused:
        harness.cli("review", "discard", str(news))
    assert refused.value.code == 2
    assert "--note" in capsys.readouterr().err  # a discard says why
    status, out, _ = harness.cli(
        "review", "approve", str(profile), "--note", "Checked against the report."
    )
    assert status == 0, out
    assert f"Change #{profile} approved: 1 reader will be told." in out
    status, _, err = harness.cli("review", "approve", str(profile))
    assert status != 0
    assert f"change #{profile} is not waiting for review" in err
    status, out, _ = harness.cli("review", "discard", str(news), "--note", "a duplicate")
    assert status == 0
    assert f"Change #{news} discarded: 1 reader will not be told of it. Reason: a duplicate" in out

    status, out, _ = harness.cli("show", str(profile))
    assert re.search(r"Review: approved by \S+ \(command line\) on .*: Checked against", out)
    assert harness.show(news)["review"]["state"] == "discarded"
    status, out, _ = harness.cli("review", "list")
    assert "No change is waiting for review." in out
    status, out = harness.check()  # composes and sends what was approved
    sent = list((tmp_path / "mail" / "new").iterdir())
    subjects = [path.read_text() for path in sent]
    assert any("Vietnam: country profile updated" in text for text in subjects)


async def test_the_api_approves_and_discards_as_the_queue_does(
    site: SiteServer, tmp_path: Path
) -> None:
    config = build_config(reviewed_data(site, tmp_path), {}, tmp_path / "watcher.toml")
    async with open_app(config) as app, web_client(app) as http:
        await cycle(app, site, "r1")
        await cycle(app, site, "r2")
        listed = (await http.get("/api/v1/changes?country=VN", headers=bearer())).json()
        ids = {c["source_id"]: c["id"] for c in listed if c["review"]["state"] == "waiting"}
        profile, news = ids["vn-profile"], ids["vn-news"]
        path = f"/api/v1/changes/{profile}/review"

        assert (await http.post(path, json={"decision": "approve"})).status_code == 401
        unsaid = await http.post(
            f"/api/v1/changes/{news}/review", json={"decision": "discard"}, headers=bearer()
        )
        assert unsaid.status_code == 422
        assert unsaid.json()["detail"][0]["loc"][-1] == "note"  # a discard says why
        blank = await http.post(
            f"/api/v1/changes/{news}/review",
            json={"decision": "discard", "note": "  "},
            headers=bearer(),
        )
        assert blank.status_code == 422
        wrong = await http.post(path, json={"decision": "publish"}, headers=bearer())
        assert wrong.status_code == 422
        missing = await http.post(
            "/api/v1/changes/999999/review", json={"decision": "approve"}, headers=bearer()
        )
        assert missing.status_code == 404

        note = "Checked against the report."
        done = await http.post(path, json={"decision": "approve", "note": note}, headers=bearer())
        assert done.status_code == 200
        assert done.json()["id"] == profile
        assert done.json()["review"]["state"] == "approved"
        assert done.json()["review"]["note"] == note
        assert "change" in done.json()  # as GET /api/v1/changes/{id} gives it
        again = await http.post(path, json={"decision": "approve"}, headers=bearer())
        assert again.status_code == 409
        assert again.json()["detail"] == "this change is not waiting for review"
        dropped = await http.post(
            f"/api/v1/changes/{news}/review",
            json={"decision": "discard", "note": "a duplicate"},
            headers=bearer(),
        )
        assert dropped.json()["review"] == {
            "state": "discarded",
            "note": "a duplicate",
            "at": dropped.json()["review"]["at"],
        }

        schema = (await http.get("/api/v1/openapi.json", headers=bearer())).json()
        operation = schema["paths"]["/api/v1/changes/{change_id}/review"]["post"]
        assert {"200", "401", "404", "409", "422"} <= set(operation["responses"])

        await cycle(app, site)
        sent = [m.subject for m in (await outbox(app)).get("sent", [])]
        assert any(s.startswith("Vietnam: country profile updated") for s in sent)
        assert TOKEN not in str(sent)
