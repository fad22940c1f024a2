"""Links in emails and pages, and the subscription tokens inside them.

A token is `<subscriber id>.<secret>`: the id finds the row, the secret (192 random bits,
never expiring) is compared in constant time. A wrong or tampered token matches nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

_TOKEN = re.compile(r"^(\d{1,12})\.([A-Za-z0-9_-]{16,64})$")


def make_token(subscriber_id: int, secret: str) -> str:
    return f"{subscriber_id}.{secret}"


def parse_token(token: str) -> tuple[int, str] | None:
    found = _TOKEN.match(token)
    return (int(found[1]), found[2]) if found else None


@dataclass(frozen=True)
class Links:
    public_url: str

    def home(self) -> str:
        return f"{self.public_url}/"

    def change(self, change_id: int) -> str:
        return f"{self.public_url}/changes/{change_id}"

    def country(self, code: str) -> str:
        return f"{self.public_url}/countries/{quote(code)}"

    def unsubscribe(self, token: str) -> str:
        return f"{self.public_url}/unsubscribe/{token}"

    def manage(self, token: str) -> str:
        return f"{self.public_url}/manage/{token}"

    def confirm(self, token: str) -> str:
        return f"{self.public_url}/confirm/{token}"
