"""Settings for a ``ResellerPlans`` wired to real adapters, and the one place that wires them.

Settings come from, in increasing precedence: a TOML file, the environment, explicit values
(the command line's flags). **Secrets** (the BSS client secret and password, the Storefront API
key, the SMTP password) are read only from the environment or the file, never from flags, so they
stay out of shell histories and process lists.

Environment variables::

    RESELLER_PLANS_BSS_URL            RESELLER_PLANS_CLIENT_ID         RESELLER_PLANS_CLIENT_SECRET
    RESELLER_PLANS_USERNAME           RESELLER_PLANS_PASSWORD          RESELLER_PLANS_API_VERSION
    RESELLER_PLANS_STOREFRONT_URL     RESELLER_PLANS_STOREFRONT_API_KEY
    RESELLER_PLANS_DISTRIBUTOR        RESELLER_PLANS_STORE             RESELLER_PLANS_STAFF_EMAIL
    RESELLER_PLANS_SMTP_HOST          RESELLER_PLANS_SMTP_PORT         RESELLER_PLANS_SMTP_SECURITY
    RESELLER_PLANS_SMTP_USERNAME      RESELLER_PLANS_SMTP_PASSWORD     RESELLER_PLANS_SMTP_SENDER
    RESELLER_PLANS_PLATFORM_APPLICATION_ID                  RESELLER_PLANS_PLATFORM_API_KEY
    RESELLER_PLANS_LEASE_SECONDS      RESELLER_PLANS_STEP_DEADLINE_SECONDS
    RESELLER_PLANS_BUSY_TIMEOUT_SECONDS
    RESELLER_PLANS_PLATFORM_HOSTS     (comma-separated)

The TOML file has the same settings by section::

    distributor = "100"
    store = "reseller-plans.sqlite3"
    staff_email = "ops@disti.example"

    [leases]                 # one owner at a time (see the workers guide); the defaults:
    lease_seconds = 300
    step_deadline_seconds = 120
    busy_timeout_seconds = 5

    [bss]
    url = "https://bss.disti.example"
    client_id = "..."
    client_secret = "..."
    username = "api-user@disti.example"
    password = "..."

    [storefront]
    url = "https://bss.disti.example"
    api_key = "..."

    [smtp]
    host = "smtp.disti.example"
    port = 587
    security = "starttls"
    username = "..."
    password = "..."
    sender = "Disti Cloud <noreply@disti.example>"

    [service_manager]        # what the platform authenticates with (reseller-plans serve)
    application_id = "..."
    api_key = "..."
    platform_hosts = ["https://bss.disti.example"]   # default: the BSS URL

    [[webhooks]]             # each endpoint run-due delivers the feed to (the webhooks extra)
    id = "crm"
    url = "https://crm.disti.example/hooks/reseller-plans"
    secret = "whsec_..."
    event_types = ["subscription.activated", "subscription.cancelled"]   # default: all

One endpoint can also come from the environment: ``RESELLER_PLANS_WEBHOOK_URL`` and
``RESELLER_PLANS_WEBHOOK_SECRET`` (its id is ``webhook``).
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

import attrs

from reseller_plans.domain.errors import InvalidInput
from reseller_plans.logs import Secret
from reseller_plans.ports import Clock
from reseller_plans.service import ResellerPlans
from reseller_plans.service.deliveries import Notifier
from reseller_plans.service.leases import LeaseSettings

__all__ = ["ConfigError", "Settings", "WebhookSetting", "build_plans", "load_settings"]

ENV_PREFIX = "RESELLER_PLANS_"

# setting name -> (TOML section, TOML key); section "" is the top level
_LOCATIONS: dict[str, tuple[str, str]] = {
    "bss_url": ("bss", "url"),
    "client_id": ("bss", "client_id"),
    "client_secret": ("bss", "client_secret"),
    "username": ("bss", "username"),
    "password": ("bss", "password"),
    "api_version": ("bss", "api_version"),
    "storefront_url": ("storefront", "url"),
    "storefront_api_key": ("storefront", "api_key"),
    "distributor": ("", "distributor"),
    "store": ("", "store"),
    "staff_email": ("", "staff_email"),
    "smtp_host": ("smtp", "host"),
    "smtp_port": ("smtp", "port"),
    "smtp_security": ("smtp", "security"),
    "smtp_username": ("smtp", "username"),
    "smtp_password": ("smtp", "password"),
    "smtp_sender": ("smtp", "sender"),
    "platform_application_id": ("service_manager", "application_id"),
    "platform_api_key": ("service_manager", "api_key"),
    "lease_seconds": ("leases", "lease_seconds"),
    "step_deadline_seconds": ("leases", "step_deadline_seconds"),
    "busy_timeout_seconds": ("leases", "busy_timeout_seconds"),
    "platform_hosts": ("service_manager", "platform_hosts"),
}
_SECONDS = ("lease_seconds", "step_deadline_seconds", "busy_timeout_seconds")
FLAGGED = frozenset({"bss_url", "client_id", "username", "storefront_url", "distributor", "store"})
"""The settings the command line also takes as flags (``--bss-url``, …); the others it does not."""
SECRETS = frozenset(
    {"client_secret", "password", "storefront_api_key", "smtp_password", "platform_api_key"}
)


class ConfigError(InvalidInput):
    """A setting is missing or malformed (the command line exits with status 2)."""


def _shown_url(url: str) -> str:
    """The URL without its user information and query, which may carry credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return repr(urlunsplit((parts.scheme, netloc, parts.path, "", "")))


