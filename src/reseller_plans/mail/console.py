"""``ConsoleMailer``: the ``Mailer`` port for local runs, printing each message instead of
sending it."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from reseller_plans.domain.errors import TransientBackendError
from reseller_plans.ports import EmailMessage

__all__ = ["ConsoleMailer"]

_RULE = "-" * 72


class ConsoleMailer:
    """Prints each message, readable: its headers, the text part and the size of the HTML one.

    Args:
        stream: where to print; ``None`` (default) means ``sys.stdout`` at the time of sending.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        # One message at a time, so that messages sent from several threads do not interleave.
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "ConsoleMailer()" if self._stream is None else f"ConsoleMailer({self._stream!r})"

    def send(self, message: EmailMessage) -> None:
        """Print ``message``.

        Args:
            message: the rendered message.

        Raises:
            TransientBackendError: the stream could not be written.
        """
        stream = self._stream if self._stream is not None else sys.stdout
        rendering = _render(message)
        try:
            with self._lock:
                stream.write(rendering)
                stream.flush()
        except OSError as error:
            raise TransientBackendError(
                f"cannot print email {message.message_id}: {error}"
            ) from error


def _render(message: EmailMessage) -> str:
    """The headers, the text part and a line about the HTML alternative."""
    text = message.text if message.text.endswith("\n") else message.text + "\n"
    return (
        f"{_RULE}\n"
        f"Email {message.message_id} ({message.kind.value})\n"
        f"To: {', '.join(message.to)}\n"
        f"Subject: {message.subject}\n"
        "\n"
        f"{text}"
        f"[HTML alternative: {len(message.html)} characters]\n"
        f"{_RULE}\n"
    )
