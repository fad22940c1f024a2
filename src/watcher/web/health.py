"""`/healthz` for the container's health check and `/metrics` for Prometheus."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from watcher.store import read_transaction
from watcher.web.site import site_of

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    """200 when the database answers and the scheduler is alive, 503 otherwise."""
    site = site_of(request)
    checks = {"database": "ok", "scheduler": "ok" if site.alive() else "not running"}
    try:
        async with asyncio.timeout(5), read_transaction(site.app.engine) as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach it is the answer
        checks["database"] = f"unreachable: {type(exc).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "failing", **checks}, 200 if healthy else 503
    )


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    return Response(site_of(request).app.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
