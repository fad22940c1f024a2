"""Path and query parameters that several endpoints share, with the range the database can
hold: an id past it is refused with 422, not handed to a driver that would overflow."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from watcher.store.schema import MAX_ID

ChangeId = Annotated[int, Path(ge=1, le=MAX_ID, description="a change's id")]
Before = Annotated[
    int | None, Query(ge=1, le=MAX_ID, description="changes older than this id (paging)")
]
