"""Content-Encoding undone layer by layer as the body streams, every layer bounded.

`Content-Encoding: gzip, gzip` is two layers; a 19 KB body can inflate to 8 GiB. Each
layer's output is capped at `limit` bytes in all (zlib's `max_length`), checked while it is
produced, so no layer ever holds more than `limit` bytes of one chunk's output: a bomb is cut
off at `max_bytes`, whatever its depth. An encoding watcher cannot undo is a failed check,
never bytes read as if they were the page.
"""

from __future__ import annotations

import zlib

from watcher.fetch.errors import FetchError

IDENTITY = frozenset({"", "identity"})


def too_big(limit: int) -> FetchError:
    return FetchError(f"the body is larger than max_bytes ({limit:,} bytes)")


class _Layer:
    """One gzip or deflate layer. Deflate is zlib-wrapped as the RFC says, or raw, as some
    servers send it: tried in that order on the first bytes."""

    def __init__(self, coding: str, limit: int) -> None:
        self.coding = coding
        self.limit = limit
        self.produced = 0
        self.started = False  # bytes have come in
        gzip = coding in ("gzip", "x-gzip")
        self.inflater = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)

    def decode(self, data: bytes) -> bytes:
        if not self.started and data:
            self.started = True
            if self.coding == "deflate":
                try:
                    return self._inflate(data)
                except zlib.error:  # raw deflate, without the zlib wrapper
                    self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                    self.produced = 0
        return self._inflate(data)

    def _inflate(self, data: bytes) -> bytes:
        pieces = []
        while data and not self.inflater.eof:
            piece = self.inflater.decompress(data, self.limit - self.produced + 1)
            self.produced += len(piece)
            if self.produced > self.limit:
                raise too_big(self.limit)
            pieces.append(piece)
            data = self.inflater.unconsumed_tail
        return b"".join(pieces)

    def finish(self) -> None:
        if self.started and not self.inflater.eof:
            raise FetchError(f"the compressed body ({self.coding}) is cut short")


class ContentDecoder:
    """The layers named by a Content-Encoding header, undone last-applied first."""

    def __init__(self, header: str | None, limit: int) -> None:
        codings = [part.strip().lower() for part in (header or "").split(",")]
        self.layers = []
        for coding in reversed([c for c in codings if c not in IDENTITY]):
            if coding not in ("gzip", "x-gzip", "deflate"):
                raise FetchError(
                    f"the body is encoded as {coding[:40]!r} (Content-Encoding), which watcher"
                    " cannot decode; it asks for gzip or deflate"
                )
            self.layers.append(_Layer(coding, limit))

    def decode(self, chunk: bytes) -> bytes:
        try:
            for layer in self.layers:
                chunk = layer.decode(chunk)
        except zlib.error as exc:
            raise FetchError(f"the compressed body is corrupt: {exc}") from None
        return chunk

    def finish(self) -> None:
        """At the end of the body: a compressed stream cut short is an error (the page would
        be a truncated copy of itself)."""
        for layer in self.layers:
            layer.finish()
