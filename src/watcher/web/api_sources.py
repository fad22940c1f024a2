"""`/api/v1/sources` for the desk (issue 27): add, edit, pause and remove the desk's sources,
recheck now, and read a source's history (its versions, one version's text, any two
compared). The configuration file's sources answer 409 to an edit, naming the file. The
work is `watcher/desk/sources.py`'s and `watcher/desk/history.py`'s; this is its HTTP face."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from watcher.config import ConfigError
from watcher.desk.errors import NoSuchSource, OwnedByFile, SourceExists
from watcher.render.json import source_json, version_json
from watcher.store import read_transaction
from watcher.store.schema import MAX_ID
from watcher.store.sources import SourceState, load_state
from watcher.web.api import SourceOut, answers, require_token
from watcher.web.site import site_of

router = APIRouter(
    prefix="/api/v1",
    tags=["sources"],
    dependencies=[Depends(require_token)],
    responses=answers(401),
)

SnapshotId = Annotated[int, Path(ge=1, le=MAX_ID, description="a version's id")]
Duration = Annotated[str, Field(max_length=40, description='e.g. "6h", "30m", "1d"')]
Size = Annotated[str | int, Field(description='bytes, or e.g. "5MB"')]
CODE = r"^[A-Za-z0-9][A-Za-z0-9_-]{1,15}$"  # as `[[countries]] code` takes it


class SourceFields(BaseModel):
    """A source's settings as `[[countries.sources]]` writes them; in an edit, null puts a
    setting back to its default."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None, pattern=r"^https?://[^/\s]+", max_length=2000)
    name: str | None = Field(None, max_length=200)
    country: str | None = Field(None, pattern=CODE, description="a country code")
    country_name: str | None = Field(None, max_length=200, description="for a new country")
    kind: str | None = Field(None, description="auto (default), page, feed, json, pdf or sitemap")
    fetch: Literal["http", "browser"] | None = None
    select: str | None = Field(None, max_length=2000, description="CSS, xpath:..., jq:...")
    exclude: list[str] | None = None
    ignore: list[str] | None = Field(None, description="regular expressions")
    match: str | None = Field(None, description="a feed: only entries matching this regex")
    key: str | None = Field(
        None, min_length=1, max_length=100, description="JSON: the field that names list items"
    )
    documents: bool | str | None = Field(
        None,
        description="a page: follow the documents it links to (true: PDFs; or a regular"
        " expression the links' URLs match), each watched as a source of the same country",
    )
    max_documents: int | None = Field(
        None, ge=1, le=500, description="a page: at most this many linked documents followed"
    )
    content: Literal["all", "main"] | None = None
    updated_pattern: str | None = None
    interval: Duration | None = None
    cron: str | None = Field(None, max_length=100)
    compared_versions: int | None = Field(None, ge=1, le=100)
    recheck_after: Duration | None = None
    timeout: Duration | None = None
    extract_timeout: Duration | None = None
    max_bytes: Size | None = None
    headers: dict[str, str] | None = None


class SourceNew(SourceFields):
    url: str = Field(pattern=r"^https?://[^/\s]+", max_length=2000)
    country: str = Field(pattern=CODE, description="a configured code, or a new one")
    id: str | None = Field(None, max_length=80, description="derived from country and URL")


class SourceEdit(SourceFields):
    paused: bool | None = Field(None, description="true: kept, not checked")


class VersionOut(BaseModel):
    id: int
    taken_at: str
    lines: int


class SectionOut(BaseModel):
    path: list[str]
    lines: list[str]


class VersionFull(BaseModel):
    id: int
    taken_at: str
    sections: list[SectionOut]


class CompareOut(BaseModel):
    from_: int = Field(alias="from")
    to: int
    summary: str
    change: dict[str, Any] | None = Field(description="as in GET /changes/{id}; null: the same")


class RecheckOut(BaseModel):
    due: int = Field(description="how many sources are now due")


def _problem(exc: Exception) -> HTTPException:
    """The HTTP answer to a desk error."""
    if isinstance(exc, ConfigError):
        problems = [problem.partition(": ") for problem in exc.problems]
        detail = [
            {"loc": ["body", key], "msg": what, "type": "value_error"} for key, _, what in problems
        ]
        return HTTPException(422, detail)
    if isinstance(exc, NoSuchSource):
        return HTTPException(404, str(exc))
    return HTTPException(409, str(exc))


async def _answer(request: Request, source_id: str) -> dict[str, Any]:
    app = site_of(request).app
    async with read_transaction(app.engine) as connection:
        state = await load_state(connection, source_id)
    assert state is not None
    return source_json(state, app.config)


