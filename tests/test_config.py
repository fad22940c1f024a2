"""Configuration: defaults, environment overrides, and one clear line per mistake (exit 2)."""

from __future__ import annotations

import copy
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.configs import base, errors_of, only_error
from tests.conftest import write_config
from watcher.cli import main
from watcher.config import parse_duration, parse_size
from watcher.config.sources import derive_source_id
from watcher.loading import build_config, load_config


def test_example_and_demo_configurations_are_valid() -> None:
    root = Path(__file__).parent.parent
    example = load_config(root / "config" / "watcher.toml", environ={})
    assert [country.code for country in example.settings.countries] == ["VN", "LA"]
    assert len(example.sources) == 4
    demo = load_config(root / "config" / "demo.toml", environ={})
    assert {source.id for source in demo.sources} == {
        "vn-profile",
        "vn-news",
        "la-profile",
        "la-updates",
        "la-news",
    }


def test_defaults_apply_to_sources() -> None:
    config = build_config(base(), {}, None)
    source = config.sources[0]
    assert source.interval == timedelta(hours=6)
    assert source.timeout == timedelta(seconds=30)
    assert source.max_bytes == 5_000_000
    assert source.kind == "auto"
    assert source.id == derive_source_id("VN", "https://monitor.example/cp/vietnam.html")
    assert source.id.startswith("vn-vietnam-")


def test_source_ids_are_stable_and_distinct() -> None:
    first = derive_source_id("VN", "https://monitor.example/news.rss")
    assert first == derive_source_id("VN", "https://monitor.example/news.rss")
    assert first != derive_source_id("LA", "https://monitor.example/news.rss")


def test_a_source_with_match_is_a_feed_and_cron_overrides_interval() -> None:
    data = base()
    data["checks"] = {"interval": "1h"}
    data["countries"][0]["sources"].append(
        {"url": "https://monitor.example/news.rss", "match": "Vietnam", "cron": "0 6 * * 1-5"}
    )
    feed = build_config(data, {}, None).sources[1]
    assert feed.kind == "feed"
    assert feed.cron == "0 6 * * 1-5"
    assert feed.interval is None


