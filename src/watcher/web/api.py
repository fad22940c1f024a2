"""`/api/v1`: sources, changes and subscribers as JSON, checks on demand, learned noise.

Every endpoint needs `Authorization: Bearer <WATCHER_API_TOKEN>`; without a configured token
the API refuses everything. The shapes are those of docs/json.md.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, model_validator

from watcher.check import run_pass
from watcher.config.model import country_key
from watcher.diff.interest import MAX_KEYWORDS
from watcher.render.json import (
    change_json,
    noise_json,
    source_json,
    subscriber_json,
)
from watcher.store import read_transaction, write_transaction
from watcher.store.changes import get_change, list_changes
from watcher.store.follows import sections_seen
from watcher.store.sources import SourceState, forget_noise, load_state, load_states
from watcher.store.subscribers import list_subscribers, subscribe
from watcher.web.params import Before, ChangeId
from watcher.web.site import site_of

UNAUTHORIZED = HTTPException(
    401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"}
)


# The token as the OpenAPI document declares it (`/api/docs` offers to enter it once); a
# request without it, or with another scheme, is refused here with the one 401 below.
BEARER = HTTPBearer(auto_error=False, description="WATCHER_API_TOKEN")


def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)] = None,
) -> None:
    expected = site_of(request).api_token
    given = credentials.credentials.strip() if credentials else ""
    if not expected or not given:
        raise UNAUTHORIZED
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise UNAUTHORIZED


class ErrorOut(BaseModel):
    detail: str


def answers(*statuses: int, conflict: str | None = None) -> dict[int | str, dict[str, Any]]:
    """The error answers an operation documents, besides its 200 and the 422 FastAPI adds."""
    meaning = {
        401: "the bearer token is missing or wrong",
        404: "no such item",
        409: conflict or "the source is being checked right now",
    }
    return {status: {"model": ErrorOut, "description": meaning[status]} for status in statuses}


router = APIRouter(
    prefix="/api/v1",
    tags=["api"],
    dependencies=[Depends(require_token)],
    responses=answers(401),
)


class SourceOut(BaseModel):
    id: str
    country: str
    country_name: str
    name: str
    url: str
    kind: str | None
    status: Literal["new", "ok", "failing"]
    failures: int
    last_error: str | None
    last_warning: str | None
    noise_lines: int
    failing_since: str | None
    last_checked_at: str | None
    last_success_at: str | None
    last_change_at: str | None
    next_check_at: str
    origin: Literal["config", "desk"] = Field(
        description="who owns its settings: the configuration file, or the desk"
    )
    linked_from: str | None = Field(
        None,
        description="a linked document (a page's `documents`): the page source that links to"
        " it; it is followed until the link goes away",
    )
    paused: bool = Field(description="kept, not checked (a desk source)")


class NoiseLineOut(BaseModel):
    key: str
    example: str
    learned_at: str


class NoiseOut(BaseModel):
    id: str
    country: str
    url: str
    lines: list[NoiseLineOut]


class ReviewOut(BaseModel):
    state: Literal["waiting", "approved", "discarded"]
    note: str | None
    at: str | None


class ChangeOut(BaseModel):
    id: int
    detected_at: str
    country: str
    country_name: str
    source_id: str
    source_name: str
    url: str
    kind: Literal["page", "feed"]
    summary: str
    significance: float = Field(
        ge=0.0, le=1.0, description="how much the change matters (the README has the formula)"
    )
    reasons: list[str] = Field(description="why it scored as it did, a short phrase each")
    review: ReviewOut | None


class ChangeFull(ChangeOut):
    change: dict[str, Any]


# An address the API takes: plain ASCII with a dotted domain, as the subscribe form does
# (the configuration and the CLI take any address `check_email` does).
ADDRESS = r"^[A-Za-z0-9!#$%&*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"
Code = Annotated[str, Field(pattern=r"^(\*|[A-Za-z0-9][A-Za-z0-9_-]{1,15})$")]
# At least one letter or digit, in a range Python and JSON Schema read alike.
LETTER = r"[0-9A-Za-z\u00c0-\u1fff\u3040-\ud7ff]"
Words = Annotated[str, Field(min_length=1, max_length=200, pattern=LETTER)]


class SectionChoice(BaseModel):
    model_config = ConfigDict(regex_engine="python-re")

    country: Code = Field(description='a country code, or "*" for every country')
    section: Words = Field(description="a top-level heading of that country's pages")


class SubscriberOut(BaseModel):
    email: str = Field(description="the address; `channel:NAME` for a configured channel")
    channel: str | None = Field(None, description="the configured channel's name, if one")
    countries: list[str]
    sections: list[SectionChoice]
    keywords: list[str]
    news_off: list[str] = Field(
        description="countries of their sections whose news (feeds) they turned off"
    )
    notable: bool = Field(
        description="told only of the changes whose significance reaches significance.notable"
    )
    frequency: Literal["immediate", "daily", "weekly"]
    status: Literal["active", "pending", "suspended", "unsubscribed"]
    origin: str
    created_at: str | None
    confirmed_at: str | None


class SubscriberIn(BaseModel):
    """Something to follow is required: countries, sections or keywords."""

    model_config = ConfigDict(
        regex_engine="python-re",  # the patterns mean what they mean to the configuration
        json_schema_extra={
            "anyOf": [
                {"required": [name], "properties": {name: {"minItems": 1}}}
                for name in ("countries", "sections", "keywords")
            ]
        },
    )

    email: str = Field(pattern=ADDRESS, max_length=254)
    countries: list[Code] = Field(default_factory=list, description='followed whole; "*": all')
    sections: list[SectionChoice] = Field(default_factory=list)
    keywords: list[Annotated[str, Field(min_length=1, max_length=100, pattern=LETTER)]] = Field(
        default_factory=list, max_length=MAX_KEYWORDS
    )
    news_off: list[Code] = Field(
        default_factory=list,
        description="countries of the sections given whose news (feeds) is not wanted; by"
        " default a country's news comes with its sections",
    )
    notable: bool | None = Field(
        None,
        description="only the changes whose significance reaches significance.notable (true),"
        " or every change (false); left as it was when not given",
    )
    frequency: Literal["immediate", "daily", "weekly"] | None = None

    @model_validator(mode="after")
    def _something(self) -> SubscriberIn:
        if not (self.countries or self.sections or self.keywords):
            raise ValueError("name countries, sections or keywords to follow")
        return self


class CheckOut(BaseModel):
    source_id: str
    status: Literal["baseline", "unchanged", "changed", "failed"]
    detail: str
    change_id: int | None
    seconds: float


@router.get("/sources", response_model=list[SourceOut], summary="Every source and its state")
async def sources(request: Request) -> list[dict[str, Any]]:
    app = site_of(request).app
    async with read_transaction(app.engine) as connection:
        states = await load_states(connection, active_only=False)
    return [source_json(state, app.config) for state in states if app.config.source(state.id)]


@router.get(
    "/sources/{source_id}", response_model=SourceOut, summary="One source", responses=answers(404)
)
async def source(request: Request, source_id: str) -> dict[str, Any]:
    return source_json(await _active_state(request, source_id), site_of(request).app.config)


async def _active_state(request: Request, source_id: str) -> SourceState:
    async with read_transaction(site_of(request).app.engine) as connection:
        state = await load_state(connection, source_id)
    if state is None or site_of(request).app.config.source(source_id) is None:
        raise HTTPException(404, "no such source")  # removed: its changes stay readable
    return state


@router.get(
    "/sources/{source_id}/noise",
    response_model=NoiseOut,
    summary="The lines one source learned as noise",
    responses=answers(404),
)
async def noise(request: Request, source_id: str) -> dict[str, Any]:
    return noise_json(await _active_state(request, source_id))


@router.delete(
    "/sources/{source_id}/noise",
    status_code=204,
    summary="Forget the noise one source learned (its next check takes a fresh baseline)",
    responses=answers(404),
)
async def forget(request: Request, source_id: str) -> Response:
    app = site_of(request).app
    if app.config.source(source_id) is None:
        raise HTTPException(404, "no such source")
    async with write_transaction(app.engine) as connection:
        await forget_noise(connection, [source_id])
    return Response(status_code=204)


@router.post(
    "/sources/{source_id}/check",
    response_model=CheckOut,
    summary="Check one source now",
    responses=answers(404, 409),
)
async def check(request: Request, source_id: str) -> dict[str, Any]:
    site = site_of(request)
    if site.app.config.source(source_id) is None:
        raise HTTPException(404, "no such source")
    result = await run_pass(site.app, ids=[source_id])
    if not result.outcomes:
        raise HTTPException(409, "this source is being checked right now; try again shortly")
    site.kick()  # a change means mail to deliver
    outcome = result.outcomes[0]
    return {
        "source_id": source_id,
        "status": outcome.status,
        "detail": outcome.detail,
        "change_id": outcome.change_id,
        "seconds": round(outcome.seconds, 3),
    }


@router.get("/changes", response_model=list[ChangeOut], summary="Changes, newest first")
async def changes(
    request: Request,
    country: str | None = None,
    source: str | None = None,
    since: Annotated[datetime | None, Query(description="ISO 8601; naive means UTC")] = None,
    before: Before = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    min_significance: Annotated[
        float | None, Query(ge=0.0, le=1.0, description="only changes scoring this or more")
    ] = None,
) -> list[dict[str, Any]]:
    app = site_of(request).app
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    async with read_transaction(app.engine) as connection:
        records = await list_changes(
            connection,
            country=country.upper() if country else None,
            source_id=source,
            since=since,
            before_id=before,
            limit=limit,
            min_significance=min_significance,
        )
    return [change_json(record, app.config) for record in records]


@router.get(
    "/changes/{change_id}",
    response_model=ChangeFull,
    summary="One change in full",
    responses=answers(404),
)
async def change(request: Request, change_id: ChangeId) -> dict[str, Any]:
    app = site_of(request).app
    async with read_transaction(app.engine) as connection:
        record = await get_change(connection, change_id)
    if record is None:
        raise HTTPException(404, "no such change")
    return change_json(record, app.config, full=True)


@router.get("/subscribers", response_model=list[SubscriberOut], summary="Subscribers")
async def subscribers(
    request: Request,
    inactive: Annotated[bool, Query(description="include the unsubscribed")] = False,
    q: Annotated[
        str | None, Query(max_length=254, description="only addresses holding this, any case")
    ] = None,
) -> list[dict[str, Any]]:
    app = site_of(request).app
    async with read_transaction(app.engine) as connection:
        found = await list_subscribers(connection, include_inactive=inactive, search=q)
    return [subscriber_json(subscriber) for subscriber in found]


@router.post(
    "/subscribers",
    response_model=SubscriberOut,
    summary="Subscribe an address (confirmed at once), adding to what it follows",
    responses=answers(404),
)
async def subscribe_address(request: Request, wanted: SubscriberIn) -> dict[str, Any]:
    app = site_of(request).app
    email = wanted.email.strip()
    codes = [country_key(code) for code in wanted.countries]
    sections = [(country_key(c.country), c.section) for c in wanted.sections]
    unknown = app.settings.unknown_countries([*codes, *(code for code, _ in sections)])
    if unknown:
        raise HTTPException(404, f"no such country: {', '.join(unknown)}")
    async with write_transaction(app.engine) as connection:
        subscriber = await subscribe(
            connection,
            email=email,
            countries=codes,
            frequency=wanted.frequency,
            origin="api",
            now=app.clock(),
            sections=sections,
            keywords=wanted.keywords,
            quiet=[country_key(code) for code in wanted.news_off],
            notable=wanted.notable,
        )
    return subscriber_json(subscriber)


@router.get(
    "/sections",
    response_model=dict[str, list[str]],
    summary="The sections readers can follow: each country's top-level headings",
)
async def sections(request: Request) -> dict[str, list[str]]:
    app = site_of(request).app
    async with read_transaction(app.engine) as connection:
        return await sections_seen(connection)
