"""``SMTPMailer``: the ``Mailer`` port over SMTP, with the standard library's ``smtplib``.

One connection per message: connect (implicit TLS, STARTTLS or plain), log in when credentials
are given, send a ``multipart/alternative`` message (text and HTML), quit. Every failure becomes
a ``BackendError`` that says whether a retry may help:

- ``TransientBackendError``: the server cannot be reached, refuses or drops the connection, times
  out, or answers 4xx (``status`` is the reply code when there is one);
- ``PermanentBackendError``: the server answers 5xx (a refused recipient, sender or message,
  wrong credentials), or the configuration cannot work (no STARTTLS offered, a TLS handshake or
  certificate failure, no suitable AUTH mechanism).

The password never appears in a repr, a log record or an error, nor in the frames an error
carries: a failed login is reported without the ``smtplib`` traceback, whose frames hold it. A
server that echoes the AUTH exchange in its reply has the base64 blobs of the login scrubbed
from it too (``reseller_plans.mail.credentials``).
"""

from __future__ import annotations

import contextlib
import email.message
import email.utils
import hashlib
import re
import smtplib
import ssl
import string
from collections.abc import Mapping
from typing import Final, Literal, get_args

from reseller_plans.domain.errors import (
    BackendError,
    InvalidInput,
    PermanentBackendError,
    TransientBackendError,
)
from reseller_plans.logs import get_logger, redact
from reseller_plans.mail.credentials import SMTPCredentials
from reseller_plans.ports import Clock, EmailMessage, SystemClock

__all__ = ["SMTPMailer", "SMTPSecurity"]

SMTPSecurity = Literal["starttls", "tls", "none"]
"""How the connection is protected: STARTTLS upgrade, implicit TLS (port 465), or not at all."""

MESSAGE_ID_DOMAIN: Final = "reseller-plans"

log = get_logger("mail")

# Characters kept as they are in the left part of a Message-ID; everything else is written
# ``=XX`` (UTF-8 bytes in hex), so distinct ids stay distinct and the result is a dot-atom.
_ID_SAFE: Final = frozenset(string.ascii_letters + string.digits + "-_")
_ID_MAX: Final = 200
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
_EXCERPT_MAX: Final = 200


def message_id_header(message_id: str) -> str:
    """The ``Message-ID`` header for an outbox message id: stable, and valid per RFC 5322.

    >>> message_id_header("outbox:42")
    '<outbox=3A42@reseller-plans>'

    Args:
        message_id: the id of the outbox entry (any text).

    Returns:
        ``<left@reseller-plans>``; the same id always gives the same header.

    Raises:
        InvalidInput: the id is empty.
    """
    if not message_id:
        raise InvalidInput("an email needs a message id")
    raw = message_id.encode("utf-8")
    left = []
    for index, byte in enumerate(raw):
        char = chr(byte)
        # A dot is kept only where a dot-atom allows it: not first, not last, not doubled.
        keep_dot = char == "." and 0 < index < len(raw) - 1 and raw[index - 1] != ord(".")
        left.append(char if char in _ID_SAFE or keep_dot else f"={byte:02X}")
    text = "".join(left)
    if len(text) > _ID_MAX:
        # "=s" never comes out of the escaping above, so a hashed id cannot collide with one.
        text = "=sha256=" + hashlib.sha256(raw).hexdigest()
    return f"<{text}@{MESSAGE_ID_DOMAIN}>"


def _address(value: object, *, role: str) -> str:
    """The bare address of ``value`` (``"Name <a@b>"`` or ``"a@b"``), checked."""
    if not isinstance(value, str) or _CONTROL.search(value):
        raise InvalidInput(f"invalid {role} address {value!r}")
    address = email.utils.parseaddr(value)[1]
    if "@" not in address or address.startswith("@") or address.endswith("@"):
        raise InvalidInput(f"invalid {role} address {value!r}")
    return address


def _status(code: int) -> int | None:
    return code if 100 <= code <= 599 else None


def _for_status(code: int | None) -> type[BackendError]:
    """5xx: retrying will not help. Anything else (4xx, none): it may."""
    if code is not None and 500 <= code <= 599:
        return PermanentBackendError
    return TransientBackendError


