"""Fetching: conditional GETs with limits, politeness and charset decoding."""

from watcher.fetch.charset import Decoded, DecodeError, decode_body
from watcher.fetch.client import Fetcher, Request, Response, Validators
from watcher.fetch.errors import FetchError

__all__ = [
    "DecodeError",
    "Decoded",
    "FetchError",
    "Fetcher",
    "Request",
    "Response",
    "Validators",
    "decode_body",
]
