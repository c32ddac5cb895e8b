"""Bugs in the service and the domain that the sandbox and its fuzzing found.

Each test states the behaviour the library promises; it is marked ``xfail(strict=True)`` until
the fix lands, so the fix turns it green and the marker must then go.
"""

from __future__ import annotations

import pytest

from reseller_plans import Plan, SubscriptionStatus
from reseller_plans.testing import Sandbox


def test_a_downgrade_scheduled_before_a_suspension_does_not_break_run_due() -> None:
    sandbox = Sandbox()
    reseller = sandbox.reseller(plan=Plan.STANDARD)
    sub = sandbox.subscription(reseller)
    assert sub is not None
    distributor = sandbox.as_distributor(reseller)
    sandbox.plans.change_plan(sub.id, Plan.FREE, actor=distributor)  # at the end of the term
    sandbox.plans.suspend(sub.id, actor=distributor, reason="non-payment")

    sandbox.advance(months=1)  # run_due raises IllegalTransition at the term end

    after = sandbox.plans.get(sub.id)
    assert after.status is SubscriptionStatus.SUSPENDED
    assert after.operation is None
    assert sandbox.storefront.storefronts[reseller.id].online is False
    sandbox.check_invariants()


@pytest.mark.parametrize(
    ("command", "failing"),
    [
        ("resume", "storefront.resume_storefront"),  # compensated by SUSPEND_ON_PLATFORM
        ("suspend", "bss.get_account"),  # the email step fails: RESUME_ON_PLATFORM compensates
    ],
)
def test_a_rolled_back_suspension_or_resumption_keeps_the_storefront_alias(
    command: str, failing: str
) -> None:
    sandbox = Sandbox()
    reseller = sandbox.reseller(plan=Plan.STANDARD)
    sub = sandbox.subscription(reseller)
    assert sub is not None
    distributor = sandbox.as_distributor(reseller)
    if command == "resume":
        sandbox.plans.suspend(sub.id, actor=distributor)
    sandbox.faults.fail(failing, permanent=True)

    after = getattr(sandbox.plans, command)(sub.id, actor=distributor)

    assert after.operation is None  # rolled back, still live
    assert after.is_live
    sandbox.check_invariants()  # the Storefront gives alias 'reseller1' to None
