"""Editors: accounts the operator creates, their passwords (Argon2id), sign-ins and sessions.

An editor is invited (`watcher editors add EMAIL`): a link with a secret, valid for
`INVITE_LIFETIME`, sets the password. Passwords are hashed with Argon2id (argon2-cffi's
defaults, RFC 9106's second recommended parameters); only the hash is stored. Signing in
with a wrong password counts against the account: after `review.login_attempts` in a row it
waits `LOCKOUT` before any password is tried (the web adds a limit per client). A session is
a random secret in a cookie; the table keeps its SHA-256, never the secret, with the form
token (CSRF) that every POST of that session must carry.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from watcher.store.schema import audit, editor_sessions, editors

INVITE_LIFETIME = timedelta(hours=48)
SESSION_LIFETIME = timedelta(hours=12)
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD = 12
_HASHER = PasswordHasher()


@cache
def _dummy() -> str:
    """Compared against when the address is unknown, so a sign-in takes as long either way.
    Made when the web pages are (`prepare_sign_in`), not on import: an Argon2id hash takes
    64 MiB and tens of milliseconds, which every process that reads the change log (a
    check, a digest) would pay for nothing."""
    return _HASHER.hash(secrets.token_urlsafe(16))


def prepare_sign_in() -> None:
    """Make what an unknown address's sign-in compares against before the first one comes,
    so that one takes no longer than a known address's."""
    _dummy()


@dataclass(frozen=True, slots=True)
class Editor:
    id: int
    email: str
    status: str  # invited, active, removed
    see_subscribers: bool
    created_at: datetime
    last_login_at: datetime | None
    role: str = "editor"  # "editor": reviews changes; "operator": also sources and readers

    @property
    def operator(self) -> bool:
        return self.role == "operator"


@dataclass(frozen=True, slots=True)
class Session:
    editor: Editor
    csrf: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _editor(row: object) -> Editor:
    return Editor(
        id=row.id,  # type: ignore[attr-defined]
        email=row.email,  # type: ignore[attr-defined]
        status=row.status,  # type: ignore[attr-defined]
        see_subscribers=row.see_subscribers,  # type: ignore[attr-defined]
        created_at=row.created_at,  # type: ignore[attr-defined]
        last_login_at=row.last_login_at,  # type: ignore[attr-defined]
        role=row.role,  # type: ignore[attr-defined]
    )


async def record(
    connection: AsyncConnection,
    now: datetime,
    who: str,
    action: str,
    change_id: int | None = None,
    detail: str | None = None,
) -> None:
    """One line of the audit log: who did what, when, to which change."""
    await connection.execute(
        insert(audit).values(at=now, editor=who, action=action, change_id=change_id, detail=detail)
    )


ROLES = ("editor", "operator")


async def invite(
    connection: AsyncConnection,
    email: str,
    now: datetime,
    *,
    see_subscribers: bool = False,
    role: str = "editor",
) -> tuple[Editor, str]:
    """Create (or invite again) the editor, in `role` (an operator sees readers'
    addresses); the secret for their set-password link."""
    if role not in ROLES:
        raise ValueError(f"{role!r}: a role is one of {', '.join(ROLES)}")
    secret = secrets.token_urlsafe(32)
    key = email.strip().lower()
    values = {
        "invite_hash": _digest(secret),
        "invite_expires_at": now + INVITE_LIFETIME,
        "see_subscribers": see_subscribers or role == "operator",
        "role": role,
    }
    found = (await connection.execute(select(editors).where(editors.c.email_key == key))).first()
    if found is None:
        await connection.execute(
            insert(editors).values(
                email=email.strip(),
                email_key=key,
                status="invited",
                failed_logins=0,
                created_at=now,
                **values,
            )
        )
    else:
        status = "invited" if found.status == "removed" else found.status
        await connection.execute(
            update(editors).where(editors.c.id == found.id).values(status=status, **values)
        )
    row = (await connection.execute(select(editors).where(editors.c.email_key == key))).one()
    await record(connection, now, "operator", "invited", detail=row.email)
    return _editor(row), secret


async def remove(connection: AsyncConnection, email: str, now: datetime) -> bool:
    """No more sign-ins for this editor, and their sessions end; False if unknown."""
    key = email.strip().lower()
    row = (await connection.execute(select(editors).where(editors.c.email_key == key))).first()
    if row is None:
        return False
    await connection.execute(
        update(editors)
        .where(editors.c.id == row.id)
        .values(status="removed", password_hash=None, invite_hash=None)
    )
    await connection.execute(delete(editor_sessions).where(editor_sessions.c.editor_id == row.id))
    await record(connection, now, "operator", "removed", detail=row.email)
    return True