@router.post(
    "/sources",
    status_code=201,
    response_model=SourceOut,
    summary="Add a source on the desk",
    responses=answers(409, conflict="a source of that id exists already"),
)
async def add(request: Request, wanted: SourceNew) -> dict[str, Any]:
    """Checked by the rules the configuration file's sources are (an invalid one is a 422
    naming the field), added with `origin` "desk", and due at once."""
    from watcher.desk.sources import add_source

    site = site_of(request)
    fields = wanted.model_dump(exclude_none=True, exclude={"country", "country_name", "id"})
    try:
        source = await add_source(
            site.app,
            fields,
            country=wanted.country,
            country_name=wanted.country_name,
            source_id=wanted.id,
            by="API",
        )
    except (ConfigError, SourceExists) as exc:
        raise _problem(exc) from None
    site.wake()
    return await _answer(request, source.id)


@router.patch(
    "/sources/{source_id}",
    response_model=SourceOut,
    summary="Edit, pause or resume a desk source",
    responses=answers(404, 409, conflict="the source is the configuration file's"),
)
async def edit(request: Request, source_id: str, changes: SourceEdit) -> dict[str, Any]:
    """The settings given replace the source's (null: back to the default); `paused`
    stops or resumes its checks. Changed settings are checked at once."""
    from watcher.desk.sources import edit_source

    site = site_of(request)
    try:
        await edit_source(site.app, source_id, changes.model_dump(exclude_unset=True), by="API")
    except (ConfigError, NoSuchSource, OwnedByFile) as exc:
        raise _problem(exc) from None
    site.wake()
    return await _answer(request, source_id)


@router.delete(
    "/sources/{source_id}",
    status_code=204,
    summary="Remove a desk source (its changes stay readable)",
    responses=answers(404, 409, conflict="the source is the configuration file's"),
)
async def remove(request: Request, source_id: str) -> Response:
    from watcher.desk.sources import remove_source

    try:
        await remove_source(site_of(request).app, source_id, by="API")
    except (NoSuchSource, OwnedByFile) as exc:
        raise _problem(exc) from None
    return Response(status_code=204)


@router.post(
    "/recheck",
    response_model=RecheckOut,
    summary="Recheck now: every source, or a country's",
    responses=answers(404),
)
async def recheck_all(
    request: Request,
    country: Annotated[str | None, Query(max_length=16, description="only this country")] = None,
) -> dict[str, int]:
    """The sources are due at once; the workers take them as their slots allow
    (`POST /sources/{id}/check` checks one and waits for its outcome)."""
    from watcher.desk.sources import recheck

    site = site_of(request)
    code = country.upper() if country else None
    if code is not None and site.app.settings.unknown_countries([code]):
        raise HTTPException(404, f"no such country: {code}")
    due = await recheck(site.app, country=code, by="API")
    site.wake()
    return {"due": due}


async def _known(request: Request, source_id: str) -> SourceState:
    """A source the configuration or the desk has, or a removed one whose history stays."""
    async with read_transaction(site_of(request).app.engine) as connection:
        state = await load_state(connection, source_id)
    if state is None:
        raise HTTPException(404, "no such source")
    return state


@router.get(
    "/sources/{source_id}/snapshots",
    response_model=list[VersionOut],
    summary="A source's stored versions, newest first",
    responses=answers(404),
)
async def snapshots(request: Request, source_id: str) -> list[dict[str, Any]]:
    from watcher.desk.history import history, line_count

    await _known(request, source_id)
    found = await history(site_of(request).app, source_id)
    return [{**version_json(v, full=False), "lines": line_count(v)} for v in found]


@router.get(
    "/sources/{source_id}/snapshots/{snapshot_id}",
    response_model=VersionFull,
    summary="One stored version's text, in sections",
    responses=answers(404),
)
async def snapshot(request: Request, source_id: str, snapshot_id: SnapshotId) -> dict[str, Any]:
    from watcher.desk.history import NoSuchVersion, history, version_of

    await _known(request, source_id)
    try:
        version = version_of(await history(site_of(request).app, source_id), snapshot_id)
    except NoSuchVersion as exc:
        raise HTTPException(404, str(exc)) from None
    return version_json(version, full=True)


@router.get(
    "/sources/{source_id}/compare",
    response_model=CompareOut,
    response_model_by_alias=True,
    summary="Any two stored versions of a source compared",
    responses={**answers(404), 422: {"description": "a version past the comparison's bounds"}},
)
async def compare(
    request: Request,
    source_id: str,
    old: Annotated[int, Query(alias="from", ge=1, le=MAX_ID, description="a version's id")],
    new: Annotated[int, Query(alias="to", ge=1, le=MAX_ID, description="a version's id")],
) -> dict[str, Any]:
    """What changed from one version to the other (the older shown as before), as a
    change's record is; `change` is null when they read the same."""
    from watcher.desk.history import NoSuchVersion, compare_versions
    from watcher.errors import CheckError

    await _known(request, source_id)
    app = site_of(request).app
    try:
        found = await compare_versions(app, source_id, old, new)
    except NoSuchVersion as exc:
        raise HTTPException(404, str(exc)) from None
    except CheckError as exc:
        raise HTTPException(422, exc.reason) from None
    return {
        "from": found.old.id,
        "to": found.new.id,
        "summary": found.summary,
        "change": None if found.change is None else found.change.to_json(),
    }
