"""ConsoleMailer: prints each message for local runs."""

from __future__ import annotations

import io

import pytest

from reseller_plans.domain.errors import TransientBackendError
from reseller_plans.domain.messages import MessageKind
from reseller_plans.mail import ConsoleMailer
from reseller_plans.ports import EmailMessage

MESSAGE = EmailMessage(
    message_id="outbox-1",
    kind=MessageKind.RESUMED,
    to=("owner@techsolutions.example", "billing@techsolutions.example"),
    subject="Your Standard reseller plan is active again",
    text="Hello TechSolutions,\n\nWelcome back.",
    html="<p>Hello</p>",
)


def test_prints_headers_text_and_html_size_to_the_stream() -> None:
    stream = io.StringIO()

    ConsoleMailer(stream).send(MESSAGE)

    printed = stream.getvalue()
    assert "Email outbox-1 (resumed)" in printed
    assert "To: owner@techsolutions.example, billing@techsolutions.example" in printed
    assert "Subject: Your Standard reseller plan is active again" in printed
    assert "Hello TechSolutions,\n\nWelcome back.\n" in printed
    assert "[HTML alternative: 12 characters]" in printed


def test_prints_to_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    ConsoleMailer().send(MESSAGE)

    assert "Subject: Your Standard reseller plan is active again" in capsys.readouterr().out


def test_a_stream_that_fails_is_a_transient_error() -> None:
    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError("disk full")

    with pytest.raises(TransientBackendError, match="cannot print email outbox-1"):
        ConsoleMailer(Broken()).send(MESSAGE)
