"""Webhooks as an operator lives them: the console script's ``run-due`` delivers the feed to
an endpoint configured in the environment, its summary counts what failed and what died,
``webhooks --dead`` lists the dead letters, and ``redrive-webhook`` sends one again, which the
next ``run-due`` delivers, in order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_world import Invoke, environment, invoker
from reseller_plans.testing.emulator import EmulatorServer, EmulatorState, serve_emulator
from reseller_plans.webhooks import WebhookSecret, verify
from webhook_world import LoopbackReceiver


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with serve_emulator(EmulatorState.demo(extra_resellers=1)) as running:
        yield running


@pytest.fixture
def receiver() -> Iterator[LoopbackReceiver]:
    receiving = LoopbackReceiver()
    yield receiving
    receiving.close()


def test_run_due_delivers_counts_the_dead_and_an_operator_redrives_them(
    server: EmulatorServer, receiver: LoopbackReceiver, tmp_path: Path
) -> None:
    secret = WebhookSecret.generate()
    env = environment(server, tmp_path / "state.sqlite3")
    run: Invoke = invoker(env, tmp_path)
    hooked: Invoke = invoker(
        env | {"RESELLER_PLANS_WEBHOOK_URL": receiver.url,
               "RESELLER_PLANS_WEBHOOK_SECRET": secret.reveal()},
        tmp_path,
    )  # fmt: skip
    code, out, err = run("--json", "upgrade", "10001", "--plan", "free", "--alias", "reseller-one")
    assert code == 0, err + out
    receiver.script = [410]  # the first event's endpoint says it is gone: a dead letter at once

    code, out, err = hooked("--json", "run-due")

    assert code == 0, err
    report = json.loads(out)
    assert report["webhooks_dead"] == 1
    assert report["webhook_dead_letters"] == 1
    assert report["webhooks_delivered"] == 0  # the rest wait behind it, in order
    code, out, _ = hooked("run-due")
    assert "webhook dead letters: 1" in out

    code, out, _ = run("--json", "webhooks", "--dead")
    assert code == 1  # there are dead letters
    dead = json.loads(out)
    assert [(d["endpoint"], d["last_status"], d["dead_reason"]) for d in dead] == [
        ("webhook", 410, "gone")
    ]
    code, out, err = run("redrive-webhook", "webhook", dead[0]["event"])
    assert code == 0, err
    assert "redriven" in out
    code, out, err = run("--json", "redrive-webhook", "webhook", dead[0]["event"])
    assert code == 2
    assert "only a dead or skipped delivery" in json.loads(out)["error"]["message"]

    code, out, err = hooked("--json", "run-due")

    report = json.loads(out)
    assert report["webhook_dead_letters"] == 0
    delivered = receiver.delivered()
    assert report["webhooks_delivered"] == len(delivered) > 1
    assert delivered[0].webhook_id == dead[0]["event"]  # the redriven one first: in order
    for request in delivered:
        verify(request.body, request.headers, secret)
    code, out, _ = run("--json", "webhooks", "--dead")
    assert (code, json.loads(out)) == (0, [])
    code, out, err = run("webhooks", "--dead", "--pending")
    assert code == 2
    assert "--dead and --pending are exclusive" in err
    code, out, _ = run("webhooks", "--delivered", "--csv")
    assert out.splitlines()[0].startswith('"endpoint","event","subscription","state"')
    assert len(out.splitlines()) == 1 + len(delivered)


def test_a_misconfigured_webhook_is_a_configuration_error(
    server: EmulatorServer, tmp_path: Path
) -> None:
    env = environment(server, tmp_path / "state.sqlite3")
    code, out, _ = invoker(env | {"RESELLER_PLANS_WEBHOOK_URL": "http://127.0.0.1:9/h"},
                           tmp_path)("--json", "run-due")  # fmt: skip
    assert code == 2
    assert "WEBHOOK_SECRET" in json.loads(out)["error"]["message"]
    bad = env | {"RESELLER_PLANS_WEBHOOK_URL": "ftp://x", "RESELLER_PLANS_WEBHOOK_SECRET": "no"}
    code, out, _ = invoker(bad, tmp_path)("--json", "run-due")
    assert code == 2
    assert "[[webhooks]]" in json.loads(out)["error"]["message"]
    (tmp_path / "plans.toml").write_text(
        '[[webhooks]]\nid = "crm"\nurl = "http://x/"\ncolour = 1\n'
    )
    code, out, _ = invoker(env, tmp_path)("--config", "plans.toml", "--json", "run-due")
    assert code == 2
    assert "unknown setting [[webhooks]] colour" in json.loads(out)["error"]["message"]