def test_environment_overrides_any_key() -> None:
    environ = {
        "WATCHER_SERVICE__DATABASE": "postgresql://db/watcher",
        "WATCHER_CHECKS__PER_HOST": "4",
        "WATCHER_CHECKS__TIMEOUT": "90s",
        "WATCHER_MAIL__PASSWORD": "s3cret",
        "WATCHER_API_TOKEN": "not-a-section-override",
        "WATCHER_CONFIG": "ignored-here",
    }
    settings = build_config(base(), environ, None).settings
    assert settings.service.database == "postgresql://db/watcher"
    assert settings.checks.per_host == 4
    assert settings.checks.timeout == timedelta(seconds=90)
    assert settings.mail.password is not None
    assert settings.mail.password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_durations_and_sizes() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("15m") == timedelta(minutes=15)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("7d") == timedelta(days=7)
    assert parse_size("5MB") == 5_000_000
    assert parse_size("512KiB") == 512 * 1024
    for bad in ("6 hours", "h", "0s", "-5m", ""):
        with pytest.raises(ValueError, match="duration"):
            parse_duration(bad)


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (lambda d: d["service"].update(databse="x"), "service.databse", "did you mean 'database'"),
        (
            lambda d: d["countries"][0]["sources"][0].update(selector="#x"),
            "countries[0].sources[0].selector",
            "did you mean 'select'",
        ),
        (lambda d: d.update(checks={"interval": "6 hours"}), "checks.interval", "not a duration"),
        (lambda d: d.update(checks={"cron": "61 * * * *"}), "checks.cron", "invalid cron"),
        (
            lambda d: d["countries"][0]["sources"][0].update(select="div[["),
            "countries[0].sources[0].select",
            "invalid CSS selector",
        ),
        (
            lambda d: d["countries"][0]["sources"][0].update(select="xpath://div[@"),
            "countries[0].sources[0].select",
            "invalid XPath",
        ),
        (
            lambda d: d["countries"][0]["sources"][0].update(ignore=["(unclosed"]),
            "countries[0].sources[0].ignore[0]",
            "invalid regular expression",
        ),
        (
            lambda d: d["countries"][0]["sources"][0].update(url="ftp://x/y"),
            "countries[0].sources[0].url",
            "not an http(s) URL",
        ),
        (
            lambda d: d["countries"][0]["sources"][0].update(interval="1h", cron="0 * * * *"),
            "countries[0].sources[0]",
            "either 'interval' or 'cron'",
        ),
        (lambda d: d.update(checks={"per_host": 0}), "checks.per_host", "greater than or equal"),
        (
            lambda d: d["countries"][0]["sources"][0].update(fetch="browser", kind="feed"),
            "countries[0].sources[0]",
            "fetch = 'browser' is for HTML; it cannot be used with kind = 'feed'",
        ),
        (
            lambda d: d["countries"][0]["sources"][0].update(fetch="curl"),
            "countries[0].sources[0].fetch",
            "'http' or 'browser'",
        ),
        (
            lambda d: d.update(checks={"recheck_after": "1h"}),
            "checks.recheck_after",
            "within 5 minutes",
        ),
        (
            lambda d: d["countries"][0]["sources"][0].update(recheck_after="soon"),
            "countries[0].sources[0].recheck_after",
            "not a duration",
        ),
        (lambda d: d.update(checks={"max_bytes": "lots"}), "checks.max_bytes", "not a size"),
        (lambda d: d.update(mail={"transport": "pigeon"}), "mail.transport", "'smtp' or 'maildir'"),
        (lambda d: d.update(service={"timezone": "Mars/Base"}), "service.timezone", "time zone"),
        (
            lambda d: d["countries"].append({"code": "VN", "name": "Again"}),
            "countries[1].code",
            "already used",
        ),
        (
            lambda d: d.update(subscribers=[{"email": "a@example.org", "countries": ["XX"]}]),
            "subscribers[0].countries",
            "unknown country code 'XX'",
        ),
        (
            lambda d: d.update(subscribers=[{"email": "not-an-address", "countries": ["VN"]}]),
            "subscribers[0].email",
            "not an email address",
        ),
        (lambda d: d["countries"][0].pop("name"), "countries[0].name", "required key is missing"),
        (lambda d: d.update(mail={"password": "oops"}), "mail.password", "WATCHER_MAIL__PASSWORD"),
    ],
)
def test_each_mistake_is_one_line_naming_the_key(change: Any, key: str, words: str) -> None:
    data = base()
    change(data)
    message = only_error(data)
    assert f"watcher.toml: {key}: " in message
    assert words in message


def test_duplicate_source_ids_name_both_places() -> None:
    data = base()
    source = {"url": "https://monitor.example/a", "id": "same"}
    data["countries"][0]["sources"] = [source, {**source, "url": "https://monitor.example/b"}]
    message = only_error(data)
    assert "countries[0].sources[1].id: duplicate source id 'same'" in message
    assert "countries[0].sources[0].id" in message


def test_bad_environment_value_names_the_variable() -> None:
    message = only_error(base(), {"WATCHER_CHECKS__TIMEOUT": "soon"})
    assert message.startswith("WATCHER_CHECKS__TIMEOUT (checks.timeout): ")
    message = only_error(base(), {"WATCHER_COUNTRIES__CODE": "VN"})
    assert message.startswith("WATCHER_COUNTRIES__CODE: only [service], [checks], [mail]")


def test_several_mistakes_give_one_line_each() -> None:
    data = base()
    data["service"]["listen"] = "nowhere"
    data["checks"] = {"timeout": "x"}
    problems = errors_of(data)
    assert len(problems) == 2
    assert any("service.listen" in line for line in problems)
    assert any("checks.timeout" in line for line in problems)


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(args)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_cli_reports_toml_syntax_errors_with_their_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('[service]\ndatabase = "sqlite:///x.db"\nlisten = \n')
    status, out, err = run_cli(["--config", str(path), "sources"], capsys)
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1
    assert f"{path}: line 3, column 10: TOML syntax error" in err