async def list_editors(connection: AsyncConnection) -> list[Editor]:
    rows = await connection.execute(select(editors).order_by(editors.c.email_key))
    return [_editor(row) for row in rows]


async def active_editors(connection: AsyncConnection) -> list[Editor]:
    rows = await connection.execute(
        select(editors).where(editors.c.status == "active").order_by(editors.c.email_key)
    )
    return [_editor(row) for row in rows]


async def invited(
    connection: AsyncConnection, editor_id: int, secret: str, now: datetime
) -> Editor | None:
    """The editor a set-password link is for; None when wrong, used or expired."""
    row = (await connection.execute(select(editors).where(editors.c.id == editor_id))).first()
    if row is None or row.invite_hash is None or row.status == "removed":
        return None
    if not hmac.compare_digest(row.invite_hash, _digest(secret)):
        return None
    if row.invite_expires_at is None or row.invite_expires_at < now:
        return None
    return _editor(row)


async def set_password(
    connection: AsyncConnection, editor: Editor, password: str, now: datetime
) -> None:
    """The invitation used: this password from now on, the link spent."""
    await connection.execute(
        update(editors)
        .where(editors.c.id == editor.id)
        .values(
            password_hash=_HASHER.hash(password),
            status="active",
            invite_hash=None,
            invite_expires_at=None,
            failed_logins=0,
            locked_until=None,
        )
    )
    await record(connection, now, editor.email, "set a password")


def password_problem(password: str, email: str) -> str | None:
    """Why a password will not do, if it will not."""
    if len(password) < MIN_PASSWORD:
        return f"Use at least {MIN_PASSWORD} characters."
    if len(password) > 1000:
        return "Use at most 1,000 characters."
    if password.strip().lower() == email.strip().lower():
        return "Do not use your address as your password."
    return None


async def sign_in(
    connection: AsyncConnection,
    email: str,
    password: str,
    now: datetime,
    *,
    attempts: int,
) -> Editor | None:
    """The editor, when the password is theirs and the account is neither locked nor
    removed; every failure counts, and `attempts` in a row lock the account for `LOCKOUT`."""
    key = email.strip().lower()
    row = (await connection.execute(select(editors).where(editors.c.email_key == key))).first()
    if row is None or row.password_hash is None or row.status != "active":
        _verify(_dummy(), password)
        return None
    if row.locked_until is not None and row.locked_until > now:
        _verify(_dummy(), password)
        await record(connection, now, row.email, "sign-in refused", detail="account waiting")
        return None
    if not _verify(row.password_hash, password):
        failures = row.failed_logins + 1
        locked = now + LOCKOUT if failures >= attempts else None
        await connection.execute(
            update(editors)
            .where(editors.c.id == row.id)
            .values(failed_logins=0 if locked else failures, locked_until=locked)
        )
        detail = f"wrong password ({failures} in a row)" + (", account waits" if locked else "")
        await record(connection, now, row.email, "sign-in refused", detail=detail)
        return None
    values: dict[str, object] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
    if _HASHER.check_needs_rehash(row.password_hash):
        values["password_hash"] = _HASHER.hash(password)
    await connection.execute(update(editors).where(editors.c.id == row.id).values(**values))
    await record(connection, now, row.email, "signed in")
    return _editor(row)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


async def open_session(connection: AsyncConnection, editor: Editor, now: datetime) -> str:
    """A new session for the editor; its secret, for the cookie."""
    secret = secrets.token_urlsafe(32)
    await connection.execute(
        insert(editor_sessions).values(
            id=_digest(secret),
            editor_id=editor.id,
            csrf=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    await connection.execute(delete(editor_sessions).where(editor_sessions.c.expires_at < now))
    return secret


async def session_of(connection: AsyncConnection, secret: str, now: datetime) -> Session | None:
    """The live session a cookie's secret stands for, and its editor (who is still active)."""
    row = (
        await connection.execute(
            select(editor_sessions.c.csrf, editor_sessions.c.expires_at, *editors.c)
            .join(editors, editors.c.id == editor_sessions.c.editor_id)
            .where(editor_sessions.c.id == _digest(secret))
        )
    ).first()
    if row is None or row.expires_at < now or row.status != "active":
        return None
    return Session(_editor(row), row.csrf)


async def close_session(connection: AsyncConnection, secret: str) -> None:
    await connection.execute(delete(editor_sessions).where(editor_sessions.c.id == _digest(secret)))
