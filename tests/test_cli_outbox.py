"""The silent-email story, replayed as an operator lives it: a real SMTP server on loopback
refuses every message; the bulk upgrade, ``run-due`` and ``outbox --failed`` all say so; once
the server is fixed, ``resend`` delivers the message, with the same Message-ID."""

from __future__ import annotations

import email
import json
import socket
from collections.abc import Iterator
from email import policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from cli_world import Invoke, environment, invoker
from reseller_plans.mail import message_id_header
from reseller_plans.testing.emulator import EmulatorServer, EmulatorState, serve_emulator


class Mailbox:
    """A mail server that refuses every message while ``refusing``, and keeps the rest."""

    def __init__(self) -> None:
        self.refusing = True
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.refusing:
            return "554 5.7.1 message refused by policy"
        parsed = email.message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, server_hostname="smtp.test")
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with serve_emulator(EmulatorState.demo(extra_resellers=3)) as running:
        yield running


@pytest.fixture
def run(server: EmulatorServer, mailbox: tuple[Mailbox, int], tmp_path: Path) -> Invoke:
    env = environment(server, tmp_path / "state.sqlite3")
    env |= {
        "RESELLER_PLANS_SMTP_HOST": "127.0.0.1",
        "RESELLER_PLANS_SMTP_PORT": str(mailbox[1]),
        "RESELLER_PLANS_SMTP_SECURITY": "none",
        "RESELLER_PLANS_SMTP_SENDER": "noreply@disti.example",
    }
    return invoker(env, tmp_path)


def test_refused_emails_are_seen_everywhere_and_resent_once_the_server_is_back(
    run: Invoke, mailbox: tuple[Mailbox, int], tmp_path: Path
) -> None:
    box, _ = mailbox
    (tmp_path / "rows.csv").write_text(
        "account,plan,alias\n10001,free,reseller-one\n10002,free,reseller-two\n"
    )
    code, out, err = run("upgrade", "--from-csv", "rows.csv")
    assert code == 1, err  # every row done, but the emails were refused: not a clean exit
    assert "2 rows: 2 done" in out
    assert "2 emails refused for good" in out
    code, out, _ = run("--json", "upgrade", "--from-csv", "rows.csv")
    assert json.loads(out)["counts"]["skipped"] == 2  # the rerun does nothing again

    code, out, _ = run("run-due")
    assert code == 0
    assert "messages failed: 2" in out
    assert "reseller-plans outbox --failed" in out

    code, out, _ = run("--json", "outbox", "--failed")
    assert code == 1  # something failed
    failed = json.loads(out)
    assert [m["status"] for m in failed] == ["failed", "failed"]
    assert all("554" in m["last_error"] for m in failed)
    code, out, _ = run("outbox", "--failed", "--csv")
    assert out.splitlines()[0].startswith('"message","subscription","kind","status"')
    assert len(out.splitlines()) == 3

    box.refusing = False  # the mail server is fixed
    first = failed[0]["message"]
    code, out, _ = run("resend", first)
    assert code == 0
    assert f"message {first}: sent" in out
    (delivered,) = box.messages
    assert delivered["Message-ID"] == message_id_header(first)
    code, out, _ = run("--json", "history", failed[0]["subscription"])
    types = [e["type"] for e in json.loads(out)]
    assert types[-2:] == ["MessageFailed", "MessageResent"]
    assert json.loads(out)[-1]["actor"] == "distributor 100"

    code, out, _ = run("--json", "outbox", "--failed")
    assert code == 1  # the other one still waits for its resend
    assert [m["message"] for m in json.loads(out)] == [failed[1]["message"]]
    assert run("resend", failed[1]["message"])[0] == 0
    code, out, _ = run("outbox", "--failed")
    assert code == 0
    assert "0 messages" in out
    code, out, _ = run("--json", "resend", first)
    assert code == 2  # sent already: nothing to resend, nothing changed
    assert "nothing to resend" in json.loads(out)["error"]["message"]
    code, out, _ = run("resend", "no-such-message")
    assert code == 1
    assert run("outbox", "--failed", "--waiting")[0] == 2  # one status at a time
    code, out, err = run("outbox", "--subscription", "no-such-subscription")
    assert code == 1
    assert "no-such-subscription" in out + err
