"""Readers who follow sections and keywords (`diff/interest.py`): each gets exactly the part
of a change they chose, highlighted where a keyword matched, and no email when nothing they
chose changed. The example site at r2 changes Vietnam's profile (its "Mine Ban Policy"
rewritten, a "Cluster Munition Ban Policy" section added, Last Updated moved) and both
countries' news feeds; Lao PDR's profile stays as it was."""

from __future__ import annotations

import email
import email.policy
import html
import mailbox
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import SAME_SITE, demo_data
from tests.mailing import cycle
from watcher.app import App, open_app
from watcher.demo.site import SiteServer
from watcher.diff.change import DiffLine, PageChange, SectionChange
from watcher.diff.interest import Interest, keyword_pattern
from watcher.extract.document import Line, PageDocument
from watcher.loading import build_config

READERS = [
    {"email": "whole@example.org", "countries": ["VN"]},
    {
        "email": "cmbp@example.org",
        "countries": ["VN"],
        "sections": ["VN: Cluster Munition Ban Policy"],
    },
    {"email": "everywhere@example.org", "sections": ["*: Cluster Munition Ban Policy"]},
    {"email": "la-mbp@example.org", "countries": ["LA"], "sections": ["LA: Mine Ban Policy"]},
    {"email": "words@example.org", "keywords": ["transparency"]},
    {"email": "nothing@example.org", "keywords": ["Ottawa Convention"]},
    {
        "email": "no-news@example.org",
        "sections": ["VN: Cluster Munition Ban Policy"],
        "news": False,
    },
    {"email": "notable@example.org", "countries": ["VN", "LA"], "notable": True},
]


