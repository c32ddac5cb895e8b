"""The SMTP login, and the redaction of every form it takes on the wire.

``smtplib`` sends credentials base64-encoded (RFC 4954): ``AUTH PLAIN`` as one blob of
``\\0username\\0password``, ``AUTH LOGIN`` as the username and the password one after the other,
``AUTH CRAM-MD5`` as the username followed by a digest. A server that echoes the exchange in its
reply (some put the refused line in their 535) would carry those blobs into our errors, and from
there into the outbox's ``last_error``, reprs and logs. :class:`SMTPCredentials` knows every
form and scrubs them all: the password itself, each blob (also without its ``=`` padding, and
any piece of one at least eight characters long, as a truncated echo leaves it), and any other
base64 word that decodes to text holding the username or the password.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final

from reseller_plans.logs import REDACTED, redact, register_secret

__all__ = ["SMTPCredentials"]

# A base64 word long enough to hide a credential (shorter pieces carry too little to matter).
_BASE64_WORD: Final = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{8,}={0,2}")
# Below this, a username or password would match ordinary decoded bytes by chance.
_MIN_NEEDLE: Final = 4


class SMTPCredentials:
    """The username and password of an SMTP login; never shown in a repr.

    Creating one registers the password and its base64 forms with
    :func:`reseller_plans.logs.register_secret`, so every log record of the library is scrubbed
    of them too.

    Args:
        username: the login.
        password: its password.
    """

    __slots__ = ("_forms", "_needles", "_password", "username")

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self._password = password
        user, secret = username.encode("utf-8"), password.encode("utf-8")
        blobs = (
            b"\0" + user + b"\0" + secret,  # AUTH PLAIN, as smtplib sends it
            user + b"\0" + user + b"\0" + secret,  # AUTH PLAIN with the authorization id
            secret,  # AUTH LOGIN, the password's line
            user,  # AUTH LOGIN, the username's line
        )
        self._forms = tuple(base64.b64encode(blob).decode("ascii").rstrip("=") for blob in blobs)
        self._needles = tuple(n for n in (secret, user) if len(n) >= _MIN_NEEDLE)
        for form in (password, *self._forms):
            register_secret(form)

    def reveal(self) -> str:
        """The password, for ``smtplib.SMTP.login`` and nowhere else.

        Returns:
            The password.
        """
        return self._password

    def redact(self, text: str) -> str:
        """``text`` (a server's reply) with the credentials scrubbed in every form.

        Args:
            text: any text.

        Returns:
            The text, each credential or base64 form of one replaced by ``[REDACTED]``.
        """
        return _BASE64_WORD.sub(self._scrub, redact(text))

    def _scrub(self, match: re.Match[str]) -> str:
        word = match.group(0)
        bare = word.rstrip("=")
        if any(bare in form for form in self._forms):
            return REDACTED
        decoded = _decoded(bare)
        if decoded is not None and any(needle in decoded for needle in self._needles):
            return REDACTED
        return word

    def __repr__(self) -> str:
        return f"SMTPCredentials(username={self.username!r}, password='***')"


def _decoded(word: str) -> bytes | None:
    try:
        return base64.b64decode(word + "=" * (-len(word) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