def test_cli_reports_a_missing_or_unreadable_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run_cli(["--config", str(tmp_path / "nope.toml"), "sources"], capsys)
    assert status == 2
    assert "nope.toml: no such file" in err
    unreadable = write_config(tmp_path, base())
    unreadable.chmod(0)
    try:
        if os.access(unreadable, os.R_OK):  # root reads anything: try a directory instead
            status, _, err = run_cli(["--config", str(tmp_path), "sources"], capsys)
            assert "is a directory" in err
        else:
            status, _, err = run_cli(["--config", str(unreadable), "sources"], capsys)
            assert "permission denied" in err
        assert status == 2
    finally:
        unreadable.chmod(0o644)


def test_cli_reports_validation_errors_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = base()
    data["countries"][0]["sources"][0]["select"] = "p:nth-child(x)"
    path = write_config(tmp_path, data)
    status, _out, err = run_cli(["--config", str(path), "check"], capsys)
    assert status == 2
    assert "Traceback" not in err
    assert err.strip().splitlines() == [
        f"watcher: {path}: countries[0].sources[0].select: " + err.split("select: ", 1)[1].strip()
    ]
    assert "invalid CSS selector" in err


def test_config_comes_from_watcher_config_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = base()
    data["service"]["database"] = f"sqlite:///{tmp_path / 'w.db'}"
    path = write_config(tmp_path, data, "elsewhere.toml")
    monkeypatch.setenv("WATCHER_CONFIG", str(path))
    status, out, _ = run_cli(["sources", "--json"], capsys)
    assert status == 0
    assert '"country": "VN"' in out


def test_building_a_configuration_leaves_the_callers_data_as_it_was() -> None:
    data = {"countries": [{"code": "VN", "name": "Vietnam", "sources": []}]}
    before = copy.deepcopy(data)
    build_config(data, {"WATCHER_MAIL__PASSWORD": "secret"}, None)
    assert data == before  # the secret from the environment did not land in it


@pytest.mark.parametrize(
    "url",
    [
        "http://Example.ORG/a/b.html?x#y",
        "https://user:pw@host:8080/p",
        "http://[::1]:80/x/y",
        "https://h",
        "https://h?q",
        "http://127.0.0.1:43/page.html?n=1",
        "https://ex.org:/a%20b/",
    ],
)
def test_a_source_without_a_name_is_named_by_its_host_and_path(url: str) -> None:
    """The quick split gives what urlsplit gives, for every shape of http(s) URL."""
    from urllib.parse import urlsplit

    from watcher.config.model import CountryConfig, SourceConfig
    from watcher.config.sources import display_name

    parts = urlsplit(url)
    country = CountryConfig(code="VN", name="Vietnam")
    assert display_name(SourceConfig(url=url), country) == f"Vietnam: {parts.hostname}{parts.path}"


def test_compared_versions_cannot_exceed_the_snapshots_kept() -> None:
    data = base()
    data["service"]["keep_snapshots"] = 5
    data["countries"][0]["sources"][0]["compared_versions"] = 8
    assert only_error(data) == (
        "watcher.toml: countries[0].sources[0].compared_versions: 8 versions cannot be compared"
        " when only 5"
        " are kept (service.keep_snapshots)"
    )
    data["checks"] = {"compared_versions": 5}
    del data["countries"][0]["sources"][0]["compared_versions"]
    assert build_config(data, {}, None).sources[0].compared_versions == 5


def test_trusted_proxies_are_addresses_or_networks() -> None:
    data = base()
    data["service"]["trusted_proxies"] = ["10.0.0.2", "172.18.0.0/16", "::1"]
    assert build_config(data, {}, None).settings.service.trusted_proxies == [
        "10.0.0.2",
        "172.18.0.0/16",
        "::1",
    ]
    environ = {"WATCHER_SERVICE__TRUSTED_PROXIES": "10.0.0.2, 172.18.0.0/16"}
    settings = build_config(base(), environ, None).settings
    assert settings.service.trusted_proxies == ["10.0.0.2", "172.18.0.0/16"]
    assert build_config(base(), {}, None).settings.service.trusted_proxies == []
    data["service"]["trusted_proxies"] = ["the proxy"]
    [message] = errors_of(data)
    assert "service.trusted_proxies" in message
    assert "'the proxy'" in message
