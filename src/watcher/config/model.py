"""The configuration schema: what `watcher.toml` may contain, with defaults and validation.

Every model forbids unknown keys, so a typo is an error that names the key rather than a
setting that silently does nothing.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from datetime import timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from watcher.config.units import parse_duration, parse_size

DEFAULT_UPDATED_PATTERN = (
    r"(?i)\b(?:last[\s-]*(?:updated|modified|revised|reviewed)|updated(?:\s+on)?)\s*[:\-\u2013]?\s*"
    r"(?P<date>\d{1,2}(?:st|nd|rd|th)?[\s.-]+[A-Za-z]{3,9}\.?,?[\s.-]+\d{4}"
    r"|[A-Za-z]{3,9}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}"
    r"|\d{4}-\d{2}-\d{2}"
    r"|\d{1,2}/\d{1,2}/\d{2,4})"
)

# Not in an address: spaces of any kind, control characters, lone surrogates (which no
# database stores), and what would end or quote it in a header.
_NOT_IN_ADDRESS = (
    "@\\x00-\\x20\\x7f-\\x9f\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f"
    "\\u3000\\ufeff\\ud800-\\udfff<>\"',;"
)
_EMAIL = re.compile(
    f"^[^{_NOT_IN_ADDRESS}:]+@[^{_NOT_IN_ADDRESS}.]+(\\.[^{_NOT_IN_ADDRESS}.]+)*$"
)  # ":" only quoted (RFC 5322)
_NOT_IN_URL = re.compile("[\\x00-\\x1f\\x7f\\ud800-\\udfff]")
_COUNTRY_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,15}$")
_SOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,79}$")


def _check_regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
    return pattern


def _check_updated_pattern(pattern: str) -> str:
    compiled = re.compile(_check_regex(pattern))
    if "date" not in compiled.groupindex and compiled.groups != 1:
        raise ValueError("needs a group named 'date' (or exactly one group) around the date")
    return pattern


def _check_cron(expression: str) -> str:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(expression)
    except ValueError as exc:
        raise ValueError(f"invalid cron expression {expression!r}: {exc}") from None
    return expression


def check_email(address: str) -> str:
    address = address.strip()
    if len(address) > 254 or not _EMAIL.match(address):
        raise ValueError(f"{address!r} is not an email address")
    return address


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use a name like 'Europe/Paris')") from None
    return name


def _check_public_url(url: str) -> str:
    if not re.match(r"^https?://[^/\s]+", url):
        raise ValueError(f"{url!r} is not an http(s) URL")
    return url.rstrip("/")


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Spread = Annotated[timedelta, BeforeValidator(lambda value: parse_duration(value, allow_zero=True))]
RECHECK_MAX = timedelta(minutes=5)


def _recheck(value: object) -> timedelta:
    delay = parse_duration(value, allow_zero=True)  # type: ignore[arg-type]
    if delay > RECHECK_MAX:
        raise ValueError("a page is fetched again within 5 minutes of a change at the most")
    return delay


Recheck = Annotated[timedelta, BeforeValidator(_recheck)]


def _kept(value: object) -> timedelta | None:
    """A retention period: a duration, or "forever" (None: nothing is dropped)."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "forever"):
        return None
    try:
        return parse_duration(value)  # type: ignore[arg-type]
    except ValueError:
        raise ValueError(f"{value!r}: write how long, like '30d' or '52w', or 'forever'") from None


Kept = Annotated[timedelta | None, BeforeValidator(_kept)]
Size = Annotated[int, BeforeValidator(parse_size)]
Regex = Annotated[str, AfterValidator(_check_regex)]
UpdatedPattern = Annotated[str, AfterValidator(_check_updated_pattern)]