@attrs.frozen
class WebhookSetting:
    """One ``[[webhooks]]`` endpoint of the settings; its secret, and its URL's user
    information and query, never show in ``repr``."""

    id: str
    url: str = attrs.field(repr=_shown_url)
    secret: Secret
    event_types: tuple[str, ...] = ()


_WEBHOOK_KEYS = frozenset({"id", "url", "secret", "event_types"})


def _webhook(entry: object, where: str) -> WebhookSetting:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: each [[webhooks]] entry is a table of id, url and secret")
    unknown = sorted(set(entry) - _WEBHOOK_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown setting [[webhooks]] {unknown[0]}")
    missing = [k for k in ("id", "url", "secret") if not isinstance(entry.get(k), str)]
    if missing:
        raise ConfigError(f"{where}: a [[webhooks]] entry needs {', '.join(missing)} (as text)")
    types = entry.get("event_types", [])
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise ConfigError(f"{where}: [[webhooks]] event_types is a list of event type names")
    return WebhookSetting(entry["id"], entry["url"], Secret(entry["secret"]), tuple(types))


def _secret(value: object) -> Secret | None:
    return None if value is None else Secret(str(value))


@attrs.frozen
class Settings:
    """Everything needed to wire a ``ResellerPlans`` to a real BSS, Storefront and mail server.

    Secrets are held as ``Secret`` and never shown by ``repr``.
    """

    bss_url: str | None = None
    client_id: str | None = None
    client_secret: Secret | None = attrs.field(default=None, converter=_secret)
    username: str | None = None
    password: Secret | None = attrs.field(default=None, converter=_secret)
    api_version: str = "3.0"
    storefront_url: str | None = None
    storefront_api_key: Secret | None = attrs.field(default=None, converter=_secret)
    distributor: str | None = None
    store: str = "reseller-plans.sqlite3"
    staff_email: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str | None = None
    smtp_password: Secret | None = attrs.field(default=None, converter=_secret)
    smtp_sender: str = "reseller-plans <noreply@localhost>"
    platform_application_id: str | None = None
    platform_api_key: Secret | None = attrs.field(default=None, converter=_secret)
    lease_seconds: float = 300.0
    step_deadline_seconds: float = 120.0
    busy_timeout_seconds: float = 5.0
    webhooks: tuple[WebhookSetting, ...] = ()
    """The endpoints ``run_due`` delivers the feed to (none by default)."""

    def leases(self) -> LeaseSettings:
        """The lease settings these name.

        Raises:
            ConfigError: they do not fit together (a lease too short for a step).
        """
        try:
            return LeaseSettings(
                lease=dt.timedelta(seconds=self.lease_seconds),
                step_deadline=dt.timedelta(seconds=self.step_deadline_seconds),
                margin=min(LeaseSettings().margin, dt.timedelta(seconds=self.lease_seconds) / 4),
                busy_timeout=dt.timedelta(seconds=self.busy_timeout_seconds),
            )
        except InvalidInput as exc:
            raise ConfigError(str(exc)) from None

    platform_hosts: tuple[str, ...] = ()
    """The BSS addresses the platform's ``X-CloudPlatform-BaseUri`` may name (default: the BSS
    URL alone); the service manager sends the platform's token to no other host."""

    @property
    def account_hosts(self) -> tuple[str, ...]:
        """The hosts the service manager may read accounts from with the platform's token."""
        if self.platform_hosts:
            return self.platform_hosts
        return (self.bss_url,) if self.bss_url else ()

    def require(self, *names: str) -> None:
        """Raise ``ConfigError`` naming every missing setting and where to give it."""
        missing = [n for n in names if getattr(self, n) in (None, "")]
        if missing:
            hints = [
                f"{n} (environment {ENV_PREFIX}{n.upper()}"
                + (f", or --{n.replace('_', '-')}" if n in FLAGGED else "")
                + ", or the config file)"
                for n in missing
            ]
            raise ConfigError("missing settings: " + "; ".join(hints))


def load_settings(
    config_file: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read settings from the file, the environment and explicit values (which win).

    Raises:
        ConfigError: an unreadable or malformed file, an unknown key, a secret given as an
            override (flag), or a malformed value.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    if config_file is not None:
        values.update(_from_toml(Path(config_file)))
    for name in _LOCATIONS:
        text = environ.get(ENV_PREFIX + name.upper())
        if text:
            values[name] = text
    for name, value in (overrides or {}).items():
        if value is None:
            continue
        if name in SECRETS:
            raise ConfigError(f"{name} is a secret: give it in the environment or the file")
        if name not in _LOCATIONS:
            raise ConfigError(f"unknown setting {name!r}")
        values[name] = value
    if "smtp_port" in values:
        try:
            values["smtp_port"] = int(values["smtp_port"])
        except (TypeError, ValueError):
            raise ConfigError(f"smtp_port must be a number, not {values['smtp_port']!r}") from None
    if "distributor" in values:
        values["distributor"] = str(values["distributor"])
    for name in _SECONDS:
        if name in values:
            try:
                values[name] = float(values[name])
            except (TypeError, ValueError):
                raise ConfigError(f"{name} must be a number, not {values[name]!r}") from None
    if "platform_hosts" in values:
        values["platform_hosts"] = _hosts(values["platform_hosts"])
    url, secret = (
        environ.get(ENV_PREFIX + "WEBHOOK_URL"),
        environ.get(ENV_PREFIX + "WEBHOOK_SECRET"),
    )
    if url or secret:
        if not (url and secret):
            raise ConfigError(
                f"give both {ENV_PREFIX}WEBHOOK_URL and {ENV_PREFIX}WEBHOOK_SECRET, or neither"
            )
        from_env = WebhookSetting("webhook", url, Secret(secret))
        values["webhooks"] = (*values.get("webhooks", ()), from_env)
    return Settings(**values)


def _hosts(value: object) -> tuple[str, ...]:
    # A TOML list, or comma-separated text (the environment).
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise ConfigError(f"platform_hosts must be URLs, comma-separated or a list, not {value!r}")
    return tuple(i.strip() for i in items if i.strip())


def _from_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the config file {path} is not valid TOML: {exc}") from None
    by_location = {location: name for name, location in _LOCATIONS.items()}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "webhooks":
            if not isinstance(value, list):
                raise ConfigError(f"{path}: webhooks are [[webhooks]] entries, one per endpoint")
            values["webhooks"] = tuple(_webhook(entry, str(path)) for entry in value)
        elif isinstance(value, dict):
            for inner, inner_value in value.items():
                name = by_location.get((key, inner))
                if name is None:
                    raise ConfigError(f"{path}: unknown setting [{key}] {inner}")
                values[name] = inner_value
        else:
            name = by_location.get(("", key))
            if name is None:
                raise ConfigError(f"{path}: unknown setting {key}")
            values[name] = value
    return values


def build_plans(
    settings: Settings, *, console: TextIO | None = None, clock: Clock | None = None
) -> ResellerPlans:
    """Wire a ``ResellerPlans`` to the BSS, the Storefront, the mail server (the console when
    no SMTP host is set) and the SQLite store the settings name.

    Args:
        settings: the settings.
        console: where the console mailer prints (standard output by default).
        clock: where time comes from (real time by default; a demo or a test may move it).

    Raises:
        ConfigError: a required setting is missing.
    """
    # The HTTP stack is imported here, not at the top: importing the package stays light.
    from reseller_plans.bss import BSSClient  # noqa: PLC0415
    from reseller_plans.http import RetryPolicy  # noqa: PLC0415
    from reseller_plans.mail import ConsoleMailer, SMTPMailer  # noqa: PLC0415
    from reseller_plans.ports import Mailer  # noqa: PLC0415 - beside the adapters it types
    from reseller_plans.storefront import StorefrontClient  # noqa: PLC0415
    from reseller_plans.stores.sqlite import SQLiteStore  # noqa: PLC0415

    settings.require(
        "bss_url", "client_id", "client_secret", "username", "password", "storefront_api_key"
    )
    # One knob: an adapter call never outlasts a step (ResellerPlans refuses one that could).
    retry = RetryPolicy(deadline=min(RetryPolicy().deadline, settings.step_deadline_seconds))
    bss = BSSClient(
        settings.bss_url or "",
        client_key=settings.client_id or "",
        client_secret=settings.client_secret or "",
        username=settings.username or "",
        password=settings.password or "",
        api_version=settings.api_version,
        distributor_id=settings.distributor,
        retry=retry,
    )
    storefront = StorefrontClient(
        settings.storefront_url or settings.bss_url or "",
        api_key=settings.storefront_api_key or "",
        retry=retry,
    )
    mailer: Mailer
    if settings.smtp_host:
        mailer = SMTPMailer(
            settings.smtp_host,
            settings.smtp_port,
            sender=settings.smtp_sender,
            security=settings.smtp_security,  # type: ignore[arg-type]
            username=settings.smtp_username,
            password=None if settings.smtp_password is None else settings.smtp_password.reveal(),
        )
    else:
        mailer = ConsoleMailer(console)
    return ResellerPlans(
        bss=bss,
        storefront=storefront,
        mailer=mailer,
        store=SQLiteStore(settings.store),
        staff_email=settings.staff_email,
        clock=clock,
        leases=settings.leases(),
        webhooks=_notifier(settings.webhooks),
    )


def _notifier(webhooks: tuple[WebhookSetting, ...]) -> Notifier | None:
    """The notifier of the ``[[webhooks]]`` endpoints, if there are any.

    Raises:
        ConfigError: the webhooks extra is not installed, or an endpoint is malformed.
    """
    if not webhooks:
        return None
    try:
        from reseller_plans.webhooks import Endpoint, WebhookNotifier  # noqa: PLC0415
    except ImportError as exc:
        raise ConfigError(f"[[webhooks]] are configured, but {exc}") from None
    try:
        endpoints = [
            Endpoint(w.id, w.url, w.secret.reveal(), event_types=w.event_types) for w in webhooks
        ]
        return WebhookNotifier(endpoints)
    except InvalidInput as exc:
        raise ConfigError(f"[[webhooks]]: {exc}") from None
