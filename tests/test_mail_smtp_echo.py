"""SMTP credentials never leak, even from a server that echoes the AUTH exchange.

A real aiosmtpd server on loopback refuses every login with a 535 that repeats what the client
sent: the base64 blob of ``AUTH PLAIN`` (username and password), the lines of ``AUTH LOGIN``, the
answer to ``AUTH CRAM-MD5``. None of it may reach the error, its repr, the outbox's
``last_error`` or a DEBUG log record; the rest of the reply still does.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult

from reseller_plans import Plan
from reseller_plans.domain.errors import PermanentBackendError
from reseller_plans.logs import REDACTED
from reseller_plans.mail import SMTPMailer
from reseller_plans.mail.credentials import SMTPCredentials
from service_world import make_world
from test_mail_smtp import LoopbackController, welcome

USERNAME = "mailer@disti.example"
CANARY = "canary-Echo-Pa55-91b2e7"
MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


FORBIDDEN = (
    CANARY,
    _b64(b"\0" + USERNAME.encode() + b"\0" + CANARY.encode()),
    _b64(b"\0" + USERNAME.encode() + b"\0" + CANARY.encode()).rstrip("="),
    _b64(CANARY.encode()).rstrip("="),
    _b64(USERNAME.encode()).rstrip("="),
)


class EchoingAuth:
    """Refuses every login with a 535 that echoes, base64 and all, what the client sent."""

    def __init__(self) -> None:
        self.echoed: list[str] = []

    def _refuse(self, *sent: str) -> AuthResult:
        line = "535 5.7.8 Authentication failed for " + " ".join(sent)
        self.echoed.append(line)
        return AuthResult(success=False, handled=False, message=line)

    async def auth_PLAIN(self, server: Any, args: list[str]) -> AuthResult:  # noqa: N802
        blob = args[1] if len(args) > 1 else _b64(await server.challenge_auth(""))
        return self._refuse("AUTH PLAIN", blob)

    async def auth_LOGIN(self, server: Any, args: list[str]) -> AuthResult:  # noqa: N802
        user = args[1] if len(args) > 1 else _b64(await server.challenge_auth("Username:"))
        password = _b64(await server.challenge_auth("Password:"))
        return self._refuse("AUTH LOGIN", user, password)

    async def auth_CRAM__MD5(self, server: Any, args: list[str]) -> AuthResult:  # noqa: N802
        answer = _b64(await server.challenge_auth("<4711.1@smtp.test>"))
        return self._refuse("AUTH CRAM-MD5", answer)


@pytest.fixture(params=MECHANISMS)
def echoing_server(request: pytest.FixtureRequest) -> Iterator[tuple[EchoingAuth, int]]:
    auth = EchoingAuth()
    controller = LoopbackController(
        auth,
        hostname="127.0.0.1",
        server_hostname="smtp.test",
        auth_require_tls=False,  # loopback only
        auth_exclude_mechanism=[m for m in MECHANISMS if m != request.param],
    )
    controller.start()
    try:
        yield auth, controller.port
    finally:
        controller.stop()


def _mailer(port: int) -> SMTPMailer:
    return SMTPMailer(
        "127.0.0.1",
        port,
        sender="noreply@disti.example",
        security="none",
        username=USERNAME,
        password=CANARY,
        timeout=5.0,
    )


def _assert_clean(text: str) -> None:
    for secret in FORBIDDEN:
        assert secret not in text
    for word in re.findall(r"[A-Za-z0-9+/]{8,}={0,2}", text):
        decoded = base64.b64decode(word + "=" * (-len(word) % 4) if len(word) % 4 != 1 else "")
        assert CANARY.encode() not in decoded
        assert USERNAME.encode() not in decoded


def test_an_echoed_auth_exchange_is_redacted_from_the_error_and_debug_logs(
    echoing_server: tuple[EchoingAuth, int], caplog: pytest.LogCaptureFixture
) -> None:
    auth, port = echoing_server
    caplog.set_level(logging.DEBUG, logger="reseller_plans")
    mailer = _mailer(port)

    with pytest.raises(PermanentBackendError) as caught:
        mailer.send(welcome())

    (echoed,) = auth.echoed
    assert any(secret in echoed for secret in FORBIDDEN[1:]) or "CRAM-MD5" in echoed
    error = caught.value
    assert error.status == 535
    assert "refused the credentials" in str(error)
    assert "Authentication failed for AUTH" in str(error)  # the reply is kept, scrubbed
    assert REDACTED in str(error)
    for text in (str(error), repr(error), error.body_excerpt or "", repr(error.args), repr(mailer)):
        _assert_clean(text)
    ours = [r for r in caplog.records if r.name.startswith("reseller_plans")]
    assert any("not sent" in r.getMessage() for r in ours)
    for record in ours:
        _assert_clean(record.getMessage())


def test_the_outbox_keeps_the_failure_with_the_credentials_redacted(
    echoing_server: tuple[EchoingAuth, int], caplog: pytest.LogCaptureFixture
) -> None:
    _, port = echoing_server
    caplog.set_level(logging.DEBUG, logger="reseller_plans")
    world = make_world()
    world.reseller("3542")
    world.mailer = _mailer(port)  # type: ignore[assignment]
    plans = world.restart()

    sub = plans.upgrade("3542", Plan.STANDARD, alias="techsol", actor=world.disti)
    plans.run_due()

    (entry,) = plans.outbox(sub.id)
    assert entry.sent_at is None
    assert entry.last_error is not None
    assert "Authentication failed for AUTH" in entry.last_error
    _assert_clean(entry.last_error)
    _assert_clean(repr(entry))
    _assert_clean(caplog.text)


def test_every_base64_form_of_the_login_is_scrubbed_but_ordinary_words_are_kept() -> None:
    credentials = SMTPCredentials(USERNAME, CANARY)
    plain = _b64(b"\0" + USERNAME.encode() + b"\0" + CANARY.encode())
    authzid = _b64(USERNAME.encode() + b"\0" + USERNAME.encode() + b"\0" + CANARY.encode())
    cram = _b64(USERNAME.encode() + b" 3f1c0e5a9b8d7c6e5f4a3b2c1d0e9f8a")
    reply = (
        f"535 5.7.8 refused {plain} and {plain.rstrip('=')} and {authzid} and {plain[:20]} "
        f"and {_b64(CANARY.encode())} and {cram} and {CANARY}; Authentication unsuccessful"
    )

    scrubbed = credentials.redact(reply)

    _assert_clean(scrubbed)
    assert scrubbed.startswith("535 5.7.8 refused [REDACTED] and [REDACTED] and [REDACTED]")
    assert scrubbed.endswith("; Authentication unsuccessful")
    assert "password='***'" in repr(credentials)
    assert CANARY not in repr(credentials)
