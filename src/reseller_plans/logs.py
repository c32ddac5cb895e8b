"""Logging for reseller_plans: one package logger and the redaction of secrets.

Everything this library logs goes through loggers under ``reseller_plans`` (obtained with
:func:`get_logger`, which attaches :class:`RedactingFilter`). We never configure another
library's loggers and never add handlers: the host application decides where records go.

:func:`redact` scrubs what must never reach a log line, an exception message or a ``repr``:

- ``Authorization`` header values and ``Bearer``/``Basic`` credentials anywhere in text;
- the values of ``access_token``, ``refresh_token``, ``password``, ``client_secret``, ``api_key``
  and similar members, whether JSON members (``"password": "..."``) or form/query fields
  (``password=...``);
- ``X-CloudPlatform-APIKey``, ``X-ApiKey`` and other API-key header values;
- every value registered with :func:`register_secret` (the adapters register the credentials
  they are given and the tokens they receive), wherever it appears.

:class:`Secret` holds a credential so that it cannot leak through ``repr`` or ``str`` by accident.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from typing import Final, overload

from reseller_plans.correlation import current_correlation_id

__all__ = [
    "LOGGER_NAME",
    "REDACTED",
    "RedactingFilter",
    "Secret",
    "get_logger",
    "redact",
    "register_secret",
]

LOGGER_NAME: Final = "reseller_plans"
"""The package logger; every logger of this library is a child of it."""

REDACTED: Final = "[REDACTED]"
"""What a scrubbed value is replaced with."""

# Names of secrets, not secrets.
_SECRET_NAMES = "|".join(
    (
        "access_token", "refresh_token", "id_token", "token", "password", "passwd", "pwd",
        "client_secret", "secret", "api[_-]?key", "apikey", "x-cloudplatform-apikey", "x-apikey",
        "authorization",
    )
)  # fmt: skip
_SENSITIVE_HEADERS: Final = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-apikey",
        "x-api-key",
        "x-cloudplatform-apikey",
        "x-auth-token",
        "x-cloudplatform-token",
    }
)

_PATTERNS: Final = (
    # "Authorization: Bearer abc", "Bearer abc", "Basic dXNlcjpwYXNz"
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"),
    # JSON members: "password": "x"  /  'client_secret': 'x'
    re.compile(rf"""(?i)(["']?(?:{_SECRET_NAMES})["']?\s*[:=]\s*)(["'])(?:\\.|(?!\2).)*\2"""),
    # form and query fields, header lines: password=x&...  /  X-ApiKey: x
    re.compile(rf"(?i)(\b(?:{_SECRET_NAMES})\b\s*[:=]\s*)(?![\"'\s])[^\s&,;\"'}}]+"),
)

_MIN_SECRET_LENGTH: Final = 4
_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_secrets_pattern: re.Pattern[str] | None = None


def register_secret(value: str | None) -> None:
    """Make :func:`redact` scrub ``value`` wherever it appears from now on.

    Adapters call this with the credentials they are configured with and the tokens they
    receive. Values shorter than four characters are ignored (they would scrub ordinary text).

    Args:
        value: the secret text; ``None`` or empty is ignored.
    """
    global _secrets_pattern  # noqa: PLW0603 - one registry per process, guarded by the lock
    if not value or len(value) < _MIN_SECRET_LENGTH:
        return
    with _secrets_lock:
        if value in _secrets:
            return
        _secrets.add(value)
        ordered = sorted(_secrets, key=len, reverse=True)
        _secrets_pattern = re.compile("|".join(re.escape(s) for s in ordered))


def _redact_text(text: str) -> str:
    pattern = _secrets_pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _PATTERNS[1].sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}{m.group(2)}", text)
    return _PATTERNS[2].sub(lambda m: f"{m.group(1)}{REDACTED}", text)


@overload
def redact(value: str) -> str: ...
@overload
def redact(value: Mapping[str, str]) -> dict[str, str]: ...
def redact(value: str | Mapping[str, str]) -> str | dict[str, str]:
    """Scrub secrets from a text (a URL, a body, a message) or from a mapping of headers.

    Args:
        value: a text, or headers as a mapping of name to value.

    Returns:
        The text with every secret replaced by ``[REDACTED]``; for headers a new dict in which
        sensitive headers (``Authorization``, API keys, cookies) are replaced entirely and the
        others are scrubbed like text.
    """
    if isinstance(value, str):
        return _redact_text(value)
    return {
        name: REDACTED if name.lower() in _SENSITIVE_HEADERS else _redact_text(str(item))
        for name, item in value.items()
    }


class RedactingFilter(logging.Filter):
    """A logging filter that renders each record's message and scrubs it with :func:`redact`.

    The message is formatted once (``msg % args``), scrubbed, and stored back with no args; an
    attached exception is rendered and scrubbed into ``exc_text`` as well. The record gains
    ``correlation_id``: the correlation id of the command it was logged in
    (``reseller_plans.correlate``), or None; a format string can show it as
    ``%(correlation_id)s``. It never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "correlation_id", None) is None:
            record.correlation_id = current_correlation_id()
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call: keep the raw template, scrubbed
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FILTER: Final = RedactingFilter()


def get_logger(name: str = "") -> logging.Logger:
    """A logger of this library (``reseller_plans`` or a child of it) with redaction attached.

    Args:
        name: the child's name below ``reseller_plans`` (``"http"`` gives
            ``reseller_plans.http``); empty for the package logger itself.

    Returns:
        The logger, with :class:`RedactingFilter` attached once.
    """
    full = f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME
    logger = logging.getLogger(full)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


class Secret:
    """A credential that does not show itself in ``repr``, ``str`` or logs.

    >>> Secret("hunter2")
    Secret('**********')
    >>> Secret("hunter2").reveal()
    'hunter2'

    Creating one registers the value with :func:`register_secret`.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError("a Secret holds text")
        self._value = value
        register_secret(value)

    def reveal(self) -> str:
        """The secret text itself, to put on the wire and nowhere else.

        Returns:
            The text given to the constructor.
        """
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)
