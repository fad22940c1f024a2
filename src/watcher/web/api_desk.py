"""The API for the desk's work (issue 27): a source tried before it is added
(`POST /api/v1/preview`), an editor's decision (`POST /api/v1/changes/{id}/review`), and an
operator's care of subscribers (erase, resend a confirmation), behind the same token as the
rest of `/api/v1` (`web/api.py`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from watcher.desk.errors import OwnedByFile
from watcher.render.json import change_json, message_json, preview_json, subscriber_json
from watcher.store import read_transaction
from watcher.store.changes import get_change
from watcher.web.api import ChangeFull, ErrorOut, SubscriberOut, answers, require_token
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
        terms=app.config.key_terms,
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
    from watcher.desk.errors import NoSuchReader
    from watcher.desk.readers import erase

    try:
        await erase(site_of(request).app, email)
    except NoSuchReader:
        raise HTTPException(404, "no such subscriber") from None
    except OwnedByFile as exc:
        raise HTTPException(409, str(exc)) from None
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


class MessageOut(BaseModel):
    id: int
    kind: str = Field(description="change, digest, confirm, welcome, manage, alert")
    status: Literal["queued", "sent", "failed", "cancelled"]
    recipient: str
    subject: str
    message_id: str
    attempts: int
    next_attempt_at: str | None
    last_error: str | None
    created_at: str
    sent_at: str | None
    body_dropped_at: str | None


@router.get(
    "/subscribers/{email}/messages",
    response_model=list[MessageOut],
    summary="One reader's mail, newest first",
    responses=answers(404),
)
async def reader_mail(request: Request, email: str) -> list[dict[str, Any]]:
    """What was queued for the reader, sent, failed or cancelled, with the last error: the
    history the desk's reader page shows (at most 100)."""
    from watcher.desk.errors import NoSuchReader
    from watcher.desk.readers import mail_of, reader_named

    app = site_of(request).app
    try:
        reader = await reader_named(app, email)
    except NoSuchReader:
        raise HTTPException(404, "no such subscriber") from None
    return [message_json(message) for message in await mail_of(app, reader)]


@router.post(
    "/subscribers/{email}/unsubscribe",
    response_model=SubscriberOut,
    summary="Stop all mail to a reader (their choices kept), as their own link does",
    responses=answers(404),
)
async def unsubscribe_reader(request: Request, email: str) -> dict[str, Any]:
    from watcher.desk.errors import NoSuchReader
    from watcher.desk.readers import reader_named, unsubscribe

    app = site_of(request).app
    try:
        await unsubscribe(app, email)
    except NoSuchReader:
        raise HTTPException(404, "no such subscriber") from None
    return subscriber_json(await reader_named(app, email))


MAX_CSV = 5_000_000  # bytes in one import


class ImportOut(BaseModel):
    added: int = Field(description="subscribed at once (consent stated)")
    asked: int = Field(description="sent a confirmation email; nothing starts until it is used")
    unchanged: int = Field(description="already following all their row asks")
    waiting: int = Field(description="sent a confirmation minutes ago: not sent another")
    problems: list[str] = Field(description="each row refused, with its line and why")


@router.get(
    "/subscribers.csv",
    response_class=Response,
    summary="Every subscriber as CSV",
    responses={200: {"content": {"text/csv": {}}, "description": "email, countries, ..."}},
)
async def export_readers(request: Request) -> Response:
    """The columns `watcher subscribers --csv` writes and an import reads: email,
    countries, sections, keywords, news_off (lists separated by ';'), frequency, status,
    origin, created_at, confirmed_at."""
    from watcher.desk.readers import all_readers, export_csv

    text = export_csv(await all_readers(site_of(request).app))
    headers = {"Content-Disposition": 'attachment; filename="subscribers.csv"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


@router.post(
    "/subscribers/import",
    response_model=ImportOut,
    summary="Import subscribers from CSV (double opt-in unless consent is stated)",
    responses={413: {"model": ErrorOut, "description": "more than 5 MB"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
async def import_readers(
    request: Request,
    consent: Annotated[
        bool, Query(description="the readers agreed: subscribed at once, no confirmation")
    ] = False,
) -> dict[str, Any]:
    """A header line naming the columns (`email` among them; `countries`, `sections`,
    `keywords`, `news_off` with ';' between items, `frequency`; others left aside, so an
    export reads back). Without `consent`, each address gets the confirmation the subscribe
    form sends. A row written wrong is refused with its line; the others are imported."""
    from watcher.desk.readers import import_csv

    site = site_of(request)
    body = await request.body()
    if len(body) > MAX_CSV:
        raise HTTPException(413, "at most 5 MB of CSV at once")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(422, "the CSV is not UTF-8 text") from None
    done = await import_csv(site.app, text, consent=consent, by="API")
    if done.asked:
        site.kick()
    return {
        "added": len(done.added),
        "asked": len(done.asked),
        "unchanged": len(done.unchanged),
        "waiting": len(done.waiting),
        "problems": done.problems,
    }