class SMTPMailer:
    """Sends each ``EmailMessage`` through an SMTP server.

    Nothing connects until :meth:`send`. Credentials over ``security="none"`` travel in clear
    text: use it only for a relay on loopback or a local sink.

    Args:
        host: the SMTP server.
        port: its port (usually 587 for STARTTLS, 465 for TLS, 25 for a relay).
        sender: the ``From`` address, bare or with a name (``"Disti <noreply@disti.example>"``).
        security: ``"starttls"`` (default), ``"tls"`` or ``"none"``.
        username: the login, if the server wants one (give ``password`` too).
        password: the password; never shown in a repr, a log or an error.
        timeout: seconds for connecting and for each reply.
        local_hostname: the name sent in EHLO (default: this machine's name).
        ssl_context: for ``"tls"`` and ``"starttls"``; default ``ssl.create_default_context()``,
            which verifies the server's certificate and name.
        clock: where the ``Date`` header comes from (default: the real clock).

    Raises:
        InvalidInput: a setting that cannot work (an unknown ``security``, a port out of range,
            a username without a password, an ``ssl_context`` with ``security="none"``, …).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        security: SMTPSecurity = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        local_hostname: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(host, str) or not host.strip() or _CONTROL.search(host):
            raise InvalidInput(f"invalid SMTP host {host!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise InvalidInput(f"invalid SMTP port {port!r}: expected 1 to 65535")
        if security not in get_args(SMTPSecurity):
            raise InvalidInput(
                f"invalid SMTP security {security!r}: expected 'starttls', 'tls' or 'none'"
            )
        if (username is None) != (password is None):
            raise InvalidInput("give both an SMTP username and a password, or neither")
        if username is not None and (not isinstance(username, str) or not username):
            raise InvalidInput("the SMTP username must be a non-empty string")
        if password is not None and not isinstance(password, str):
            raise InvalidInput("the SMTP password must be a string")
        if not timeout > 0:
            raise InvalidInput(f"invalid SMTP timeout {timeout!r}: expected seconds > 0")
        if ssl_context is not None and security == "none":
            raise InvalidInput("an ssl_context needs security='tls' or security='starttls'")
        self._envelope_from = _address(sender, role="sender")
        self._host = host.strip()
        self._port = port
        self._sender = sender
        self._security: SMTPSecurity = security
        self._username = username
        self._credentials = (
            None if username is None or password is None else SMTPCredentials(username, password)
        )
        self._timeout = float(timeout)
        self._local_hostname = local_hostname
        self._ssl_context = ssl_context
        self._clock: Clock = clock if clock is not None else SystemClock()
        if username is not None and security == "none":
            log.warning(
                "SMTP credentials for %s:%d will travel unencrypted (security='none')",
                self._host,
                self._port,
            )

    def __repr__(self) -> str:
        return (
            f"SMTPMailer(host={self._host!r}, port={self._port!r}, sender={self._sender!r}, "
            f"security={self._security!r}, username={self._username!r}, "
            f"password={'***' if self._credentials is not None else None!r})"
        )

    def send(self, message: EmailMessage) -> None:
        """Send one message: ``From``, ``To``, ``Subject``, ``Date``, a stable ``Message-ID``,
        the text part and the HTML alternative.

        Args:
            message: the rendered message.

        Raises:
            TransientBackendError: worth retrying later (unreachable, dropped, timed out, 4xx).
            PermanentBackendError: retrying will not help (5xx, a configuration that cannot
                work, an invalid address). When some recipients were accepted and others
                refused, this is raised too: a retry would send the message twice to the ones
                that got it.
        """
        try:
            recipients = [_address(to, role="recipient") for to in message.to]
            if not recipients:
                raise InvalidInput("an email needs at least one recipient")
            mime = self._compose(message)
        except InvalidInput as error:
            log.debug("email %s not sent: %s", message.message_id, error)
            raise PermanentBackendError(
                f"cannot send email {message.message_id}: {error}"
            ) from None
        log.debug(
            "sending email %s (%s) to %d recipient(s) through %s:%d",
            message.message_id,
            message.kind.value,
            len(recipients),
            self._host,
            self._port,
        )
        try:
            self._deliver(mime, recipients)
        except BackendError as error:
            log.debug("email %s not sent: %s (%s)", message.message_id, error, type(error).__name__)
            raise
        log.debug("email %s sent to %d recipient(s)", message.message_id, len(recipients))

    def _compose(self, message: EmailMessage) -> email.message.EmailMessage:
        mime = email.message.EmailMessage()
        mime["From"] = self._sender
        mime["To"] = ", ".join(message.to)
        mime["Subject"] = _CONTROL.sub(" ", message.subject).strip()
        mime["Date"] = email.utils.format_datetime(self._clock.now())
        mime["Message-ID"] = message_id_header(message.message_id)
        # RFC 3834: tells auto-responders not to answer.
        mime["Auto-Submitted"] = "auto-generated"
        mime["X-Reseller-Plans-Kind"] = message.kind.value
        mime.set_content(message.text)
        mime.add_alternative(message.html, subtype="html")
        return mime

    def _deliver(self, mime: email.message.EmailMessage, recipients: list[str]) -> None:
        smtp: smtplib.SMTP | None = None
        try:
            smtp = self._open()
            failure = self._login(smtp)
            if failure is not None:
                # Raised here, outside any ``except``: the error carries no smtplib frames.
                raise failure
            refused = smtp.send_message(mime, from_addr=self._envelope_from, to_addrs=recipients)
            if refused:
                raise self._refused(refused, total=len(recipients), partial=True)
        except (smtplib.SMTPException, OSError) as error:
            raise self._error(error) from error
        finally:
            if smtp is not None:
                _close_quietly(smtp)

    def _open(self) -> smtplib.SMTP:
        if self._security == "tls":
            return smtplib.SMTP_SSL(
                self._host,
                self._port,
                local_hostname=self._local_hostname,
                timeout=self._timeout,
                context=self._tls_context(),
            )
        smtp = smtplib.SMTP(
            self._host, self._port, local_hostname=self._local_hostname, timeout=self._timeout
        )
        if self._security == "starttls":
            try:
                smtp.starttls(context=self._tls_context())
            except smtplib.SMTPNotSupportedError:
                _close_quietly(smtp)
                raise PermanentBackendError(
                    f"the SMTP server {self._server} does not offer STARTTLS: use "
                    "security='tls' for an implicit-TLS port (465), or security='none' for a "
                    "local relay"
                ) from None
            except BaseException:
                _close_quietly(smtp)
                raise
        return smtp

    def _tls_context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            # Made on first use, not at construction: it reads the system's certificates.
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _login(self, smtp: smtplib.SMTP) -> BackendError | None:
        """Log in when there are credentials; a failure is returned, not raised, so that it
        leaves the ``except`` block (and the smtplib frames holding the password) behind."""
        credentials = self._credentials
        if credentials is None:
            return None
        try:
            smtp.login(credentials.username, credentials.reveal())
        except (smtplib.SMTPException, OSError) as error:
            return self._error(error)
        finally:
            # smtplib keeps the password on the connection for its AUTH callbacks.
            smtp.password = ""
        return None

    @property
    def _server(self) -> str:
        return f"{self._host}:{self._port}"

    def _redact(self, text: str) -> str:
        if self._credentials is None:
            return redact(text)
        return self._credentials.redact(text)

    def _reply(self, reply: bytes | str) -> str:
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        return self._redact(_CONTROL.sub(" ", text).strip())[:_EXCERPT_MAX]

    def _error(self, error: smtplib.SMTPException | OSError) -> BackendError:
        """The ``BackendError`` for a failure of smtplib or of the network."""
        server = self._server
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            return self._refused(error.recipients, total=len(error.recipients), partial=False)
        if isinstance(error, smtplib.SMTPConnectError):
            reply = self._reply(error.smtp_error)
            return TransientBackendError(
                f"the SMTP server {server} refused the connection: {error.smtp_code} {reply}",
                status=_status(error.smtp_code),
                body_excerpt=reply,
            )
        if isinstance(error, smtplib.SMTPResponseException):
            what = {
                smtplib.SMTPAuthenticationError: "refused the credentials",
                smtplib.SMTPSenderRefused: "refused the sender",
                smtplib.SMTPDataError: "refused the message",
                smtplib.SMTPHeloError: "refused the greeting",
            }.get(type(error), "answered with an error")
            reply = self._reply(error.smtp_error)
            status = _status(error.smtp_code)
            return _for_status(status)(
                f"the SMTP server {server} {what}: {error.smtp_code} {reply}",
                status=status,
                body_excerpt=reply,
            )
        if isinstance(error, smtplib.SMTPServerDisconnected):
            return TransientBackendError(
                f"the SMTP server {server} closed the connection: {self._reply(str(error))}"
            )
        if isinstance(error, smtplib.SMTPException):
            # No AUTH offered, no suitable mechanism, SMTPUTF8 needed but not supported.
            return PermanentBackendError(
                f"the SMTP server {server} cannot do what is needed: {self._reply(str(error))}"
            )
        if isinstance(error, ssl.SSLCertVerificationError):
            return PermanentBackendError(
                f"the TLS certificate of the SMTP server {server} was refused: "
                f"{error.verify_message}"
            )
        if isinstance(error, ssl.SSLEOFError | ssl.SSLZeroReturnError):
            return TransientBackendError(f"the SMTP server {server} closed the TLS connection")
        if isinstance(error, ssl.SSLError):
            return PermanentBackendError(
                f"TLS with the SMTP server {server} failed ({error.reason or error}): check "
                f"that security={self._security!r} is what this port speaks"
            )
        if isinstance(error, TimeoutError):
            return TransientBackendError(f"the SMTP server {server} timed out")
        return TransientBackendError(
            f"cannot reach the SMTP server {server}: {self._reply(error.strerror or str(error))}"
        )

    def _refused(
        self, refused: Mapping[str, tuple[int, bytes]], *, total: int, partial: bool
    ) -> BackendError:
        details = "; ".join(
            f"{address}: {code} {self._reply(reply)}" for address, (code, reply) in refused.items()
        )
        codes = [code for code, _ in refused.values()]
        status = next((c for c in codes if 500 <= c <= 599), codes[0] if codes else None)
        status = None if status is None else _status(status)
        if partial:
            return PermanentBackendError(
                f"the SMTP server {self._server} accepted {total - len(refused)} of {total} "
                f"recipients and refused {details} (not retried: the others got the message)",
                status=status,
            )
        return _for_status(status)(
            f"the SMTP server {self._server} refused every recipient: {details}",
            status=status,
        )


def _close_quietly(smtp: smtplib.SMTP) -> None:
    """End the session; the message is already accepted or refused, so errors here do not
    matter (and must not turn a delivered message into a failure that is retried)."""
    with contextlib.suppress(smtplib.SMTPException, OSError):
        smtp.quit()
    smtp.close()
