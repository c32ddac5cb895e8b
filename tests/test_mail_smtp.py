"""SMTPMailer against a real SMTP server (aiosmtpd) on loopback, and against broken servers."""

from __future__ import annotations

import datetime as dt
import email
import email.message
import email.policy
import logging
import re
import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from reseller_plans.domain.errors import (
    InvalidInput,
    PermanentBackendError,
    TransientBackendError,
)
from reseller_plans.domain.messages import MessageKind
from reseller_plans.mail import SMTPMailer, Templates, message_id_header

USERNAME = "mailer"
CANARY = "canary-Pa55w0rd-7f3a9c"  # the password; must never leak anywhere
NOW = dt.datetime(2025, 7, 1, 9, 30, tzinfo=dt.UTC)

CONTEXT = {
    "reseller_name": "TechSolutions Ltd",
    "distributor_name": "Disti Cloud",
    "plan": "standard",
    "storefront_url": "https://cloud.disti.example/techsolutions",
    "distributor_storefront_url": "https://cloud.disti.example",
}


class FixedClock:
    def now(self) -> dt.datetime:
        return NOW


@attrs.frozen
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes
    authenticated: bool

    def parsed(self) -> email.message.EmailMessage:
        message = email.message_from_bytes(self.content, policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        return message

    def body(self, subtype: str) -> str:
        """The text of the ``text/<subtype>`` part, with the wire's CRLF read back as LF."""
        part = self.parsed().get_body((subtype,))
        assert part is not None, f"no text/{subtype} part"
        assert part.get_content_type() == f"text/{subtype}"
        content = part.get_content()
        assert isinstance(content, str)
        return content.replace("\r\n", "\n")


class RecordingHandler:
    """Collects what arrives; answers a scripted reply to MAIL, RCPT (per address) or DATA."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.mail_reply: str | None = None
        self.rcpt_replies: dict[str, str] = {}
        self.data_reply: str | None = None

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.data_reply:
            return self.data_reply
        self.received.append(
            Received(
                envelope.mail_from,
                tuple(envelope.rcpt_tos),
                envelope.original_content,
                session.authenticated,
            )
        )
        return "250 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USERNAME.encode()
        and auth_data.password == CANARY.encode()
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


class LoopbackController(Controller):
    """aiosmtpd's Controller, bound to a port the OS picks (no race for a free port number)."""

    # aiosmtpd's documented extension point; it must go through _factory_invoker.
    def _create_server(self) -> Any:
        async def create() -> Any:
            server = await self.loop.create_server(
                self._factory_invoker, host=self.hostname, port=0, ssl=self.ssl_context
            )
            self.port = server.sockets[0].getsockname()[1]
            return server

        return create()


@attrs.frozen
class SMTPServer:
    handler: RecordingHandler
    port: int

    def mailer(self, **options: Any) -> SMTPMailer:
        options.setdefault("sender", "Disti Cloud <noreply@disti.example>")
        options.setdefault("security", "none")
        options.setdefault("clock", FixedClock())
        options.setdefault("timeout", 5.0)
        return SMTPMailer("127.0.0.1", self.port, **options)


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    handler = RecordingHandler()
    controller = LoopbackController(
        handler,
        hostname="127.0.0.1",
        server_hostname="smtp.test",  # else aiosmtpd asks DNS for this machine's name
        authenticator=authenticator,
        # AUTH over plain text, on loopback only. auth_required stays False: with it, aiosmtpd
        # warns (UserWarning) in its own thread; "530 when not logged in" is scripted instead.
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield SMTPServer(handler, controller.port)
    finally:
        controller.stop()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port that refuses connections: bound, never listening (so nobody else takes it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def welcome(message_id: str = "outbox-1", to: tuple[str, ...] = ("owner@techsolutions.example",)):
    return Templates().email(MessageKind.WELCOME, CONTEXT, message_id=message_id, to=to)


# --- delivery ---------------------------------------------------------------------------------


def test_message_arrives_with_recipients_headers_and_both_parts(smtp_server: SMTPServer) -> None:
    message = welcome(to=("owner@techsolutions.example", "Billing <billing@techsolutions.example>"))

    smtp_server.mailer().send(message)

    [received] = smtp_server.handler.received
    assert received.mail_from == "noreply@disti.example"
    assert received.rcpt_tos == ("owner@techsolutions.example", "billing@techsolutions.example")
    parsed = received.parsed()
    assert parsed["From"] == "Disti Cloud <noreply@disti.example>"
    assert parsed["To"] == "owner@techsolutions.example, Billing <billing@techsolutions.example>"
    assert parsed["Subject"] == message.subject
    assert parsed["Date"].datetime == NOW
    assert parsed["Message-ID"] == "<outbox-1@reseller-plans>"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["X-Reseller-Plans-Kind"] == "welcome"
    assert parsed.get_content_type() == "multipart/alternative"
    assert received.body("plain") == message.text
    assert received.body("html") == message.html
    assert "https://cloud.disti.example/techsolutions" in received.body("plain")


def test_a_resend_carries_the_same_message_id(smtp_server: SMTPServer) -> None:
    mailer = smtp_server.mailer()

    mailer.send(welcome("outbox:42/welcome"))
    mailer.send(welcome("outbox:42/welcome"))
    mailer.send(welcome("outbox:43/welcome"))

    ids = [r.parsed()["Message-ID"] for r in smtp_server.handler.received]
    assert ids[0] == ids[1] == message_id_header("outbox:42/welcome")
    assert ids[2] != ids[0]


def test_html_part_escapes_values_and_text_part_keeps_them(smtp_server: SMTPServer) -> None:
    script = "<script>alert(1)</script>"
    message = Templates().email(
        MessageKind.WELCOME,
        {**CONTEXT, "reseller_name": script},
        message_id="outbox-xss",
        to=("owner@techsolutions.example",),
    )

    smtp_server.mailer().send(message)

    [received] = smtp_server.handler.received
    assert script not in received.body("html")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in received.body("html")
    assert script in received.body("plain")


def test_a_value_cannot_inject_a_header_through_the_subject(smtp_server: SMTPServer) -> None:
    message = Templates().email(
        MessageKind.PROVISIONING_FAILED,
        {
            "reseller_name": "Evil\r\nBcc: victim@attacker.example",
            "distributor_name": "Disti Cloud",
            "account_id": "ACC-1",
            "subscription_id": "SUB-1",
            "plan": "standard",
            "reason": "boom",
        },
        message_id="outbox-inject",
        to=("staff@disti.example",),
    )

    smtp_server.mailer().send(message)

    [received] = smtp_server.handler.received
    assert received.rcpt_tos == ("staff@disti.example",)
    parsed = received.parsed()
    assert parsed["Bcc"] is None
    assert parsed["Subject"].startswith("Provisioning failed: Standard plan for Evil Bcc: victim")


def test_a_subject_with_a_line_break_from_elsewhere_is_flattened(smtp_server: SMTPServer) -> None:
    message = attrs.evolve(welcome(), subject="Hello\r\nBcc: victim@attacker.example")

    smtp_server.mailer().send(message)

    parsed = smtp_server.handler.received[0].parsed()
    assert parsed["Subject"] == "Hello Bcc: victim@attacker.example"
    assert parsed["Bcc"] is None


@pytest.mark.parametrize(
    "message_id",
    ["outbox-1", "outbox:42/welcome", ".lead", "trail.", "a..b", "ünïcødé id", "a=3Db", "x" * 500],
)
def test_message_id_header_is_a_valid_msg_id(message_id: str) -> None:
    header = message_id_header(message_id)

    dot_atom = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    assert re.fullmatch(rf"<{dot_atom}@reseller-plans>", header)
    assert len(header) < 998
    assert message_id_header(message_id) == header


def test_message_id_headers_of_distinct_ids_are_distinct() -> None:
    ids = ["a:b", "a=3Ab", "a-b", "a b", "a.b", "a..b", "a.=2Eb", "x" * 300, "x" * 301]

    assert len({message_id_header(i) for i in ids}) == len(ids)


def test_an_empty_message_id_is_invalid() -> None:
    with pytest.raises(InvalidInput, match="message id"):
        message_id_header("")


# --- authentication ---------------------------------------------------------------------------


def test_login_with_the_right_credentials_delivers_authenticated(smtp_server: SMTPServer) -> None:
    smtp_server.mailer(username=USERNAME, password=CANARY).send(welcome())

    [received] = smtp_server.handler.received
    assert received.authenticated


def test_login_with_a_wrong_password_is_permanent_535(smtp_server: SMTPServer) -> None:
    mailer = smtp_server.mailer(username=USERNAME, password="wrong-password")

    with pytest.raises(PermanentBackendError) as caught:
        mailer.send(welcome())

    assert caught.value.status == 535
    assert "refused the credentials" in str(caught.value)
    assert smtp_server.handler.received == []


def test_a_server_requiring_auth_refuses_an_anonymous_sender_permanently(
    smtp_server: SMTPServer,
) -> None:
    smtp_server.handler.mail_reply = "530 5.7.0 Authentication required"

    with pytest.raises(PermanentBackendError) as caught:
        smtp_server.mailer().send(welcome())

    assert caught.value.status == 530


def test_the_password_never_leaks_into_repr_logs_or_errors(
    smtp_server: SMTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    good = smtp_server.mailer(username=USERNAME, password=CANARY)
    bad = smtp_server.mailer(username=USERNAME, password=CANARY + "-wrong")

    good.send(welcome())
    with pytest.raises(PermanentBackendError) as caught:
        bad.send(welcome())

    for mailer in (good, bad):
        assert CANARY not in repr(mailer)
        assert CANARY not in str(mailer)
        assert "password='***'" in repr(mailer)
    error = caught.value
    for text in (str(error), repr(error), error.body_excerpt or "", repr(error.args)):
        assert CANARY not in text
    # No smtplib frames (their locals hold the password) travel with the error.
    assert error.__cause__ is None
    assert error.__context__ is None
    traceback = error.__traceback__
    while traceback is not None:
        for value in traceback.tb_frame.f_locals.values():
            assert CANARY not in repr(value)
            assert CANARY not in repr(getattr(value, "__dict__", None))
        traceback = traceback.tb_next
    ours = [r for r in caplog.records if r.name.startswith("reseller_plans")]
    assert any("sent" in r.getMessage() for r in ours)
    assert any("not sent" in r.getMessage() for r in ours)
    for record in caplog.records:
        assert CANARY not in record.getMessage()
        assert CANARY not in repr(record.args)
    assert CANARY not in caplog.text


def test_debug_log_names_message_id_recipient_count_and_outcome(
    smtp_server: SMTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="reseller_plans.mail")

    smtp_server.mailer().send(welcome("outbox-7", to=("a@x.example", "b@x.example")))

    messages = [r.getMessage() for r in caplog.records if r.name == "reseller_plans.mail"]
    assert any("outbox-7" in m and "2 recipient(s)" in m and "sending" in m for m in messages)
    assert any("outbox-7" in m and "sent" in m for m in messages)


# --- refusals and failures --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hook", "reply", "error", "status"),
    [
        ("rcpt", "550 5.1.1 No such user", PermanentBackendError, 550),
        ("rcpt", "451 4.3.0 Try again later", TransientBackendError, 451),
        ("data", "451 4.3.0 Try again later", TransientBackendError, 451),
        ("data", "554 5.7.1 Message refused", PermanentBackendError, 554),
        ("mail", "421 4.3.2 Service shutting down", TransientBackendError, 421),
        ("mail", "553 5.7.1 Sender not allowed", PermanentBackendError, 553),
    ],
)
def test_smtp_replies_map_4xx_to_transient_and_5xx_to_permanent(
    smtp_server: SMTPServer, hook: str, reply: str, error: type[Exception], status: int
) -> None:
    handler = smtp_server.handler
    if hook == "rcpt":
        handler.rcpt_replies["owner@techsolutions.example"] = reply
    elif hook == "data":
        handler.data_reply = reply
    else:
        handler.mail_reply = reply

    with pytest.raises(error) as caught:
        smtp_server.mailer().send(welcome())

    assert caught.value.status == status  # type: ignore[attr-defined]
    assert reply.split(" ", 1)[1] in str(caught.value)


def test_a_partial_refusal_is_permanent_so_the_others_do_not_get_it_twice(
    smtp_server: SMTPServer,
) -> None:
    smtp_server.handler.rcpt_replies["gone@techsolutions.example"] = "550 5.1.1 No such user"

    with pytest.raises(PermanentBackendError) as caught:
        smtp_server.mailer().send(
            welcome(to=("owner@techsolutions.example", "gone@techsolutions.example"))
        )

    assert caught.value.status == 550
    assert "gone@techsolutions.example" in str(caught.value)
    assert "accepted 1 of 2" in str(caught.value)
    [received] = smtp_server.handler.received
    assert received.rcpt_tos == ("owner@techsolutions.example",)


def test_a_server_that_is_down_is_transient(closed_port: int) -> None:
    mailer = SMTPMailer("127.0.0.1", closed_port, sender="noreply@disti.example", security="none")

    with pytest.raises(TransientBackendError, match="cannot reach the SMTP server") as caught:
        mailer.send(welcome())

    assert caught.value.status is None


@pytest.fixture
def hanging_up_server() -> Iterator[int]:
    """A TCP server that accepts one connection and closes it without a greeting."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = listener.accept()
        connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        thread.join(timeout=5)
        listener.close()


def test_a_server_that_hangs_up_is_transient(hanging_up_server: int) -> None:
    mailer = SMTPMailer(
        "127.0.0.1", hanging_up_server, sender="noreply@disti.example", security="none"
    )

    with pytest.raises(TransientBackendError, match="closed the connection"):
        mailer.send(welcome())


def test_a_server_that_never_answers_times_out_as_transient() -> None:
    # Listening but never accepting: the kernel completes the handshake, no greeting comes.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        mailer = SMTPMailer(
            "127.0.0.1", port, sender="noreply@disti.example", security="none", timeout=0.2
        )

        with pytest.raises(TransientBackendError):
            mailer.send(welcome())


def test_an_invalid_recipient_is_permanent_without_connecting(closed_port: int) -> None:
    mailer = SMTPMailer("127.0.0.1", closed_port, sender="noreply@disti.example", security="none")

    # Were it to connect, the closed port would make it transient.
    with pytest.raises(PermanentBackendError, match="invalid recipient"):
        mailer.send(attrs.evolve(welcome(), to=("not-an-address",)))
    with pytest.raises(PermanentBackendError, match="at least one recipient"):
        mailer.send(attrs.evolve(welcome(), to=()))


# --- TLS configuration (no certificate here: errors are tested, not the handshake) -------------


def test_starttls_against_a_server_without_it_is_a_permanent_configuration_error(
    smtp_server: SMTPServer,
) -> None:
    mailer = smtp_server.mailer(security="starttls")

    with pytest.raises(PermanentBackendError, match="does not offer STARTTLS"):
        mailer.send(welcome())

    assert smtp_server.handler.received == []


def test_implicit_tls_against_a_plain_server_is_a_permanent_configuration_error(
    smtp_server: SMTPServer,
) -> None:
    mailer = smtp_server.mailer(security="tls")

    with pytest.raises(PermanentBackendError, match="security='tls'"):
        mailer.send(welcome())

    assert smtp_server.handler.received == []


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"security": "ssl"}, "invalid SMTP security"),
        ({"port": 0}, "invalid SMTP port"),
        ({"port": 70000}, "invalid SMTP port"),
        ({"host": ""}, "invalid SMTP host"),
        ({"host": "smtp.example\r\nX: y"}, "invalid SMTP host"),
        ({"username": "u"}, "both an SMTP username and a password"),
        ({"password": "p"}, "both an SMTP username and a password"),
        ({"timeout": 0}, "invalid SMTP timeout"),
        ({"security": "none", "ssl_context": ssl.create_default_context()}, "ssl_context"),
        ({"sender": "nobody"}, "invalid sender"),
        ({"sender": "a@b.example\r\nBcc: x@y.example"}, "invalid sender"),
    ],
)
def test_settings_that_cannot_work_are_refused_at_construction(
    options: dict[str, Any], match: str
) -> None:
    settings: dict[str, Any] = {"host": "smtp.example", "port": 587, "sender": "a@b.example"}
    settings.update(options)
    host, port = settings.pop("host"), settings.pop("port")

    with pytest.raises(InvalidInput, match=match):
        SMTPMailer(host, port, **settings)


def test_nothing_connects_at_construction() -> None:
    # An unresolvable host: construction must not look it up, let alone connect.
    mailer = SMTPMailer("smtp.invalid", 587, sender="a@b.example", username="u", password="p")

    assert repr(mailer) == (
        "SMTPMailer(host='smtp.invalid', port=587, sender='a@b.example', security='starttls', "
        "username='u', password='***')"
    )


def test_a_message_that_is_not_valid_is_refused(smtp_server: SMTPServer) -> None:
    with pytest.raises(PermanentBackendError, match="message id"):
        smtp_server.mailer().send(attrs.evolve(welcome(), message_id=""))