def inbox(folder: Path) -> dict[str, list[EmailMessage]]:
    found: dict[str, list[EmailMessage]] = {}
    for item in mailbox.Maildir(folder, create=False):
        parsed = email.message_from_bytes(item.as_bytes(), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        found.setdefault(str(parsed["To"]), []).append(parsed)
    return found


def text_of(message: EmailMessage, kind: str = "plain") -> str:
    part = message.get_body((kind,))
    assert part is not None
    return str(part.get_content())


@pytest.fixture
def config(site: SiteServer, tmp_path: Path) -> Any:
    data = demo_data(site, f"sqlite:///{tmp_path / 'w.db'}")
    data["mail"] = {"transport": "maildir", "maildir": str(tmp_path / "mail")}
    data["subscribers"] = READERS
    return build_config(data, {}, tmp_path / "watcher.toml")


@pytest.mark.parametrize("batch", [50, 1])
async def test_each_reader_gets_what_they_chose_and_nothing_else(
    site: SiteServer, config: Any, tmp_path: Path, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also when each reader is composed in a batch of their own: the renderings the
    composer keeps between batches never go to a reader who chose otherwise."""
    from watcher.notify import queue as outbox

    monkeypatch.setattr(outbox, "BATCH", batch)
    async with open_app(config) as app:
        await cycle(app, site, "r1")
        await cycle(app, site, "r2")
    mail = inbox(tmp_path / "mail")
    assert set(mail) == {
        "whole@example.org",
        "cmbp@example.org",
        "everywhere@example.org",
        "words@example.org",
        "no-news@example.org",
        "la-mbp@example.org",
        "notable@example.org",
    }, "no email for a keyword found nowhere"

    [whole] = mail["whole@example.org"]
    assert "Mine ban policy overview" in text_of(whole)  # the whole change, as before
    assert "Country profile updated: Vietnam" in text_of(whole)  # and the news feed

    for address in ("cmbp@example.org", "everywhere@example.org", "no-news@example.org"):
        [message] = mail[address]
        body = text_of(message)
        assert "Cluster Munition Ban Policy" in body
        assert "Mine ban policy overview" not in body, "a section they did not choose"
        assert "02 November 2011" in body
        assert "29 October 2012" in body  # the Last Updated date came along
    # Sections of Vietnam chosen: its news still comes, unless turned off; a section in
    # every country brings no country's news.
    [cmbp] = mail["cmbp@example.org"]
    assert "Country profile updated: Vietnam" in text_of(cmbp)
    assert "follows Vietnam (Cluster Munition Ban Policy, and its news)" in text_of(cmbp)
    [quiet] = mail["no-news@example.org"]
    assert "Country profile updated: Vietnam" not in text_of(quiet)
    assert "Cluster Munition Ban Policy of Vietnam, not Vietnam's news" in text_of(quiet)
    [anywhere] = mail["everywhere@example.org"]
    assert "Country profile updated: Vietnam" not in text_of(anywhere)
    [la_mbp] = mail["la-mbp@example.org"]  # Lao PDR's news; its sections did not change
    assert "Lao PDR" in str(la_mbp["Subject"])
    assert "Lao PDR country profile" not in text_of(la_mbp), "its profile did not change"
    assert "follows Lao PDR (Mine Ban Policy, and its news)" in text_of(la_mbp)
    assert "follows Cluster Munition Ban Policy in every country" in text_of(anywhere)

    # Only notable changes: Vietnam's profile (a new section, figures) and its news (a new
    # entry) reach the mark; Lao PDR's news, one entry's title edited, does not.
    [notable] = mail["notable@example.org"]
    assert str(notable["Subject"]).startswith("Vietnam: ")
    assert "Country profile updated: Vietnam" in text_of(notable)
    assert "Lao PDR submits" not in text_of(notable)
    assert "follows Vietnam, Lao PDR: only notable changes" in text_of(notable)

    [words] = mail["words@example.org"]
    assert "Lao PDR" in str(words["Subject"])
    assert "**transparency**" in text_of(words)
    assert "<mark>transparency</mark>" in text_of(words, "html")
    assert "Vietnam" not in str(words["Subject"])


async def test_choices_from_the_configuration_are_kept_and_changed(
    site: SiteServer, config: Any, tmp_path: Path
) -> None:
    from watcher.store import read_transaction
    from watcher.store.subscribers import find_subscriber

    async with open_app(config) as app, read_transaction(app.engine) as connection:
        reader = await find_subscriber(connection, "cmbp@example.org")
    assert reader is not None
    assert reader.sections == (("VN", "Cluster Munition Ban Policy"),)
    data = demo_data(site, f"sqlite:///{tmp_path / 'w.db'}")
    data["subscribers"] = [{"email": "cmbp@example.org", "keywords": ["accede"]}]
    changed = build_config(data, {}, tmp_path / "watcher.toml")
    async with open_app(changed) as app, read_transaction(app.engine) as connection:
        reader = await find_subscriber(connection, "cmbp@example.org")
    assert reader is not None
    assert (reader.countries, reader.sections, reader.keywords) == ((), (), ("accede",))


def test_sections_written_wrong_are_one_clear_line() -> None:
    from tests.configs import base, errors_of

    data = base()
    data["subscribers"] = [{"email": "a@example.org", "sections": ["Mine Ban Policy"]}]
    data["subscribers"].append({"email": "b@example.org", "sections": ["XX: Policy"]})
    data["subscribers"].append({"email": "c@example.org"})
    assert errors_of(data) == [
        "watcher.toml: subscribers[0].sections: 'Mine Ban Policy': write a section as"
        " 'CODE: Section name', or '*: Section name' for every country",
        "watcher.toml: subscribers[2]: give 'countries', 'sections' or 'keywords' to follow",
    ]


@pytest.mark.parametrize(
    ("keyword", "text", "found"),
    [
        ("accede", "Vietnam acceded in 2026", ["acceded"]),
        ("accede", "it accedes, acceding", ["accedes", "acceding"]),
        ("accede", "its accession", []),
        ("Ottawa Convention", "the ottawa-convention and the Ottawa  Convention", 2),
        ("cluster munition", "Cluster Munitions Convention", ["Cluster Munitions"]),
        ("ban", "the banner", []),
        ("ban", "bans and banned", ["bans", "banned"]),
        ("Việt Nam", "VIỆT NAM joined", ["VIỆT NAM"]),
    ],
)
def test_keywords_match_in_any_case_and_simple_inflections(
    keyword: str, text: str, found: list[str] | int
) -> None:
    pattern = keyword_pattern([keyword])
    assert pattern is not None
    matches = [m.group() for m in pattern.finditer(text)]
    assert matches == found if isinstance(found, list) else len(matches) == found


def page_change(lines: list[tuple[str, str]]) -> PageChange:
    hunk = tuple(DiffLine("added", (section,), "text", text) for section, text in lines)
    sections = tuple(
        SectionChange((name,), "changed") for name in dict.fromkeys(s for s, _ in lines)
    )
    return PageChange("t", "1 May", "2 May", sections, (hunk,), len(hunk), 0, 0)


@given(
    st.lists(
        st.tuples(st.sampled_from(["A", "B", "C"]), st.sampled_from(["x", "accede now", "y"])),
        min_size=1,
        max_size=8,
    ),
    st.sets(st.sampled_from(["A", "B", "C"])),
    st.booleans(),
)
def test_a_narrowed_change_holds_exactly_the_chosen_lines(
    lines: list[tuple[str, str]], chosen: set[str], with_keyword: bool
) -> None:
    interest = Interest(
        frozenset(),
        frozenset(("VN", name) for name in chosen),
        ("accede",) if with_keyword else (),
    )
    narrowed = interest.narrow("VN", page_change(lines))
    wanted = [(s, t) for s, t in lines if s in chosen or (with_keyword and t == "accede now")]
    if not wanted:
        assert narrowed is None
        return
    assert isinstance(narrowed, PageChange)
    kept = [(line.section[0], line.text) for hunk in narrowed.hunks for line in hunk]
    assert kept == wanted
    assert narrowed.added == len(wanted)
    assert (narrowed.updated_old, narrowed.updated_new) == ("1 May", "2 May")
    assert {section.path[0] for section in narrowed.sections} == {s for s, _ in wanted}


def test_a_country_followed_whole_is_never_narrowed() -> None:
    change = page_change([("A", "x")])
    interest = Interest(frozenset({"VN"}), frozenset({("LA", "A")}), ("zzz",))
    assert interest.narrow("VN", change) is change
    assert Interest(frozenset({"*"})).narrow("TH", change) is change
    assert Interest(frozenset({"VN"}), frozenset({("VN", "B")})).narrow("VN", change) is None


async def test_settle_and_digests_keep_working_for_choosy_readers(
    site: SiteServer, tmp_path: Path
) -> None:
    data = demo_data(site, f"sqlite:///{tmp_path / 'w.db'}")
    data["mail"] = {"transport": "maildir", "maildir": str(tmp_path / "mail")}
    data["subscribers"] = [
        {
            "email": "d@example.org",
            "sections": ["*: Cluster Munition Ban Policy"],
            "frequency": "daily",
        }
    ]
    config = build_config(data, {}, tmp_path / "watcher.toml")
    from tests.conftest import Clock
    from tests.mailing import START

    clock = Clock(START)
    async with open_app(config, clock=clock) as app:
        await cycle(app, site, "r1")
        await cycle(app, site, "r2")
        clock.advance(days=1)
        report = await cycle(app, site)
        assert report.sent == 1
        clock.advance(days=1, hours=1)
        assert (await cycle(app, site)).attempted == 0
    [digest] = inbox(tmp_path / "mail")["d@example.org"]
    assert "Cluster Munition Ban Policy" in text_of(digest)
    assert "Mine ban policy overview" not in text_of(digest)


async def test_the_manage_page_and_the_form_offer_sections_and_keywords(
    reader_client: httpx.AsyncClient, served: App
) -> None:
    """The sections on offer are those the pages have; a reader picks some of Vietnam's, one
    everywhere and keywords; a tampered section is ignored; nothing chosen unsubscribes."""
    from watcher.notify.links import make_token
    from watcher.store import read_transaction
    from watcher.store.subscribers import find_subscriber

    front = await reader_client.get("/")
    assert 'value="*:Cluster Munition Ban Policy"' in front.text
    assert 'name="keywords"' in front.text
    async with read_transaction(served.engine) as connection:
        editor = await find_subscriber(connection, "editor@monitor.example")
    assert editor is not None
    manage = f"/manage/{make_token(editor.id, editor.token)}"
    page = await reader_client.get(manage)
    assert 'value="VN:Mine Ban Policy"' in page.text
    assert 'value="LA:Cluster Munition Ban Policy"' in page.text
    # With a country's sections, its news: a box ticked by default, saying so.
    assert '<input type="checkbox" name="news" value="VN" checked>' in page.text
    assert "Vietnam's news (its feeds' items) still comes, unless you untick it" in page.text
    form = {
        "countries": ["VN"],
        "sections": ["VN:Mine Ban Policy", "*:Cluster Munition Ban Policy", "VN:Made Up"],
        "keywords": "accede, Ottawa Convention",
        "frequency": "daily",
        "news_shown": ["VN", "LA"],
        "news": ["LA"],  # Vietnam's unticked
    }
    saved = await reader_client.post(manage, data=form, headers=SAME_SITE)
    assert saved.status_code == 200
    assert (
        "You follow Vietnam (Mine Ban Policy; not its news), Cluster Munition Ban Policy"
        " in every" in saved.text
    )
    assert '<input type="checkbox" name="news" value="VN">' in saved.text  # off, as saved
    assert '<input type="checkbox" name="news" value="LA" checked>' in saved.text
    async with read_transaction(served.engine) as connection:
        editor = await find_subscriber(connection, "editor@monitor.example")
    assert editor is not None
    assert editor.sections == (
        ("*", "Cluster Munition Ban Policy"),
        ("VN", "Mine Ban Policy"),
    )
    assert editor.keywords == ("accede", "Ottawa Convention")
    assert editor.quiet == ("VN",)  # Lao PDR: no sections chosen, nothing to turn off
    assert 'value="VN:Mine Ban Policy" checked' in saved.text
    form["news"] = ["VN", "LA"]
    again = await reader_client.post(manage, data=form, headers=SAME_SITE)
    assert "You follow Vietnam (Mine Ban Policy, and its news)" in again.text
    # Only the notable changes: a choice of its own, said with the rest.
    assert '<input type="radio" name="notable" value="no" checked> Every change' in again.text
    notable = await reader_client.post(manage, data={**form, "notable": "yes"}, headers=SAME_SITE)
    assert '<input type="radio" name="notable" value="yes" checked>' in notable.text
    assert "and its news), Cluster Munition Ban Policy in every country" in notable.text
    assert ": only notable changes." in notable.text
    assert "a significance of 0.40 or more" in notable.text
    async with read_transaction(served.engine) as connection:
        editor = await find_subscriber(connection, "editor@monitor.example")
    assert editor is not None
    assert editor.notable
    nothing = await reader_client.post(manage, data={"frequency": "daily"}, headers=SAME_SITE)
    assert "no updates are sent" in nothing.text


async def test_a_web_reader_asks_for_keywords_and_gets_them_once_confirmed(
    reader_client: httpx.AsyncClient, served: App
) -> None:
    from tests.conftest import confirmation_link
    from watcher.store import read_transaction
    from watcher.store.subscribers import find_subscriber

    form = {"email": "kw@readers.example", "keywords": "transparency", "frequency": "weekly"}
    assert (await reader_client.post("/subscribe", data=form, headers=SAME_SITE)).status_code == 200
    refused = await reader_client.post(
        "/subscribe", data={"email": "none@readers.example"}, headers=SAME_SITE
    )
    assert refused.status_code == 400
    assert "at least one country, section or keyword" in refused.text
    link = await confirmation_link(served, "kw@readers.example")
    page = await reader_client.get(link)
    assert 'the keyword "transparency"' in html.unescape(page.text)
    await reader_client.post(link, headers=SAME_SITE)
    async with read_transaction(served.engine) as connection:
        reader = await find_subscriber(connection, "kw@readers.example")
    assert reader is not None
    assert (reader.status, reader.countries, reader.keywords) == ("active", (), ("transparency",))


async def test_the_api_lists_sections_and_subscribes_with_choices(
    reader_client: httpx.AsyncClient,
) -> None:
    from tests.conftest import bearer

    sections = (await reader_client.get("/api/v1/sections", headers=bearer())).json()
    assert sections["VN"] == ["Mine Ban Policy", "Cluster Munition Ban Policy"]
    wanted = {
        "email": "api@readers.example",
        "sections": [{"country": "vn", "section": "Mine Ban Policy"}],
        "keywords": ["accede"],
    }
    made = await reader_client.post("/api/v1/subscribers", json=wanted, headers=bearer())
    assert made.status_code == 200, made.text
    assert made.json()["sections"] == [{"country": "VN", "section": "Mine Ban Policy"}]
    assert made.json()["origin"] == "api"
    assert made.json()["news_off"] == []  # Vietnam's news comes with its section
    quiet = {**wanted, "email": "quiet@readers.example", "news_off": ["vn", "LA"]}
    made = await reader_client.post("/api/v1/subscribers", json=quiet, headers=bearer())
    assert made.json()["news_off"] == ["VN"]  # Lao PDR: no section chosen, nothing to turn off
    assert made.json()["notable"] is False
    choosy = {**wanted, "email": "choosy@readers.example", "notable": True}
    made = await reader_client.post("/api/v1/subscribers", json=choosy, headers=bearer())
    assert made.json()["notable"] is True
    again = {**choosy, "keywords": ["ratified"], "notable": None}  # not given: kept
    made = await reader_client.post("/api/v1/subscribers", json=again, headers=bearer())
    assert made.json()["notable"] is True
    wrong = {**wanted, "sections": [{"country": "XX", "section": "Policy"}]}
    refused = await reader_client.post("/api/v1/subscribers", json=wrong, headers=bearer())
    assert refused.status_code == 404
    assert refused.json() == {"detail": "no such country: XX"}
    nothing = {"email": "api@readers.example"}
    refused = await reader_client.post("/api/v1/subscribers", json=nothing, headers=bearer())
    assert refused.status_code == 422
    assert "name countries, sections or keywords" in refused.text
    assert (await reader_client.post("/api/v1/subscribers", json=wanted)).status_code == 401


def profile(sections: dict[str, list[str]], updated: str = "1 May 2026") -> PageDocument:
    lines = [Line((), "updated", f"Last Updated: {updated}")]
    for name, body in sections.items():
        lines.append(Line((name,), "h2", name))
        lines += [Line((name,), "text", text) for text in body]
    return PageDocument(tuple(lines), title="Vietnam", updated=updated)


BODY = ["Vietnam has not acceded.", "It abstained in 2025.", "No stockpile was declared."]


@pytest.mark.parametrize(
    ("new", "body", "renamed"),
    [
        ("Mine Ban Treaty Policy", BODY, True),  # a word shared, everything kept
        ("Landmines", BODY, True),  # no word shared, everything kept (at least 80%)
        ("Mine Ban Treaty Policy", [*BODY[:2], "A stockpile was declared."], True),
        ("Landmines", [*BODY[:2], "A stockpile was declared."], False),  # 2 of 3, no word
        ("Mine Ban Treaty Policy", ["All new text.", "Nothing as before."], False),
    ],
)
def test_a_section_is_renamed_when_the_new_heading_holds_what_the_old_held(
    new: str, body: list[str], renamed: bool
) -> None:
    from watcher.diff.renames import renamed_sections

    old = profile({"Mine Ban Policy": BODY, "Casualties": ["10 in 2024."]})
    fetched = profile({new: body, "Casualties": ["10 in 2024."]})
    found = renamed_sections(old, fetched)
    assert found == ((("Mine Ban Policy", new),) if renamed else ())


async def test_followers_of_a_renamed_section_follow_it_and_are_told(tmp_path: Path) -> None:
    from tests.servers import ScriptedServer, reply
    from watcher.check import run_pass
    from watcher.notify.delivery import deliver
    from watcher.notify.queue import compose_pending
    from watcher.store import read_transaction
    from watcher.store.subscribers import find_subscriber

    page = {"html": ""}

    def write(sections: dict[str, list[str]]) -> None:
        body = "".join(
            f"<h2>{name}</h2>" + "".join(f"<p>{text}</p>" for text in texts)
            for name, texts in sections.items()
        )
        page["html"] = f"<html><body><h1>Vietnam</h1>{body}</body></html>"

    server = ScriptedServer().start()
    server.routes["/vn.html"] = lambda handler: reply(handler, 200, page["html"].encode())
    data = {
        "service": {"database": f"sqlite:///{tmp_path / 'w.db'}"},
        "mail": {"transport": "maildir", "maildir": str(tmp_path / "mail")},
        "countries": [
            {
                "code": "VN",
                "name": "Vietnam",
                "sources": [{"id": "vn", "url": server.url("/vn.html")}],
            }
        ],
        "subscribers": [
            {"email": "here@example.org", "sections": ["VN: Mine Ban Policy"]},
            {"email": "there@example.org", "sections": ["*: Mine Ban Policy"]},
            {"email": "other@example.org", "sections": ["VN: Casualties"]},
        ],
    }
    config = build_config(data, {}, tmp_path / "watcher.toml")
    try:
        async with open_app(config) as app:
            write({"Mine Ban Policy": BODY, "Casualties": ["10 in 2024."]})
            await run_pass(app, every=True)
            write(
                {
                    "Mine Ban Treaty Policy": [*BODY[:2], "A stockpile was declared."],
                    "Casualties": ["10 in 2024."],
                }
            )
            await run_pass(app, every=True)
            await compose_pending(app, settle=timedelta(0))
            await deliver(app)
            async with read_transaction(app.engine) as connection:
                here = await find_subscriber(connection, "here@example.org")
                there = await find_subscriber(connection, "there@example.org")
            assert here is not None
            assert there is not None
            assert here.sections == (("VN", "Mine Ban Treaty Policy"),)
            assert set(there.sections) == {
                ("*", "Mine Ban Policy"),
                ("*", "Mine Ban Treaty Policy"),
            }
            mail = inbox(tmp_path / "mail")
            assert set(mail) == {"here@example.org", "there@example.org"}
            [told] = mail["here@example.org"]
            body = text_of(told)
            assert "Section renamed: Mine Ban Policy → Mine Ban Treaty Policy" in body
            assert "(Whoever followed Mine Ban Policy now follows Mine Ban Treaty Policy.)" in body
            assert "[-No-]{+A+} stockpile was declared." in body
            assert "follows Mine Ban Treaty Policy of Vietnam" in body

            write(
                {
                    "Mine Ban Treaty Policy": [*BODY[:2], "A stockpile of 5 was declared."],
                    "Casualties": ["10 in 2024."],
                }
            )
            await run_pass(app, every=True)
            await compose_pending(app, settle=timedelta(0))
            await deliver(app)
        assert len(inbox(tmp_path / "mail")["here@example.org"]) == 2  # still followed
    finally:
        server.stop()
