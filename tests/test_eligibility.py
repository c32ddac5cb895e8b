"""Who may be upgraded: every criterion, each failure on its own, and all of them at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import given

from reseller_plans import (
    DistributorProfile,
    Edition,
    EligibilityFailure,
    EligibilityReport,
    FailureCode,
    NotEligible,
    Plan,
    ResellerAccount,
    ResellerPlansError,
    ServiceManagerState,
    check_eligibility,
)
from reseller_plans.domain import (
    ELIGIBLE_EDITIONS,
    PLAN_MOVES,
    STANDARD_EDITION_RESELLERS_ADDON,
)
from strategies import distributor_profiles, plans, reseller_accounts

DISTRIBUTOR = DistributorProfile(
    id="D-100",
    name="Sample Distribution",
    edition=Edition.DIAMOND,
    active_addons={STANDARD_EDITION_RESELLERS_ADDON},
    service_manager=ServiceManagerState.ACTIVE,
    plan_products={Plan.FREE: "ResellerPlanFree", Plan.STANDARD: "ResellerPlanStandard"},
    storefront_host="cloud.disti.example",
)
ACCOUNT = ResellerAccount(
    id="3542",
    distributor_id="D-100",
    name="TechSolutions Ltd",
    email="it@techsolutions.example",
    reselling_enabled=True,
    plan=Plan.BASIC,
)
ALIAS = "techsolutions"

# What breaking one criterion means, as a change to the all-eligible baseline. Each case leaves
# every other criterion intact.
Breakage = Callable[
    [DistributorProfile, ResellerAccount], tuple[DistributorProfile, ResellerAccount]
]


def _on_distributor(**changes: Any) -> Breakage:
    return lambda distributor, account: (attrs.evolve(distributor, **changes), account)


def _on_account(**changes: Any) -> Breakage:
    return lambda distributor, account: (distributor, attrs.evolve(account, **changes))


BREAK_ONE = {
    FailureCode.EDITION_NOT_ELIGIBLE: _on_distributor(edition=Edition.ENTERPRISE),
    FailureCode.ADDON_INACTIVE: _on_distributor(active_addons={"some_other_addon"}),
    FailureCode.SERVICE_MANAGER_INACTIVE: _on_distributor(
        service_manager=ServiceManagerState.FAILED
    ),
    FailureCode.PLAN_PRODUCT_MISSING: _on_distributor(
        plan_products={Plan.FREE: "ResellerPlanFree"}
    ),
    FailureCode.RESELLING_DISABLED: _on_account(reselling_enabled=False),
    FailureCode.NOT_DISTRIBUTORS_ACCOUNT: _on_account(distributor_id="D-200"),
    FailureCode.ILLEGAL_MOVE: _on_account(plan=Plan.STANDARD),
}
INVALID_ALIAS = "Tech Solutions!"


def _check(
    distributor: DistributorProfile = DISTRIBUTOR,
    account: ResellerAccount = ACCOUNT,
    plan: Plan = Plan.STANDARD,
    alias: str | None = ALIAS,
) -> EligibilityReport:
    return check_eligibility(distributor, account, plan, alias=alias)


def _all_broken() -> EligibilityReport:
    distributor, account = DISTRIBUTOR, ACCOUNT
    for breakage in BREAK_ONE.values():
        distributor, account = breakage(distributor, account)
    return _check(distributor, account, alias=INVALID_ALIAS)


def test_baseline_reseller_is_eligible_for_every_upgrade() -> None:
    for plan in (Plan.FREE, Plan.STANDARD):
        report = _check(plan=plan)
        assert report.eligible, str(report)
        assert report.failures == ()
        assert report.codes == frozenset()


@pytest.mark.parametrize("edition", [e for e in Edition if e in ELIGIBLE_EDITIONS])
def test_both_diamond_editions_are_eligible(edition: Edition) -> None:
    assert _check(attrs.evolve(DISTRIBUTOR, edition=edition)).eligible


def test_alias_is_optional_for_the_check() -> None:
    assert _check(alias=None).eligible


@pytest.mark.parametrize("code", list(BREAK_ONE), ids=lambda code: code.value)
def test_breaking_one_criterion_reports_exactly_that_failure(code: FailureCode) -> None:
    distributor, account = BREAK_ONE[code](DISTRIBUTOR, ACCOUNT)

    report = _check(distributor, account)

    assert not report.eligible
    assert [f.code for f in report.failures] == [code]


def test_invalid_alias_reports_exactly_that_failure_with_the_broken_rule() -> None:
    report = _check(alias=INVALID_ALIAS)

    assert [f.code for f in report.failures] == [FailureCode.INVALID_ALIAS]
    assert "may contain only a-z, 0-9 and '-'" in report.failures[0].message


@pytest.mark.parametrize(
    "edition", [e for e in Edition if e not in ELIGIBLE_EDITIONS], ids=lambda e: e.value
)
def test_every_edition_below_diamond_is_not_eligible(edition: Edition) -> None:
    report = _check(attrs.evolve(DISTRIBUTOR, edition=edition))

    assert report.codes == {FailureCode.EDITION_NOT_ELIGIBLE}
    assert edition.title in report.failures[0].message


@pytest.mark.parametrize(
    "state",
    [s for s in ServiceManagerState if s is not ServiceManagerState.ACTIVE],
    ids=lambda s: s.value,
)
def test_service_manager_in_any_state_but_active_is_not_eligible(
    state: ServiceManagerState,
) -> None:
    report = _check(attrs.evolve(DISTRIBUTOR, service_manager=state))

    assert report.codes == {FailureCode.SERVICE_MANAGER_INACTIVE}
    assert state.value.replace("_", " ") in report.failures[0].message


def test_missing_product_is_only_the_product_of_the_plan_asked_for() -> None:
    only_free = attrs.evolve(DISTRIBUTOR, plan_products={Plan.FREE: "ResellerPlanFree"})

    assert _check(only_free, plan=Plan.FREE).eligible
    assert _check(only_free, plan=Plan.STANDARD).codes == {FailureCode.PLAN_PRODUCT_MISSING}


def test_moving_back_to_basic_needs_no_plan_product() -> None:
    no_products = attrs.evolve(DISTRIBUTOR, plan_products={})
    on_free = attrs.evolve(ACCOUNT, plan=Plan.FREE)

    assert _check(no_products, on_free, plan=Plan.BASIC, alias=None).eligible


@pytest.mark.parametrize("plan", list(Plan), ids=lambda p: p.value)
def test_asking_for_the_plan_already_held_is_an_illegal_move(plan: Plan) -> None:
    report = _check(account=attrs.evolve(ACCOUNT, plan=plan), plan=plan, alias=None)

    assert report.codes == {FailureCode.ILLEGAL_MOVE}
    assert f"{plan.title} → {plan.title} is not a legal move" in report.failures[0].message


def test_breaking_every_criterion_reports_every_failure_not_only_the_first() -> None:
    report = _all_broken()

    expected = [*BREAK_ONE, FailureCode.INVALID_ALIAS]
    assert [f.code for f in report.failures] == expected
    # the two checks that need the store and the Storefront are the service's, not the domain's
    assert report.codes == set(FailureCode) - {
        FailureCode.ALIAS_TAKEN,
        FailureCode.UPGRADE_UNDER_WAY,
    }


def test_every_failure_has_a_message_and_a_remedy() -> None:
    for failure in _all_broken().failures:
        assert failure.message.strip(), failure.code
        assert failure.remedy.strip(), failure.code


def test_every_remedy_is_distinct_so_each_failure_says_what_to_do_about_it() -> None:
    remedies = [f.remedy for f in _all_broken().failures]

    assert len(set(remedies)) == len(remedies)


def test_failure_codes_are_stable_strings_equal_to_their_names() -> None:
    for code in FailureCode:
        assert code.value == code.name


def test_report_of_an_eligible_account_reads_as_one_line() -> None:
    assert str(_check()) == "account 3542: eligible for the Standard plan"


def test_report_of_an_ineligible_account_lists_each_failure_with_its_fix() -> None:
    report = _check(account=attrs.evolve(ACCOUNT, reselling_enabled=False))

    assert str(report).splitlines() == [
        "account 3542: not eligible for the Standard plan",
        "  - RESELLING_DISABLED: account 3542 is not marked as a reseller"
        " (fix: tick Enable Reselling on the account)",
    ]


def test_report_lists_one_line_per_failure() -> None:
    report = _all_broken()
    lines = str(report).splitlines()

    assert len(lines) == 1 + len(report.failures)
    for line, failure in zip(lines[1:], report.failures, strict=True):
        assert line.startswith(f"  - {failure.code.value}: ")
        assert f"(fix: {failure.remedy})" in line


def test_report_names_the_account_and_the_plan() -> None:
    report = _check(plan=Plan.FREE)

    assert (report.account_id, report.plan) == ("3542", Plan.FREE)


def test_with_failure_adds_a_failure_found_later_without_changing_the_original() -> None:
    report = _check()
    taken = EligibilityFailure(
        FailureCode.ALIAS_TAKEN, "the alias 'techsolutions' is taken", "choose another alias"
    )

    later = report.with_failure(taken)

    assert report.eligible
    assert not later.eligible
    assert later.failures == (taken,)
    assert later.codes == {FailureCode.ALIAS_TAKEN}


def test_not_eligible_carries_the_report_and_lists_every_code() -> None:
    report = _all_broken()

    error = NotEligible(report)

    assert isinstance(error, ResellerPlansError)
    assert error.report is report
    text = str(error)
    assert text.startswith("account 3542 is not eligible for the Standard plan: ")
    for failure in report.failures:
        assert f"{failure.code.value}: {failure.message}" in text


def test_check_is_a_pure_function_of_its_inputs() -> None:
    assert _all_broken() == _all_broken()
    assert _check() == _check()


# Properties: the report against an independent reading of the criteria.


def _expected_codes(
    distributor: DistributorProfile, account: ResellerAccount, plan: Plan
) -> set[FailureCode]:
    expected = set()
    if distributor.edition not in {Edition.DIAMOND, Edition.DIAMOND_WITH_DISTRIBUTION_RIGHTS}:
        expected.add(FailureCode.EDITION_NOT_ELIGIBLE)
    if "standard_edition_resellers" not in distributor.active_addons:
        expected.add(FailureCode.ADDON_INACTIVE)
    if distributor.service_manager is not ServiceManagerState.ACTIVE:
        expected.add(FailureCode.SERVICE_MANAGER_INACTIVE)
    if plan is not Plan.BASIC and plan not in distributor.plan_products:
        expected.add(FailureCode.PLAN_PRODUCT_MISSING)
    if not account.reselling_enabled:
        expected.add(FailureCode.RESELLING_DISABLED)
    if account.distributor_id != distributor.id:
        expected.add(FailureCode.NOT_DISTRIBUTORS_ACCOUNT)
    if (account.plan, plan) not in PLAN_MOVES:
        expected.add(FailureCode.ILLEGAL_MOVE)
    return expected


@given(distributor_profiles(), reseller_accounts(), plans)
def test_report_holds_exactly_the_failures_of_the_criteria_broken(
    distributor: DistributorProfile, account: ResellerAccount, plan: Plan
) -> None:
    report = check_eligibility(distributor, account, plan)

    assert report.codes == _expected_codes(distributor, account, plan)
    assert len(report.failures) == len(report.codes)
    assert report.eligible is (not report.codes)
