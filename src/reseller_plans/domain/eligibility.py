"""Who may be upgraded: a pure check that reports every failing criterion at once.

``check_eligibility`` reads only values (a distributor profile, a reseller account, the plan asked
for and, optionally, the alias) and never raises for "not eligible": it returns an
``EligibilityReport`` whose ``failures`` each carry a stable machine code, a message and a remedy a
distributor can act on.
"""

from __future__ import annotations

import enum

import attrs

from reseller_plans.domain.accounts import (
    ELIGIBLE_EDITIONS,
    STANDARD_EDITION_RESELLERS_ADDON,
    DistributorProfile,
    ResellerAccount,
    ServiceManagerState,
)
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.errors import InvalidAlias
from reseller_plans.domain.plans import Plan, plan_move

__all__ = ["EligibilityFailure", "EligibilityReport", "FailureCode", "check_eligibility"]


class FailureCode(enum.Enum):
    """Stable codes of the eligibility criteria (safe to store and compare)."""

    EDITION_NOT_ELIGIBLE = "EDITION_NOT_ELIGIBLE"
    ADDON_INACTIVE = "ADDON_INACTIVE"
    SERVICE_MANAGER_INACTIVE = "SERVICE_MANAGER_INACTIVE"
    PLAN_PRODUCT_MISSING = "PLAN_PRODUCT_MISSING"
    RESELLING_DISABLED = "RESELLING_DISABLED"
    NOT_DISTRIBUTORS_ACCOUNT = "NOT_DISTRIBUTORS_ACCOUNT"
    ILLEGAL_MOVE = "ILLEGAL_MOVE"
    INVALID_ALIAS = "INVALID_ALIAS"
    ALIAS_TAKEN = "ALIAS_TAKEN"
    UPGRADE_UNDER_WAY = "UPGRADE_UNDER_WAY"


@attrs.frozen
class EligibilityFailure:
    """One criterion that failed.

    Attributes:
        code: the stable machine code.
        message: what is wrong, in the distributor's words.
        remedy: what to do about it.
    """

    code: FailureCode
    message: str
    remedy: str


@attrs.frozen
class EligibilityReport:
    """The outcome of an eligibility check. ``eligible`` only when there is no failure."""

    account_id: str
    plan: Plan
    failures: tuple[EligibilityFailure, ...] = ()

    @property
    def eligible(self) -> bool:
        """True when no criterion failed."""
        return not self.failures

    @property
    def codes(self) -> frozenset[FailureCode]:
        """The codes of every failure, for quick membership tests."""
        return frozenset(f.code for f in self.failures)

    def with_failure(self, failure: EligibilityFailure) -> EligibilityReport:
        """A copy with one more failure (used for checks that need I/O, like alias taken)."""
        return attrs.evolve(self, failures=(*self.failures, failure))

    def __str__(self) -> str:
        if self.eligible:
            return f"account {self.account_id}: eligible for the {self.plan.title} plan"
        lines = [f"account {self.account_id}: not eligible for the {self.plan.title} plan"]
        lines += [f"  - {f.code.value}: {f.message} (fix: {f.remedy})" for f in self.failures]
        return "\n".join(lines)


def check_eligibility(
    distributor: DistributorProfile,
    account: ResellerAccount,
    plan: Plan,
    *,
    alias: str | StorefrontAlias | None = None,
) -> EligibilityReport:
    """Check whether ``distributor`` may move ``account`` to ``plan``.

    Every criterion of the platform is checked, and every failure is reported:

    1. the distributor's edition is Diamond or Diamond with Distribution Rights;
    2. its Standard Edition Resellers add-on is active;
    3. the for Resellers Service Manager is active;
    4. the plan product is in its catalog (Get Services Definition was run);
    5. the account is marked as a reseller (``resellingEnabled``);
    6. the account belongs to this distributor;
    7. the move from the account's current plan is legal;
    8. when ``alias`` is given, it is a valid Storefront Alias.

    Args:
        distributor: the acting distributor's profile.
        account: the reseller account to upgrade.
        plan: the plan asked for.
        alias: the Storefront Alias asked for, if any.

    Returns:
        An ``EligibilityReport``; ``report.eligible`` is True only with no failures.
    """
    failures: list[EligibilityFailure] = []

    def fail(code: FailureCode, message: str, remedy: str) -> None:
        failures.append(EligibilityFailure(code, message, remedy))

    if distributor.edition not in ELIGIBLE_EDITIONS:
        fail(
            FailureCode.EDITION_NOT_ELIGIBLE,
            f"the distributor organization is on the {distributor.edition.title} edition",
            "move the organization to Diamond or Diamond with Distribution Rights",
        )
    if STANDARD_EDITION_RESELLERS_ADDON not in distributor.active_addons:
        fail(
            FailureCode.ADDON_INACTIVE,
            "the Standard Edition Resellers add-on is not active",
            "activate the Standard Edition Resellers add-on for the organization",
        )
    if distributor.service_manager is not ServiceManagerState.ACTIVE:
        state = distributor.service_manager.value.replace("_", " ")
        fail(
            FailureCode.SERVICE_MANAGER_INACTIVE,
            f"the for Resellers Service Manager is {state}",
            "activate the for Resellers Service Manager in the organization",
        )
    if plan.is_subscription and distributor.product_for(plan) is None:
        fail(
            FailureCode.PLAN_PRODUCT_MISSING,
            f"the {plan.title} plan product is not in the product catalog",
            "run Get Services Definition to import the plan products",
        )
    if not account.reselling_enabled:
        fail(
            FailureCode.RESELLING_DISABLED,
            f"account {account.id} is not marked as a reseller",
            "tick Enable Reselling on the account",
        )
    if account.distributor_id != distributor.id:
        fail(
            FailureCode.NOT_DISTRIBUTORS_ACCOUNT,
            f"account {account.id} does not belong to distributor {distributor.id}",
            "act as the distributor the account belongs to",
        )
    move = plan_move(account.plan, plan)
    if not move.legal:
        fail(
            FailureCode.ILLEGAL_MOVE,
            f"{account.plan.title} → {plan.title} is not a legal move: {move.how}",
            "choose another plan",
        )
    if alias is not None:
        try:
            StorefrontAlias.parse(alias)
        except InvalidAlias as exc:
            fail(FailureCode.INVALID_ALIAS, str(exc), "choose an alias that follows the rules")
    return EligibilityReport(account.id, plan, tuple(failures))