def _check_channel(name: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", name):
        raise ValueError(f"{name!r}: a channel name is lower-case letters, digits, '-' or '_'")
    return name


ChannelName = Annotated[str, AfterValidator(_check_channel)]
Cron = Annotated[str, AfterValidator(_check_cron)]
Email = Annotated[str, AfterValidator(check_email)]
TimeZone = Annotated[str, AfterValidator(_check_timezone)]
PublicUrl = Annotated[str, AfterValidator(_check_public_url)]
Frequency = Literal["immediate", "daily", "weekly"]
FREQUENCIES: tuple[str, ...] = ("immediate", "daily", "weekly")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ServiceConfig(Model):
    database: str = "sqlite:///data/watcher.db"
    public_url: PublicUrl = "http://localhost:8080"
    listen: str = "127.0.0.1:8080"
    operator_email: Email | None = None
    timezone: TimeZone = "UTC"
    keep_snapshots: int = Field(20, ge=1, description="snapshots kept per source")
    secrets: str | None = Field(
        None, description="a file of WATCHER_...=value lines (mode 600), beside the environment"
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="addresses or networks of the reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed (from anyone else they are ignored)",
    )

    @field_validator("database")
    @classmethod
    def _database(cls, url: str) -> str:
        if not re.match(r"^(sqlite|postgresql|postgres)(\+\w+)?://", url):
            raise ValueError(f"{url!r}: use 'sqlite:///path/to/file.db' or 'postgresql://...'")
        return url

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _trusted_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):  # from the environment: "10.0.0.2, 172.18.0.0/16"
            value = [part for part in re.split(r"[\s,]+", value) if part]
        if isinstance(value, list):
            for item in value:
                try:
                    ipaddress.ip_network(str(item), strict=False)
                except ValueError:
                    raise ValueError(
                        f"{item!r}: give an IP address or a network, e.g. '172.18.0.0/16'"
                    ) from None
        return value

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{value!r}: write it as HOST:PORT, e.g. '127.0.0.1:8080'")
        return value


class ScheduleFields(Model):
    """`interval` or `cron`: shared by [checks] (the default) and each source (an override)."""

    interval: Duration | None = None
    cron: Cron | None = None

    @model_validator(mode="after")
    def _one_schedule(self) -> ScheduleFields:
        if self.interval is not None and self.cron is not None:
            raise ValueError("give either 'interval' or 'cron', not both")
        return self


class ChecksConfig(ScheduleFields):
    timeout: Duration = timedelta(seconds=30)
    max_bytes: Size = 5_000_000
    per_host: int = Field(2, ge=1, le=64)
    concurrency: int = Field(16, ge=1, le=512)
    max_redirects: int = Field(5, ge=0, le=30)
    retry: Duration = Field(timedelta(minutes=5), description="first retry after a failure")
    alert_after: int = Field(
        5, ge=1, description="consecutive failures before the operator is told"
    )
    jitter: Spread = Field(timedelta(seconds=30), description="spread of scheduled checks")
    updated_pattern: UpdatedPattern = DEFAULT_UPDATED_PATTERN
    user_agent: str | None = None
    content: Literal["all", "main"] = Field(
        "all", description="a page without 'select': its whole body, or its main content"
    )
    compared_versions: int = Field(
        1, ge=1, le=100, description="a page back to one of its last N versions is not news"
    )
    browser_concurrency: int = Field(
        2, ge=1, le=16, description="pages rendered at once by sources with fetch = 'browser'"
    )
    recheck_after: Recheck = Field(
        timedelta(0),
        description="after a page changed, fetch it again this much later and learn the lines"
        " that differ as noise (0: never)",
    )
    extract_timeout: Duration = Field(
        timedelta(seconds=10),
        description="reading a response into a document, and comparing it, at most this long",
    )
    extract_memory: Size = Field(
        512_000_000,
        ge=64_000_000,
        description="memory one extraction may use (each worker process's ceiling)",
    )
    extract_workers: int | None = Field(
        None, ge=1, le=64, description="extraction worker processes (default: one per core)"
    )


