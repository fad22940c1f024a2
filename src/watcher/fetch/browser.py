"""The browser fetcher: a page as headless Chromium renders it, for the sites that build
their content with JavaScript (`fetch = "browser"` on a source).

Playwright drives the system's Chromium (Debian's `chromium-headless-shell`, else its
`chromium`, or `$WATCHER_CHROMIUM`);
nothing is downloaded at run time, and both are optional: a source that asks for the browser
on a machine without them fails its check with what to install, and the service goes on. One
browser per process, started on first use; at most `checks.browser_concurrency` pages at
once; each check in a fresh context, so no cookie or storage outlives it.

A page is taken once it has loaded, its DOM has not changed for `STABLE` seconds (a
MutationObserver installed before the page's scripts run) with no request of its own in
flight, and its `select`, if any, holds text. The page's main thread answers the probe only
when it is free, so a bundle still being parsed is waited for, not taken as the empty page
it is meanwhile. A page whose scripts never rest is taken as it stands `IDLE_WAIT` after it
loaded (after its `select` first held text); a `select` that holds no text by the deadline is
the check's failure, saying so. The source's `timeout` bounds the whole render, `max_bytes` the
rendered document. What a render that came out empty means is the check's to say
(`check/pipeline.py`).

Every request of the page goes through a `Gate` (`fetch/gate.py`), a proxy on loopback for
that render, which applies the HTTP fetcher's address rules (`fetch/guard.py`) to each
connection: the configured URL's host is the operator's choice; any other host must be
public unless the source sets `allow_private`. A main document led elsewhere is a failed
check saying where.

Memory is bounded twice by `checks.extract_memory`: half of it is each page's script heap
(V8's own limit, past which the page crashes), and a page's renderer process may not use
more than all of it (its proportional set size, `fetch/footprint.py`, read five times a
second while pages render), or it is killed and its page fails saying so. `RLIMIT_AS` cannot
do this: Chromium reserves far more address space than it uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
from collections.abc import Coroutine
from typing import Any
from urllib.parse import urlsplit

from watcher.config.units import format_megabytes
from watcher.fetch.client import Request, Response, Validators, format_duration_seconds
from watcher.fetch.errors import FetchError
from watcher.fetch.footprint import lower_priority, renderers
from watcher.fetch.gate import Gate
from watcher.fetch.guard import OPT_IN

log = logging.getLogger("watcher.fetch")

# Debian's headless shell first: the same Blink without the browser's window machinery, at
# about half the memory (~205 MB of processes against ~395 MB for `chromium`, idle).
CHROMIUM = ("chromium-headless-shell", "chromium", "chromium-browser")
ARGS = (
    "--no-sandbox",  # the container runs as an unprivileged user without user namespaces
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--proxy-bypass-list=<-loopback>",  # loopback goes through the gate (fetch/gate.py) too
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",  # no UDP around the gate
)
IDLE_WAIT = 5.0  # seconds after "load" to wait for the page to rest, at most
STABLE = 0.5  # seconds without a change to the DOM, nothing in flight, before it is taken
PROBE_EVERY = 0.1  # seconds between two looks at the page while it settles
# Installed in every page before its own scripts: when its DOM last changed.
MUTATIONS = """(() => {
  const mark = () => { window.__watcherChanged = performance.now(); };
  mark();
  new MutationObserver(mark).observe(document,
    {subtree: true, childList: true, characterData: true});
})();"""
# [ms since the DOM last changed, the select's text length (-1: not there; -2: a selector
# the page cannot run), or the document's text length without a select]
PROBE = """(selector) => {
  const quiet = performance.now() - (window.__watcherChanged || 0);
  let node = document.body;
  if (selector) {
    try {
      node = selector.startsWith("xpath=")
        ? document.evaluate(selector.slice(6), document, null,
            XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue
        : document.querySelector(selector);
    } catch (e) { return [quiet, -2]; }
  }
  return [quiet, node ? (node.textContent || "").trim().length : -1];
}"""
WATCH_EVERY = 0.2  # seconds between two readings of the browser's memory during a render
NICE = 10  # Chromium's niceness, added to the service's (as extract/bounded.py's workers)
CLOSE_WAIT = 5.0  # seconds for a render's context to close before the browser is restarted


class BrowserFetcher:
    """Fetches by rendering in headless Chromium; the same one method as `Fetcher`."""

    def __init__(self, *, user_agent: str, concurrency: int = 2, memory: int = 512_000_000) -> None:
        self._user_agent = user_agent
        self._pages = asyncio.Semaphore(concurrency)
        self._starting = asyncio.Lock()
        self._playwright: Any = None
        self._browser: Any = None
        self._memory = memory
        self._rendering = 0
        self._kills = 0  # renderers killed for their memory, ever
        self._watcher: asyncio.Task[None] | None = None

    async def aclose(self) -> None:
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = None
        with contextlib.suppress(Exception):  # a browser that died is closed already
            if browser is not None:
                await browser.close()
        if playwright is not None:
            await playwright.stop()

    async def fetch(self, request: Request, slots: asyncio.Semaphore | None = None) -> Response:
        own = own_host(request)
        async with (
            self._pages,
            slots or contextlib.nullcontext(),
            Gate(own, allow_private=request.allow_private) as gate,
        ):
            browser = await self._started()  # waits while the browser is restarted
            context = await browser.new_context(
                user_agent=self._user_agent,
                extra_http_headers=dict(request.headers),
                service_workers="block",
                # Every request of the page, loopback included, goes through the gate.
                proxy={"server": gate.url, "bypass": "<-loopback>"},
            )
            self._rendering += 1
            self._watch()
            try:
                async with asyncio.timeout(request.timeout):
                    return await self._bounded(_render(context, request, gate))
            except TimeoutError:
                raise FetchError(
                    f"timed out after {format_duration_seconds(request.timeout)}"
                    " (the page did not finish loading in the browser)"
                ) from None
            finally:
                self._rendering -= 1
                await self._close(context)

    async def _bounded(self, rendering: Coroutine[Any, Any, Response]) -> Response:
        """The render; a renderer that crashed (V8's heap limit, or killed by the watch for
        its memory) is the page's failed check, saying which bound it passed."""
        from playwright.async_api import Error as PlaywrightError

        kills = self._kills
        try:
            return await rendering
        except (FetchError, PlaywrightError) as exc:
            message = exc.reason if isinstance(exc, FetchError) else str(exc)
            if "crash" not in message.lower():
                if isinstance(exc, FetchError):
                    raise
                raise FetchError(f"the browser failed: {_first_line(exc)}") from None
            if self._kills > kills:
                raise FetchError(
                    f"the page needed more than {format_megabytes(self._memory)} in the browser"
                ) from None
            raise FetchError(
                "the page crashed the browser (its scripts needed more than"
                f" {format_megabytes(self._memory // 2)} of memory?)"
            ) from None

    def _watch(self) -> None:
        """Watch the renderers' memory (`fetch/footprint.py`) while pages are rendered."""
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.create_task(self._watching(), name="watcher-browser-memory")

    async def _watching(self) -> None:
        """Every `WATCH_EVERY` while pages render: a renderer process past `memory` is
        killed (its page crashes, and says why)."""
        while self._rendering:
            await asyncio.sleep(WATCH_EVERY)
            for pid, used in await asyncio.to_thread(renderers, _is_chromium):
                if used > self._memory:
                    log.warning(
                        "a page's renderer uses %s (more than %s): it is stopped",
                        format_megabytes(used),
                        format_megabytes(self._memory),
                    )
                    self._kills += 1
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)

    async def _close(self, context: Any) -> None:
        """Close a render's context; a browser that does not manage it is restarted."""
        try:
            async with asyncio.timeout(CLOSE_WAIT):
                await context.close()
        except TimeoutError:
            log.warning("a render's context did not close: the browser is restarted")
            await self.aclose()
        except Exception:  # a browser that died is closed already
            return

    async def _started(self) -> Any:
        async with self._starting:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            try:
                from playwright.async_api import async_playwright
            except ImportError:
                raise FetchError(
                    "fetch = 'browser' needs Playwright: pip install 'watcher[browser]'"
                ) from None
            wanted = os.environ.get("WATCHER_CHROMIUM")
            executable = (
                shutil.which(wanted)
                if wanted
                else next((found for name in CHROMIUM if (found := shutil.which(name))), None)
            )
            if not executable:
                raise FetchError(
                    "fetch = 'browser' needs Chromium: apt-get install chromium-headless-shell"
                    " (or chromium)"
                    " (or set WATCHER_CHROMIUM to its path)"
                )
            if self._playwright is None:
                try:
                    self._playwright = await async_playwright().start()
                except Exception as exc:  # its Node.js driver could not run (a library missing)
                    raise FetchError(
                        f"Playwright's driver did not start ({type(exc).__name__}: {exc});"
                        " its log says which system library is missing"
                    ) from None
            try:
                # Half the memory bound for the script heap of each page (V8's limit:
                # a page past it crashes at once); the other half for the rest of it.
                heap = f"--js-flags=--max-old-space-size={self._memory // 2 // 1_000_000}"
                self._browser = await self._playwright.chromium.launch(
                    executable_path=executable, args=[*ARGS, heap], headless=True
                )
                # Below the service, as the extraction workers are: the pages' renderers
                # are forked from these processes and keep their niceness.
                await asyncio.to_thread(lower_priority, _is_chromium, NICE)
            except Exception as exc:
                raise FetchError(f"Chromium ({executable}) did not start: {exc}") from None
            return self._browser


