"""schemathesis against a real `watcher run` process, driven by the service's own OpenAPI
document at /api/v1/openapi.json, with the API token: no server error, and every answer's
status, content type and body as documented. Bounded: a few dozen cases per operation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from tests.conftest import write_config
from tests.service import API_TOKEN, Running, service_data, start
from tests.smtp import MailServer
from watcher.demo.site import SiteServer

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("api")
    with SiteServer() as site:
        mail = MailServer(tmp).start()
        running = start(write_config(tmp, service_data(site, mail, tmp, interval="6h")))
        try:
            running.wait_for(
                lambda: all(s["status"] == "ok" for s in running.api("/sources")),
                timeout=30,
                what="baselines",
            )
            site.revision = "r2"
            for source in ("vn-profile", "vn-news", "la-updates"):
                running.api(f"/sources/{source}/check", method="POST")
            yield running
        finally:
            running.kill()
            mail.stop()


@pytest.fixture(scope="module")
def api_schema(service: Running) -> Any:
    return schemathesis.openapi.from_url(f"{service.base}/api/v1/openapi.json", headers=AUTH)


def test_the_api_keeps_its_documented_promises(api_schema: Any) -> None:
    # Each operation's cases come from its own Hypothesis strategy (schemathesis' pytest
    # plugin does not run under pytest 9); call_and_validate runs the default checks.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 5

    def conforming(excluded: list[Any]) -> Any:
        def conforms(case: Any) -> None:
            case.call_and_validate(headers=AUTH, excluded_checks=excluded)

        return conforms

    for operation in operations:
        # A preview of a schema-valid source may still be refused (a selector its kind's
        # language does not compile, a URL that does not answer): a 422, as documented. So
        # may a source added or edited on the desk: its settings are checked by the rules of
        # the configuration file (a selector, a duration, a regular expression), a 422
        # naming the field.
        refusable = operation.path == "/api/v1/preview" or (
            operation.path.startswith("/api/v1/sources")
            and operation.method.upper() in ("POST", "PATCH")
            and not operation.path.endswith("/check")
        )
        excluded = [positive_data_acceptance] if refusable else []

        bounded = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
        bounded(given(case=operation.as_strategy())(conforming(excluded)))()


def test_without_the_token_every_operation_is_refused(service: Running) -> None:
    document = httpx.get(f"{service.base}/api/v1/openapi.json", timeout=10).json()
    operations = [
        (method.upper(), path)
        for path, methods in document["paths"].items()
        for method in methods
        if path.startswith("/api/v1/") and path != "/api/v1/openapi.json"
    ]
    assert len(operations) >= 5
    for method, path in operations:
        url = service.base + path.replace("{source_id}", "vn-profile").replace("{change_id}", "1")
        for headers in ({}, {"Authorization": "Bearer wrong-token"}):
            answer = httpx.request(method, url, headers=headers, timeout=10)
            assert answer.status_code == 401, (method, path, answer.status_code)
            assert "@" not in answer.text  # nobody's address, nothing about subscribers


MALFORMED = [
    b"1e999999",  # parses as infinity, which JSON cannot carry back in an error
    b"-1e999999",
    b"NaN",
    b"{",
    b"",
    b"null",
    b"[" * 100_000 + b"]" * 100_000,  # deeper than any parser's recursion
    b'{"email": ' + b"9" * 5_000 + b"}",  # past Python's digits limit for int()
    b'{"email": "\\ud800@example.org", "countries": ["VN"]}',  # a lone surrogate
    b'{"email": "a@example.org", "countries": [' + b'"VN",' * 50_000 + b'"VN"]}',
    b"\xff\xfe{}",  # not UTF-8
    b'{"email": {"$gt": ""}, "countries": "VN"}',
    b'{"decision": "approve", "note": null}',
]


def test_no_body_gives_a_server_error(service: Running) -> None:
    document = httpx.get(f"{service.base}/api/v1/openapi.json", timeout=10).json()
    posts = [
        path.replace("{source_id}", "vn-profile").replace("{change_id}", "1")
        for path, methods in document["paths"].items()
        for method in methods
        if method in ("post", "put", "patch")
    ]
    assert "/api/v1/subscribers" in posts
    for path in posts:
        for body in MALFORMED:
            answer = httpx.post(
                service.base + path,
                content=body,
                headers={**AUTH, "Content-Type": "application/json"},
                timeout=30,
            )
            assert answer.status_code < 500, (path, body[:40], answer.status_code, answer.text)
            if answer.status_code >= 400:
                assert answer.json()["detail"], (path, body[:40])