class MailConfig(Model):
    transport: Literal["smtp", "maildir"] = "smtp"
    from_: str = Field("watcher <watcher@localhost>", alias="from")
    host: str = "localhost"
    port: int | None = Field(None, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    maildir: str = "data/mail"
    ca_file: str | None = Field(None, description="CA bundle for a private SMTP certificate")
    timeout: Duration = timedelta(seconds=30)
    batch_size: int = Field(50, ge=1, le=10_000, description="messages per SMTP connection")
    connections: int = Field(4, ge=1, le=32, description="SMTP connections used at once")
    give_up_after: Duration = timedelta(days=4)
    retry: Duration = Field(
        timedelta(minutes=1), description="first retry after a temporary failure, then doubling"
    )
    max_retry_interval: Duration = Field(
        timedelta(hours=6), description="longest wait between two tries of a message"
    )
    settle: Spread = Field(
        timedelta(minutes=1), description="quiet time before an immediate email goes out"
    )
    hard_bounce_limit: int = Field(3, ge=1)
    unsubscribe_mailto: Email | None = None
    list_id: str | None = None
    digest_hour: int = Field(7, ge=0, le=23)
    digest_weekday: Weekday = "monday"
    max_diff_lines: int = Field(60, ge=5, le=2000, description="diff lines shown per email")

    @field_validator("from_")
    @classmethod
    def _from(cls, value: str) -> str:
        from email.utils import parseaddr

        _, address = parseaddr(value)
        check_email(address)
        return value

    @property
    def smtp_port(self) -> int:
        if self.port is not None:
            return self.port
        return {"none": 25, "starttls": 587, "tls": 465}[self.security]


class SourceConfig(ScheduleFields):
    url: str
    id: str | None = None
    name: str | None = None
    kind: str = Field("auto", description="'auto', or a kind of extract/kinds/ ('page', ...)")
    fetch: Literal["http", "browser"] = "http"
    select: str | None = None  # checked by its kind's selector language (extract/kinds/)
    exclude: list[str] = Field(default_factory=list)
    ignore: list[Regex] = Field(default_factory=list)
    match: Regex | None = None
    key: str | None = Field(
        None,
        description="JSON: the field that names a list's items (before id, number, key, name,"
        " sha, node_id)",
        min_length=1,
        max_length=100,
    )
    documents: bool | Regex | None = Field(
        None,
        description="a page: follow the documents it links to (true: PDFs; or a pattern the"
        " links' URLs match), each watched as a source of the same country",
    )
    max_documents: int | None = Field(
        None, ge=1, le=500, description="a page: at most this many linked documents watched"
    )
    updated_pattern: UpdatedPattern | None = None
    content: Literal["all", "main"] | None = None
    compared_versions: int | None = Field(None, ge=1, le=100)
    recheck_after: Recheck | None = None
    timeout: Duration | None = None
    extract_timeout: Duration | None = None
    max_bytes: Size | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    allow_private: bool = False

    @field_validator("documents", mode="before")
    @classmethod
    def _documents(cls, value: Any) -> Any:
        # A form or a command line gives text: "true" and "false" are the switch, not patterns.
        if isinstance(value, str) and value.strip().lower() in ("true", "yes", "pdf"):
            return True
        if isinstance(value, str) and value.strip().lower() in ("false", "no", ""):
            return None
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        # No control characters, nor lone surrogates: no request can carry them (a file
        # cannot hold them; a form or the API's JSON can).
        if not re.match(r"^https?://[^/\s]+", url) or _NOT_IN_URL.search(url):
            raise ValueError(f"{url!r} is not an http(s) URL")
        return url

    @field_validator("id")
    @classmethod
    def _id(cls, value: str | None) -> str | None:
        if value is not None and not _SOURCE_ID.match(value):
            raise ValueError(
                f"{value!r}: use lower-case letters, digits, '-', '_' or '.' (at most 80)"
            )
        return value


class CountryConfig(Model):
    code: str
    name: str
    sources: list[SourceConfig] = Field(default_factory=list)
    review: bool | None = Field(
        None, description="hold this country's changes for an editor (default: review.all)"
    )
    key_terms: list[str] = Field(
        default_factory=list,
        description="words that make a change of this country notable, besides"
        " significance.key_terms",
    )

    @field_validator("code")
    @classmethod
    def _code(cls, code: str) -> str:
        if not _COUNTRY_CODE.match(code):
            raise ValueError(f"{code!r} is not a country code (letters and digits, e.g. 'VN')")
        return code.upper()


CHANNEL_PREFIX = "channel:"  # an address that is a channel, not a mailbox: "channel:ops"


def country_key(code: str) -> str:
    """A country code as readers' choices store it: upper case, or "*" for every country."""
    code = code.strip()
    return code if code == "*" else code.upper()


class SubscriberConfig(Model):
    email: Email | None = None
    channel: ChannelName | None = Field(
        None, description="a webhook named here, its URL in $WATCHER_CHANNEL_<NAME>"
    )
    countries: list[str] = Field(default_factory=list, description="followed whole")
    sections: list[str] = Field(
        default_factory=list,
        description='"VN: Mine Ban Policy" (a section of a country), "*: ..." (everywhere)',
    )
    keywords: list[str] = Field(default_factory=list, description="in every country")
    frequency: Frequency = "immediate"
    news: bool = Field(
        True,
        description="with sections of a country chosen, its news (feeds) as well (false: only"
        " the sections)",
    )
    notable: bool = Field(
        False, description="only the changes whose significance reaches significance.notable"
    )

    @field_validator("countries")
    @classmethod
    def _codes(cls, codes: list[str]) -> list[str]:
        return [country_key(code) for code in codes]

    @field_validator("sections")
    @classmethod
    def _sections(cls, sections: list[str]) -> list[str]:
        for section in sections:
            code, colon, name = section.partition(":")
            if not colon or not code.strip() or not name.strip():
                raise ValueError(
                    f"{section!r}: write a section as 'CODE: Section name',"
                    " or '*: Section name' for every country"
                )
        return sections

    @model_validator(mode="after")
    def _one_address(self) -> SubscriberConfig:
        if (self.email is None) == (self.channel is None):
            raise ValueError("give either 'email' or 'channel'")
        if not (self.countries or self.sections or self.keywords):
            raise ValueError("give 'countries', 'sections' or 'keywords' to follow")
        return self

    @property
    def quiet(self) -> list[str]:
        """The countries of their sections whose news they do not want (`news = false`)."""
        if self.news:
            return []
        return sorted({code.strip().upper() for code, _ in self.section_pairs if code != "*"})

    @property
    def section_pairs(self) -> list[tuple[str, str]]:
        """The sections as (country code or "*", name)."""
        pairs = []
        for section in self.sections:
            code, _, name = section.partition(":")
            pairs.append((country_key(code), " ".join(name.split())))
        return pairs

    @property
    def address(self) -> str:
        """Where its messages go: an email address, or `channel:NAME`."""
        return self.email if self.email is not None else f"{CHANNEL_PREFIX}{self.channel}"


class RetentionConfig(Model):
    """How long what watcher stores is kept; the service prunes once a day, at `hour`."""

    message_bodies: Kept = Field(
        timedelta(days=365),
        description="the bodies of mail sent, failed or cancelled (the rows and states stay)",
    )
    changes: Kept = Field(
        timedelta(days=365),
        description="changes, with their notifications and snapshots (never a source's latest)",
    )
    hour: int = Field(4, ge=0, le=23, description="when the daily pruning runs (service.timezone)")


class ReviewConfig(Model):
    """Editors read a change before readers are told of it (`review/`)."""

    all: bool = Field(False, description="hold every country's changes for an editor")
    remind_after: Duration = Field(
        timedelta(days=1), description="a change waiting this long reminds the editors"
    )
    login_attempts: int = Field(
        5, ge=1, le=100, description="failed sign-ins in a row before an account waits"
    )


class SignificanceConfig(Model):
    """How much a change matters (`diff/significance.py`; the README has the formula)."""

    key_terms: list[str] = Field(
        default_factory=list,
        description='words that make a change notable in every country ("accede", "ratified")',
    )
    notable: float = Field(
        0.4,
        ge=0.0,
        le=1.0,
        description="a reader who asks for only notable changes is told of those scoring this"
        " or more",
    )


class Settings(Model):
    service: ServiceConfig = ServiceConfig()
    checks: ChecksConfig = ChecksConfig()
    mail: MailConfig = MailConfig()
    retention: RetentionConfig = RetentionConfig()
    review: ReviewConfig = ReviewConfig()
    significance: SignificanceConfig = SignificanceConfig()
    countries: list[CountryConfig] = Field(default_factory=list)
    subscribers: list[SubscriberConfig] = Field(default_factory=list)

    def unknown_countries(self, codes: Iterable[str]) -> list[str]:
        """The codes (as `country_key` has them) that name no configured country."""
        known = {country.code for country in self.countries}
        return sorted({code for code in codes if code != "*"} - known)
