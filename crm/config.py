"""Settings, read from the environment and from ``.env`` in the working directory.

Every variable is listed in the README's configuration table; keep the two in step.
A bad value stops the server at start with a message naming the variable.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from crm.hours import BadHours, BusinessHours
from crm.private import ensure_private_dir
from crm.proxies import BadProxyList, Network, parse_networks

#: Meta's current Graph API version (v25.0 stays available until 2028-07-29: a
#: ``WHATSAPP_GRAPH_URL`` ending in ``/v25.0`` keeps working).
GRAPH_API_VERSION = "v26.0"


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class ConfigError(Exception):
    """The configuration is not usable; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    data_dir: Path = Field(Path("./data"), validation_alias=_env("CRM_DATA_DIR"))
    host: str = Field("127.0.0.1", validation_alias=_env("CRM_HOST"))
    port: int = Field(8000, ge=1, le=65535, validation_alias=_env("CRM_PORT"))
    workers: int = Field(1, ge=1, le=32, validation_alias=_env("CRM_WORKERS"))
    log_level: str = Field("info", validation_alias=_env("CRM_LOG_LEVEL"))
    #: Live stream: heartbeat comment interval (s), how often each process polls for
    #: other processes' commits (s), and how many events a client may lag before it
    #: catches up from memory or the log instead.
    stream_heartbeat: float = Field(15.0, gt=0, validation_alias=_env("CRM_STREAM_HEARTBEAT"))
    stream_poll: float = Field(0.025, gt=0, le=5, validation_alias=_env("CRM_STREAM_POLL"))
    stream_queue: int = Field(512, ge=1, validation_alias=_env("CRM_STREAM_QUEUE"))
    #: Streams end after about this many seconds (0: never), so the client reconnects
    #: and is authenticated again.
    stream_max_age: float = Field(600.0, ge=0, validation_alias=_env("CRM_STREAM_MAX_AGE"))
    #: Open streams per agent (browser sessions) or per API token, in each worker
    #: process: one more closes the oldest.
    streams_per_agent: int = Field(20, ge=1, validation_alias=_env("CRM_STREAMS_PER_AGENT"))
    #: ``rows``: stream frames carry the chat and message rows the event changed, and
    #: pages apply them without a request; ``hints``: events alone (pages refetch), as
    #: before, kept to measure the difference.
    stream_frames: Literal["rows", "hints"] = Field(
        "rows", validation_alias=_env("CRM_STREAM_FRAMES"))
    #: Reverse proxies (addresses or CIDRs, comma-separated) whose X-Forwarded-For
    #: and X-Forwarded-Proto are believed; by default nobody's.
    trusted_proxies: str = Field("", validation_alias=_env("CRM_TRUSTED_PROXIES"))
    #: Agents: signs session cookies (else generated once into the data folder), the
    #: first admin's password (else random, printed once), and the idle session timeout.
    secret_key: SecretStr | None = Field(None, validation_alias=_env("CRM_SECRET_KEY"))
    admin_password: SecretStr | None = Field(None, validation_alias=_env("CRM_ADMIN_PASSWORD"))
    session_idle_hours: float = Field(
        12.0, gt=0, validation_alias=_env("CRM_SESSION_IDLE_HOURS"))
    #: Meta's webhook: the token of the GET handshake and the app secret that signs POSTs.
    whatsapp_verify_token: SecretStr | None = Field(
        None, validation_alias=_env("WHATSAPP_VERIFY_TOKEN"))
    whatsapp_app_secret: SecretStr | None = Field(
        None, validation_alias=_env("WHATSAPP_APP_SECRET"))
    #: Sending through the Graph API. With no WhatsApp setting at all, ``crm serve``
    #: starts the local sandbox (unless ``CRM_SANDBOX=off``) and points the Graph URL at it.
    whatsapp_access_token: SecretStr | None = Field(
        None, validation_alias=_env("WHATSAPP_ACCESS_TOKEN"))
    whatsapp_phone_number_id: str | None = Field(
        None, pattern=r"^\d{1,30}$", validation_alias=_env("WHATSAPP_PHONE_NUMBER_ID"))
    whatsapp_waba_id: str | None = Field(
        None, pattern=r"^\d{1,30}$", validation_alias=_env("WHATSAPP_WABA_ID"))
    whatsapp_graph_url: str = Field(
        f"https://graph.facebook.com/{GRAPH_API_VERSION}", pattern=r"^https?://\S+$",
        validation_alias=_env("WHATSAPP_GRAPH_URL"))
    whatsapp_send_read_receipts: bool = Field(
        True, validation_alias=_env("WHATSAPP_SEND_READ_RECEIPTS"))
    #: Meta's typing indicator while an agent types (at most once per 20 s per chat).
    whatsapp_send_typing: bool = Field(True, validation_alias=_env("WHATSAPP_SEND_TYPING"))
    #: The sender: read timeout of a Graph request (s), first retry delay (s, doubling
    #: with jitter up to the cap), attempts before giving up, chats sent in parallel.
    send_timeout: float = Field(30.0, gt=0, validation_alias=_env("CRM_SEND_TIMEOUT"))
    send_retry_base: float = Field(1.0, gt=0, validation_alias=_env("CRM_SEND_RETRY_BASE"))
    send_retry_max: float = Field(300.0, gt=0, validation_alias=_env("CRM_SEND_RETRY_MAX"))
    send_attempts: int = Field(8, ge=1, le=100, validation_alias=_env("CRM_SEND_ATTEMPTS"))
    send_concurrency: int = Field(
        16, ge=1, le=256, validation_alias=_env("CRM_SEND_CONCURRENCY"))
    #: Campaigns: messages per second when a campaign names no ``rate`` (Meta's default
    #: throughput tier is 80/s per number), and the whole-message keywords that opt a
    #: customer out of marketing (comma-separated, case-insensitive; ``START`` opts in).
    send_rate: float = Field(80.0, gt=0, le=10000, validation_alias=_env("CRM_SEND_RATE"))
    opt_out_keywords: str = Field("STOP,UNSUBSCRIBE,取消訂閱",
                                  validation_alias=_env("CRM_OPT_OUT_KEYWORDS"))
    #: The local sandbox: ``auto`` (only when no ``WHATSAPP_*`` setting is present at
    #: all, so a deployer who mistyped one variable does not get it), ``on`` or ``off``,
    #: and its port (0: any free port).
    sandbox: Literal["auto", "on", "off"] = Field("auto", validation_alias=_env("CRM_SANDBOX"))
    sandbox_port: int = Field(0, ge=0, le=65535, validation_alias=_env("CRM_SANDBOX_PORT"))
    #: Set by ``crm serve`` once it has started the sandbox; not read from the environment.
    sandbox_started: bool = Field(False, validation_alias="__crm_sandbox_started__")

    #: Google service account (a JSON key file), for the customer sheet and Drive media.
    google_application_credentials: Path | None = Field(
        None, validation_alias=_env("GOOGLE_APPLICATION_CREDENTIALS"))
    #: Another base URL for Google's APIs (tests and sandboxes only).
    google_api_url: str | None = Field(None, validation_alias=_env("GOOGLE_API_URL"))
    #: Customers: the sheet (by id or title) and worksheet, which columns hold the phone
    #: and the name, the country code of local numbers, and the server's sync interval
    #: in seconds (unset or 0: no automatic sync).
    google_sheet_id: str | None = Field(None, validation_alias=_env("GOOGLE_SHEET_ID"))
    google_sheet_name: str | None = Field(None, validation_alias=_env("GOOGLE_SHEET_NAME"))
    google_sheet_worksheet: str = Field(
        "Customer List", validation_alias=_env("GOOGLE_SHEET_WORKSHEET"))
    customers_phone_column: str = Field(
        "Phone", min_length=1, validation_alias=_env("CRM_CUSTOMERS_PHONE_COLUMN"))
    customers_name_column: str = Field(
        "Name", min_length=1, validation_alias=_env("CRM_CUSTOMERS_NAME_COLUMN"))
    default_country_code: str | None = Field(
        None, pattern=r"^\s*(\+|00)?[1-9]\d{0,2}\s*$",
        validation_alias=_env("CRM_DEFAULT_COUNTRY_CODE"))
    customers_sync_interval: float | None = Field(
        None, ge=0, validation_alias=_env("CRM_CUSTOMERS_SYNC_INTERVAL"))
    #: Media: where files are kept (``local`` under the data folder, or Google Drive),
    #: the Drive folder, whether Drive files get an anyone-with-the-link permission, and
    #: the first retry delay of a failed download (doubling up to an hour).
    media_backend: Literal["local", "drive"] = Field(
        "local", validation_alias=_env("CRM_MEDIA_BACKEND"))
    google_drive_folder_id: str | None = Field(
        None, validation_alias=_env("GOOGLE_DRIVE_FOLDER_ID"))
    media_public_links: bool = Field(False, validation_alias=_env("CRM_MEDIA_PUBLIC_LINKS"))
    media_retry_seconds: float = Field(
        15.0, gt=0, validation_alias=_env("CRM_MEDIA_RETRY_SECONDS"))
    #: Days a status (or reaction) for a message crm does not know waits for it, in
    #: event time; changing it needs ``crm replay`` (``crm.projections.options``).
    pending_status_days: int = Field(
        30, ge=1, le=36500, validation_alias=_env("CRM_PENDING_STATUS_DAYS"))

    def whatsapp_configured(self) -> list[str]:
        """The ``WHATSAPP_*`` variables given (from the environment or ``.env``), even
        empty: any of them means a deployment meant for Meta, never the sandbox."""
        return [_variable(name) for name in sorted(self.model_fields_set)
                if name.startswith("whatsapp_")]

    #: Working as a team: who gets a new chat (``manual``, or ``round_robin`` over the
    #: enabled agents online with fewer than ``CRM_ASSIGNMENT_CAPACITY`` open chats),
    #: which chats agents who are not admins see (``all``, or ``assigned``: theirs and
    #: unassigned ones), who may reply in an assigned chat (``anyone`` or ``assignee``),
    #: and after how many minutes a waiting chat is late.
    assignment: Literal["manual", "round_robin"] = Field(
        "manual", validation_alias=_env("CRM_ASSIGNMENT"))
    assignment_capacity: int = Field(
        20, ge=1, validation_alias=_env("CRM_ASSIGNMENT_CAPACITY"))
    visibility: Literal["all", "assigned"] = Field(
        "all", validation_alias=_env("CRM_VISIBILITY"))
    reply_policy: Literal["anyone", "assignee"] = Field(
        "anyone", validation_alias=_env("CRM_REPLY_POLICY"))
    sla_minutes: float = Field(15.0, gt=0, validation_alias=_env("CRM_SLA_MINUTES"))
    #: Seconds a presence signal ("Ana is viewing") lasts unless the page renews it.
    presence_ttl: float = Field(10.0, gt=0, le=300, validation_alias=_env("CRM_PRESENCE_TTL"))
    #: When the business is open (``Mon-Fri 09:00-18:00, Sat 10:00-14:00``; empty: always)
    #: in which IANA zone, and how many automatic messages a customer gets per day at most.
    business_hours: str = Field("", validation_alias=_env("CRM_BUSINESS_HOURS"))
    timezone: str = Field("UTC", validation_alias=_env("CRM_TIMEZONE"))
    automation_max_per_day: int = Field(
        5, ge=0, validation_alias=_env("CRM_AUTOMATION_MAX_PER_DAY"))
    #: Tests only: a file holding the automation worker's "now" (epoch seconds). Refused
    #: unless the Graph API is on 127.0.0.1 (a sandbox), so no deployment that talks to
    #: Meta can run on a made-up clock (``crm.automation.clock``).
    test_clock_file: Path | None = Field(None, validation_alias=_env("CRM_TEST_CLOCK_FILE"))

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        try:
            parse_networks(value)
        except BadProxyList as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("business_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        try:
            BusinessHours.parse(value)
        except BadHours as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            BusinessHours.parse("", value)
        except BadHours as exc:
            raise ValueError(str(exc)) from None
        return value

    def hours(self) -> BusinessHours:
        """The business hours, without holidays (those are events: see the worker)."""
        return BusinessHours.parse(self.business_hours, self.timezone)

    @property
    def trusted_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.trusted_proxies)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "crm.db"

    def ensure_data_dir(self) -> None:
        """The data folder, 0700 (tightened, and the operator told, when it was looser)."""
        loose = ensure_private_dir(self.data_dir)
        if loose is not None:
            print(f"crm: warning: {self.data_dir} was readable by others (mode {loose:o}): "
                  "tightened to 700", file=sys.stderr, flush=True)


def _variable(field_name: str) -> str:
    field = Settings.model_fields.get(field_name)
    alias = field.validation_alias if field else None
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return field_name.upper()


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, or ``ConfigError`` naming each bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = _variable(str(error["loc"][0])) if error["loc"] else "configuration"
            problems.append(f"{name}: {error['msg']} (got {error.get('input')!r})")
        raise ConfigError("bad configuration: " + "; ".join(problems)) from None