async def _render(context: Any, request: Request, gate: Gate) -> Response:
    from playwright.async_api import Error as PlaywrightError

    begun = asyncio.get_running_loop().time()
    page = await context.new_page()
    await page.add_init_script(MUTATIONS)
    flight = _InFlight(page)
    try:
        response = await page.goto(request.url, wait_until="load")
    except PlaywrightError as exc:
        if own_host(request) in gate.unreachable:
            raise FetchError(gate.unreachable[own_host(request)]) from None
        if gate.refused:
            raise FetchError(
                f"redirected into private address space ({gate.refused[0]}); {OPT_IN}"
            ) from None
        raise FetchError(f"the browser could not load the page: {_first_line(exc)}") from None
    if response is None:
        raise FetchError("the browser got no response")
    landed = (urlsplit(response.url).hostname or "").lower()
    if landed in gate.refused:  # the document itself was led into private space
        raise FetchError(f"redirected into private address space ({landed}); {OPT_IN}")
    if landed in gate.unreachable:  # the gate's 502, not the server's
        raise FetchError(gate.unreachable[landed])
    if response.status >= 400:
        raise FetchError(f"HTTP {response.status} {response.status_text}".strip())
    await _settle(page, request, flight, begun + request.timeout - _margin(request))
    html = await page.content()
    body = html.encode("utf-8")
    if len(body) > request.max_bytes:
        raise FetchError(f"larger than max_bytes ({request.max_bytes:,} bytes) once rendered")
    return Response(
        url=page.url,
        status=response.status,
        body=body,
        content_type="text/html; charset=utf-8",
        validators=Validators(),
    )


