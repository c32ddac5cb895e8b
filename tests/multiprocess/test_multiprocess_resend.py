"""Resending a message from two real processes at once, or while ``run_due`` is sending it,
over one SQLite file and one PostgreSQL schema: the mail server gets it once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHILD = Path(__file__).with_name("mp_resend.py")
DSN = os.environ.get("RESELLER_PLANS_TEST_POSTGRES_DSN")


def _run(*args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own child script
        [sys.executable, str(CHILD), *args], capture_output=True, text=True, timeout=60,
        check=True,
    )  # fmt: skip
    return done.stdout.strip()


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own child script
        [sys.executable, str(CHILD), *args], stdout=subprocess.PIPE, text=True
    )


def _in_the_middle(folder: Path, child: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while not (folder / f"sending-{child.pid}").exists():
        assert child.poll() is None, "the first sender ended before it sent"
        assert time.monotonic() < deadline
        time.sleep(0.01)


@pytest.mark.parametrize("first", ["resend", "run-due"])
def test_a_message_being_sent_is_not_sent_again_by_a_resend(
    store: str, tmp_path: Path, first: str
) -> None:
    message = _run("setup", store, "failed" if first == "resend" else "waiting")
    folder = tmp_path / "run"
    folder.mkdir()
    if first == "resend":
        sender = _start("resend", store, message, str(folder))
    else:
        sender = _start("run-due", store, str(folder))
    _in_the_middle(folder, sender)  # it holds the message's claim, mid-send

    second = json.loads(_run("resend", store, message, str(folder)))

    (folder / "go").touch()
    out, _ = sender.communicate(timeout=60)
    assert "refused" in second, second  # another sender has it: nothing done, try again
    assert "being sent by another sender" in second["refused"]
    assert json.loads(out) in ({"status": "sent"}, {"sent": 1})
    deliveries = (folder / "deliveries").read_text().splitlines()
    assert len(deliveries) == 1, deliveries
    assert deliveries[0].split()[1] == message
