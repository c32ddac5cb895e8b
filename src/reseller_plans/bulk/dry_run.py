"""The dry run's prediction of a real run, row by row, writing nothing.

On an unchanged world without faults, :class:`DryRunPredictor` gives each row the outcome the real
run gives it (``checked`` where the real run says ``done``). It asks the public
:class:`~reseller_plans.ResellerPlans` queries (``find_by_key``, ``check`` with the alias,
``subscription_of``) and adds the rules that ``upgrade`` applies beyond the eligibility check,
plus the one thing no query can know: which aliases earlier rows of this run have claimed. This
class is the only place that knows those rules; a planner shared with ``upgrade`` can replace it.
"""

from __future__ import annotations

import threading

from reseller_plans.bulk.outcomes import RowOutcome, RowResult, refusal
from reseller_plans.bulk.rows import UpgradeRow
from reseller_plans.domain.actors import Actor
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.eligibility import EligibilityFailure, FailureCode
from reseller_plans.domain.errors import InvalidInput, ResellerPlansError
from reseller_plans.domain.plans import Plan, plan_move
from reseller_plans.domain.subscription import Subscription, SubscriptionStatus
from reseller_plans.service import ResellerPlans

__all__ = ["DryRunPredictor"]


class DryRunPredictor:
    """Predicts each row's outcome; rows that share an alias must be predicted in file order.

    Args:
        plans: the service (only its queries are called).
        actor: the distributor acting.
    """

    def __init__(self, plans: ResellerPlans, actor: Actor) -> None:
        self.plans = plans
        self.actor = actor
        self._claimed: dict[str, str] = {}  # alias -> the account an earlier row gave it to
        self._lock = threading.Lock()

    def predict(self, row: UpgradeRow) -> RowResult:
        """The outcome the real run would give ``row`` now."""
        try:
            earlier = self.plans.find_by_key(row.key, actor=self.actor)
            if earlier is not None and earlier.status is SubscriptionStatus.ACTIVE:
                self._claim(row)
                return RowResult(row, RowOutcome.SKIPPED, earlier.id, earlier.status.value)
            if earlier is not None and earlier.status is SubscriptionStatus.PENDING:
                return RowResult(row, RowOutcome.CHECKED)  # the real run finishes it
            report = self.plans.check(row.account_id, row.plan, actor=self.actor, alias=row.alias)
            live = self.plans.subscription_of(row.account_id)
        except ResellerPlansError as exc:
            return refusal(row, exc)
        failures = [*report.failures, *_upgrade_rules(row, live)]
        taken = self._taken_by_earlier_row(row)
        if taken is not None and FailureCode.ALIAS_TAKEN not in {f.code for f in failures}:
            failures.append(taken)
        if failures:
            return RowResult(row, RowOutcome.INELIGIBLE, failures=tuple(failures))
        self._claim(row)
        return RowResult(row, RowOutcome.CHECKED)

    def _claim(self, row: UpgradeRow) -> None:
        alias = _alias_of(row)
        if alias is not None:
            with self._lock:
                self._claimed.setdefault(alias, row.account_id)

    def _taken_by_earlier_row(self, row: UpgradeRow) -> EligibilityFailure | None:
        alias = _alias_of(row)
        with self._lock:
            holder = None if alias is None else self._claimed.get(alias)
        if holder is None or holder == row.account_id:
            return None
        return EligibilityFailure(
            FailureCode.ALIAS_TAKEN,
            f"the Storefront Alias {alias!r} is taken (by account {holder}, an earlier row)",
            "choose another alias",
        )


def _upgrade_rules(row: UpgradeRow, live: Subscription | None) -> list[EligibilityFailure]:
    """What ``upgrade`` refuses that the eligibility check lets through."""
    if live is not None and live.effective_plan is Plan.FREE and row.plan is Plan.STANDARD:
        if _alias_of(row) not in (None, None if live.alias is None else live.alias.value):
            return [
                EligibilityFailure(
                    FailureCode.ILLEGAL_MOVE,
                    f"the reseller keeps its alias {live.alias} when it moves to Standard",
                    "leave the alias empty, or give its own",
                )
            ]
        return []  # Free → Standard: a plan change under the reseller's own alias
    settled = None if live is None or live.status is SubscriptionStatus.PENDING else live
    if settled is not None and plan_move(settled.effective_plan, row.plan).legal:
        return [
            EligibilityFailure(
                FailureCode.ILLEGAL_MOVE,
                f"the account is on the {settled.effective_plan.title} plan already",
                "move it with change-plan",
            )
        ]
    if row.alias is None:
        return [
            EligibilityFailure(
                FailureCode.INVALID_ALIAS,
                f"a Storefront Alias is required to move account {row.account_id} to "
                f"{row.plan.title}",
                "give the row an alias",
            )
        ]
    return []


def _alias_of(row: UpgradeRow) -> str | None:
    if row.alias is None:
        return None
    try:
        return StorefrontAlias.parse(row.alias).value
    except InvalidInput:
        return None