class _InFlight:
    """How many of the page's requests are under way (its own events, in this process)."""

    def __init__(self, page: Any) -> None:
        self.count = 0
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    def _started(self, _: Any) -> None:
        self.count += 1

    def _ended(self, _: Any) -> None:
        self.count = max(0, self.count - 1)


async def _settle(page: Any, request: Request, flight: _InFlight, give_up: float) -> None:
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    """Wait until the page has drawn: its DOM unchanged for `STABLE` with nothing in flight,
    twice in a row `PROBE_EVERY` apart (a request the page has just made reaches this
    process as an event a moment later), and its select holding text. A page that never
    rests is taken `IDLE_WAIT` after it loaded, or after its select first held text; a select
    that never holds text fails when the source's time is nearly out."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    rest_by = started + IDLE_WAIT
    selector = request.wait_for
    calm = 0
    held = False
    while True:
        try:
            quiet, text = await page.evaluate(PROBE, selector)
        except PlaywrightError:  # the page navigated on (a script's redirect): look again
            quiet, text = 0.0, -1
        now = loop.time()
        if selector and text == -2:  # not a selector the page can run: as before, appear
            try:
                await page.wait_for_selector(selector, state="attached", timeout=_ms(request))
            except PlaywrightTimeout:
                raise FetchError(f"{selector!r} did not appear in the page") from None
            selector, text = None, 0
        if selector and text <= 0:
            if now >= give_up:
                where = "did not appear in" if text < 0 else "holds no text in"
                raise FetchError(f"{selector!r} {where} the page")
        elif selector and not held:
            held, rest_by = True, now + IDLE_WAIT
        calm = calm + 1 if quiet >= 1000 * STABLE and flight.count == 0 else 0
        if (calm >= 2 or now >= rest_by) and (held or not selector):
            return
        await asyncio.sleep(PROBE_EVERY)


def _margin(request: Request) -> float:
    """The part of the source's time kept back for taking the page after waiting for its
    select: a tenth of it, at most two seconds."""
    return min(2.0, request.timeout / 10)


def own_host(request: Request) -> str:
    """The configured URL's host: the operator's choice, which the gate always lets through."""
    return (urlsplit(request.url).hostname or "").lower()


def _is_chromium(name: str) -> bool:
    return name.startswith(("chrom", "headless_shell"))


def _ms(request: Request) -> float:
    return 1000 * request.timeout


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
