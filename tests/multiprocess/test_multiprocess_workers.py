"""One owner at a time across real processes, on a SQLite file and on PostgreSQL.

Every case runs child processes (``mp_worker.py``) that each build their own ``ResellerPlans``
over one store and over backends shared through one recorder file (``mp_backend``), which
ignore idempotency keys as the platform does: any second effect of one step, or second delivery
of one message, is in the file. Every case ends with a final ``run_due()`` and the same checks
(``Harness.check_end``): no duplicate, no live storefront or license for an account without a
live subscription, everything settled and delivered, and the invariants of
``reseller_plans.testing``.
"""

from __future__ import annotations

import signal

import pytest
from mp_backend import account_id
from mp_harness import PAST_SHORT_LEASES, SHORT, Harness, steps_by

from reseller_plans import Plan, SubscriptionStatus

COMMANDS = ("cancel", "change_plan", "suspend")


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_workers_drive_activations_while_commands_meet_them(harness: Harness, workers: int) -> None:
    count = 120
    ids = harness.seed_activations(count)
    targets = [[ids[i], COMMANDS[(i // 3) % 3]] for i in range(0, count, 3)]
    go, commands_done = harness.folder / "go", harness.folder / "commands-done"
    children = [
        harness.start(harness.settings("worker", go=str(go), until=str(commands_done)))
        for _ in range(workers)
    ]
    # Two callers send each command with the same key, as a caller retrying a request does:
    # whichever comes second replays the first, and meets its lease while it still drives.
    callers = [
        harness.start(harness.settings("commands", go=str(go), commands=targets, keyed=True))
        for _ in range(2)
    ]
    go.touch()
    commanded = [harness.finish(caller) for caller in callers]
    commands_done.touch()
    results = [harness.finish(child) for child in children]

    for one in commanded:
        assert one["refused"] == {}
        assert sorted(one["done"]) == sorted(t[0] for t in targets)
    assert [r["failures"] for r in results] == [[]] * workers  # nothing escaped run_due
    figures = harness.check_end()
    effects = harness.effects()
    by_worker = [steps_by(effects, f"worker-{n + 1}") for n in range(workers)]
    shares = [n / sum(by_worker) for n in by_worker]
    busy = [c["busy"] for c in commanded]
    print(  # the figures of the run, for the record (pytest -s)
        f"\n{harness.kind} x{workers}: {figures}, worker shares "
        f"{[f'{s:.0%}' for s in shares]}, commands busy {busy}, in progress "
        f"{[c['in_progress'] for c in commanded]}, "
        f"conflicts {[c['conflicts'] for c in commanded]}, "
        f"run_due busy {[r['busy'] for r in results]}"
    )
    assert min(shares) >= 0.2 or workers == 1
    assert sum(busy) > 0  # commands met a held lease, raised SubscriptionBusy and were resent
    with harness.store.unit_of_work() as uow:
        final = {t[0]: uow.get(t[0]) for t in targets}
    for subscription_id, command in targets:
        sub = final[subscription_id]
        assert sub is not None
        expected = {
            "cancel": (SubscriptionStatus.CANCELLED, Plan.FREE),
            "change_plan": (SubscriptionStatus.ACTIVE, Plan.STANDARD),
            "suspend": (SubscriptionStatus.SUSPENDED, Plan.FREE),
        }[command]
        assert (sub.status, sub.plan) == expected, subscription_id


def test_two_workers_over_a_waiting_outbox_deliver_each_message_once(harness: Harness) -> None:
    count = 100
    harness.seed_activations(count)
    # Activated while the mail server was down: every welcome email waits in the outbox.
    harness.run("worker", env={"MP_MAIL_DOWN": "1"})
    with harness.store.unit_of_work() as uow:
        waiting = uow.unsent_outbox(limit=1000)
    assert len(waiting) == count
    assert not any(e["action"] == "deliver" for e in harness.effects())

    go = harness.folder / "go"
    children = [harness.start(harness.settings("worker", go=str(go))) for _ in range(2)]
    go.touch()
    results = [harness.finish(child) for child in children]

    figures = harness.check_end()
    deliveries = [e for e in harness.effects() if e["action"] == "deliver"]
    shares = [sum(1 for e in deliveries if e["who"] == f"worker-{n}") / count for n in (2, 3)]
    print(f"\n{harness.kind} outbox: {figures}, shares {[f'{s:.0%}' for s in shares]}")
    assert sorted(e["subject"] for e in deliveries) == sorted(e.id for e in waiting)  # once each
    assert [r["failures"] for r in results] == [[], []]
    assert min(shares) >= 0.2


KILL_POINTS = [
    "place_order",
    "provision_license",
    "hold_alias",
    "activate_storefront",
    "deliver",
    "deactivate_storefront",
    "revoke_license",
    "cancel_on_platform",
]
CANCELLING = {"deactivate_storefront", "revoke_license", "cancel_on_platform"}


@pytest.mark.parametrize("action", KILL_POINTS)
def test_a_worker_killed_just_after_the_backend_acted_is_taken_over(
    harness: Harness, action: str
) -> None:
    ids = harness.seed_activations(3)
    if action in CANCELLING:
        harness.run("worker", leases=SHORT)
        harness.seed_cancellations(ids)
    marker = harness.folder / "stopped"
    env = {"MP_STOP_AFTER": action, "MP_MARKER": str(marker)}
    victim = harness.start(harness.settings("worker", leases=SHORT), **env)
    harness.wait_for_file(marker, victim)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    before = harness.effects()
    assert before[-1]["action"] == action
    assert before[-1]["pid"] == victim.pid

    # Another process, its clock past the dead one's lease (and message claim), finishes.
    result = harness.run("worker", leases=SHORT, clock_offset=PAST_SHORT_LEASES)

    assert result["failures"] == []
    # A message the dead worker handed to the mail server goes again, with the same
    # Message-ID: at least once, as documented. Any other repeat is a duplicate.
    allowed = {("deliver", before[-1]["key"]): 2} if action == "deliver" else {}
    figures = harness.check_end(allowed=allowed)
    print(f"\n{harness.kind} killed after {action}: {figures}")


def test_a_worker_frozen_past_its_lease_wakes_up_after_another_took_over(
    harness: Harness,
) -> None:
    ids = harness.seed_activations(3)
    marker, release = harness.folder / "frozen", harness.folder / "thawed"
    env = {"MP_STOP_BEFORE": "activate_storefront", "MP_MARKER": str(marker)}
    frozen = harness.start(harness.settings("worker", leases=SHORT), **env, MP_RELEASE=str(release))
    harness.wait_for_file(marker, frozen)
    frozen.send_signal(signal.SIGSTOP)  # in the middle of its call to the Storefront

    # Past its lease, another worker takes the activation over and finishes it; the host then
    # cancels that subscription.
    late = ids[0]
    harness.run("worker", leases=SHORT, clock_offset=PAST_SHORT_LEASES)
    done = harness.run("commands", leases=SHORT, clock_offset=PAST_SHORT_LEASES,
                       commands=[[late, "cancel"]])  # fmt: skip
    assert done["done"] == [late]
    release.touch()
    frozen.send_signal(signal.SIGCONT)  # its call reaches the Storefront now, late
    result = harness.finish(frozen)

    assert result["failures"] == []
    effects = harness.effects()
    woken = [e for e in effects if e["pid"] == frozen.pid and e["action"] == "activate_storefront"]
    assert [e["subject"] for e in woken] == [account_id(0)]
    with harness.store.unit_of_work() as uow:
        sub = uow.get(late)
    assert sub is not None
    assert sub.status is SubscriptionStatus.CANCELLED  # the late outcome was refused
    # That late call is a second activation of the storefront (the documented exception);
    # anything else would be a duplicate. After the final run_due (and its reconciler) the
    # cancelled reseller has no live storefront, nor license.
    late_key = woken[0]["key"]
    figures = harness.check_end(allowed={("activate_storefront", late_key): 2})
    print(f"\n{harness.kind} frozen: {figures}, late effects {len(woken)}")


def test_a_command_on_a_subscription_another_process_holds_waits_then_is_busy(
    harness: Harness,
) -> None:
    (subscription,) = harness.seed_activations(1)
    harness.run("worker")
    # A change of plan holds the lease while its email goes: it stops there, mid-send.
    marker, release = harness.folder / "sending", harness.folder / "sent"
    env = {"MP_STOP_BEFORE": "deliver", "MP_MARKER": str(marker), "MP_RELEASE": str(release)}
    holder = harness.start(harness.settings("command", command=[subscription, "change_plan"]),
                           **env)  # fmt: skip
    harness.wait_for_file(marker, holder)
    with harness.store.unit_of_work() as uow:
        before = uow.get(subscription), uow.outbox_of(subscription)
    effects = harness.effects()

    waits = {"lease": 10.0, "step_deadline": 4.0, "margin": 1.0, "busy_timeout": 1.0}
    probe = harness.run("command", leases=waits, command=[subscription, "suspend"])

    assert probe["outcome"] == "SubscriptionBusy"
    assert probe["elapsed"] >= 1.0 - 0.25  # it waited (its last pause would overshoot)
    with harness.store.unit_of_work() as uow:
        assert (uow.get(subscription), uow.outbox_of(subscription)) == before  # nothing changed
    assert harness.effects() == effects  # nor at the backends
    release.touch()
    assert harness.finish(holder)["outcome"] == "done"
    # Sent again once the lease is free, the same command is carried out.
    assert harness.run("command", command=[subscription, "suspend"])["outcome"] == "done"
    harness.check_end()
    with harness.store.unit_of_work() as uow:
        sub = uow.get(subscription)
    assert sub is not None
    assert (sub.status, sub.plan) == (SubscriptionStatus.SUSPENDED, Plan.STANDARD)
