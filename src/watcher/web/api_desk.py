"""The API for the desk's work (issue 27): a source tried before it is added
(`POST /api/v1/preview`), an editor's decision (`POST /api/v1/changes/{id}/review`), and an
operator's care of subscribers (erase, resend a confirmation), behind the same token as the
rest of `/api/v1` (`web/api.py`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from watcher.render.json import change_json, preview_json
from watcher.store import read_transaction
from watcher.store.changes import get_change
from watcher.web.api import ChangeFull, answers, require_token
from watcher.web.params import ChangeId
from watcher.web.site import site_of

router = APIRouter(
    prefix="/api/v1",
    tags=["desk"],
    dependencies=[Depends(require_token)],
    responses=answers(401),
)


class SourceIn(BaseModel):
    """A source as `[[countries.sources]]` writes it (the fields a preview reads)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://[^/\s]+", max_length=2000, description="http(s)")
    kind: str | None = Field(None, description="auto (default), page, feed, json or pdf")
    select: str | None = Field(None, description="CSS, xpath:..., or jq:... for JSON")
    exclude: list[str] | None = None
    ignore: list[str] | None = None
    match: str | None = Field(None, description="a feed: only entries matching this regex")
    content: Literal["all", "main"] | None = None
    fetch: Literal["http", "browser"] | None = None


class SectionOut(BaseModel):
    path: list[str]
    lines: list[str]


class PreviewOut(BaseModel):
    kind: str
    last_updated: str | None
    sections: list[SectionOut]
    warnings: list[str]
    removed: list[str] = Field(description="lines `exclude` and `ignore` took away")


@router.post(
    "/preview",
    response_model=PreviewOut,
    summary="What a source would keep, before it is added",
    responses={
        422: {
            "description": "a field its kind refuses (`detail` a list naming each), or the"
            " reason the fetch or the reading failed (`detail` a string, as a failed check's)"
        }
    },
)
async def preview_source(request: Request, wanted: SourceIn) -> dict[str, Any]:
    """Fetched and read as its check would read it; nothing is written. A source written
    wrong is a 422 naming each field; a fetch or a reading that fails, a 422 whose
    `detail` is the reason its check would give."""
    from watcher.check.preview import preview
    from watcher.config import ConfigError
    from watcher.errors import CheckError
    from watcher.loading import source_from

    app = site_of(request).app
    fields = wanted.model_dump(exclude_none=True)
    try:
        source = source_from(fields, app.config)
    except ConfigError as exc:
        problems = [problem.partition(": ") for problem in exc.problems]
        detail = [
            {"loc": ["body", key], "msg": what, "type": "value_error"} for key, _, what in problems
        ]
        raise HTTPException(422, detail) from None
    try:
        found = await preview(app, source)
    except CheckError as failure:
        raise HTTPException(422, failure.reason) from None
    return preview_json(found)


class ApproveIn(BaseModel):
    decision: Literal["approve"]
    note: str | None = Field(None, max_length=2000, description="atop the readers' email")


class DiscardIn(BaseModel):
    decision: Literal["discard"]
    note: str = Field(
        min_length=1, max_length=2000, pattern=r"\S", description="why: required to discard"
    )


ReviewIn = Annotated[ApproveIn | DiscardIn, Field(discriminator="decision")]


@router.post(
    "/changes/{change_id}/review",
    response_model=ChangeFull,
    summary="Approve or discard a change waiting for review",
    responses=answers(404, 409, conflict="the change is not waiting for review"),
)
async def review(
    request: Request, change_id: ChangeId, decision: Annotated[ReviewIn, Body()]
) -> dict[str, Any]:
    """As an editor does on the queue: approved, its readers are told what changed since
    what they last heard; discarded, they never are. The change comes back as
    `GET /changes/{id}` gives it, its `review` saying what was done."""
    from watcher.notify.review import decide

    site = site_of(request)
    app = site.app
    async with read_transaction(app.engine) as connection:
        if await get_change(connection, change_id) is None:
            raise HTTPException(404, "no such change")
    done = await decide(
        app.engine,
        app.extraction,
        change_id,
        approve=decision.decision == "approve",
        editor="API",
        note=decision.note,
        now=app.clock(),
        deadline=app.settings.checks.extract_timeout.total_seconds(),
    )
    if done is None:
        raise HTTPException(409, "this change is not waiting for review")
    if done.state == "approved":
        site.kick()  # its news may go out now
    async with read_transaction(app.engine) as connection:
        record = await get_change(connection, change_id)
    assert record is not None
    return change_json(record, app.config, full=True)


@router.delete(
    "/subscribers/{email}",
    status_code=204,
    summary="Erase a subscriber, as the reader's own erase does",
    responses=answers(404, 409, conflict="the subscriber is declared in the configuration file"),
)
async def erase_subscriber(request: Request, email: str) -> Response:
    """Their subscription, choices and waiting news are deleted; the messages sent to them
    stay only as counts, without address, text or error."""
    from watcher.store import write_transaction
    from watcher.store.personal import erase_reader
    from watcher.store.subscribers import find_subscriber

    app = site_of(request).app
    async with write_transaction(app.engine) as connection:
        reader = await find_subscriber(connection, email)
        if reader is None:
            raise HTTPException(404, "no such subscriber")
        if reader.origin == "config":
            where = app.config.path or "the configuration"
            raise HTTPException(409, f"declared in {where}: remove them there")
        await erase_reader(connection, reader, app.clock())
    return Response(status_code=204)


class ResentOut(BaseModel):
    email: str
    sent: bool = Field(description="false: one went out less than ten minutes ago")


@router.post(
    "/subscribers/{email}/resend",
    response_model=ResentOut,
    summary="Send a reader's confirmation email again",
    responses=answers(404, 409, conflict="no confirmation is waiting for this address"),
)
async def resend_confirmation(request: Request, email: str) -> dict[str, Any]:
    """A fresh link for the subscription the address asked for and has not confirmed yet
    (the last one lost, or expired); the same email the form sends."""
    from watcher.notify.confirmations import resend_confirmation
    from watcher.store.subscribers import find_subscriber

    site = site_of(request)
    app = site.app
    async with read_transaction(app.engine) as connection:
        reader = await find_subscriber(connection, email)
    if reader is None:
        raise HTTPException(404, "no such subscriber")
    sent = await resend_confirmation(app.engine, app.composer, email, app.clock())
    if sent is None:
        raise HTTPException(409, "no confirmation is waiting for this address")
    if sent:
        site.kick()
    return {"email": reader.email, "sent": sent}
