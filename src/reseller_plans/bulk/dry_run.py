"""The dry run's prediction of a real run, row by row, writing nothing.

On an unchanged world without faults, :class:`DryRunPredictor` gives each row the outcome the real
run gives it (``checked`` where the real run says ``done``). It asks
``ResellerPlans.preview.upgrade``, which runs the planner ``upgrade`` runs on
the same facts, so the rules live in the planner alone; a refusal is mapped to an outcome by the
same :func:`~reseller_plans.bulk.outcomes.refusal` the real run uses. The predictor adds only what
no single preview can know: which aliases earlier rows of this run would have claimed.
"""

from __future__ import annotations

import threading

from reseller_plans.bulk.outcomes import RowOutcome, RowResult, refusal
from reseller_plans.bulk.rows import UpgradeRow
from reseller_plans.domain.actors import Actor
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.eligibility import EligibilityFailure, FailureCode
from reseller_plans.domain.errors import InvalidInput, ResellerPlansError
from reseller_plans.domain.subscription import SubscriptionStatus
from reseller_plans.service import ResellerPlans

__all__ = ["DryRunPredictor"]


class DryRunPredictor:
    """Predicts each row's outcome; rows that share an alias must be predicted in file order.

    Args:
        plans: the service (only its queries and previews are called).
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
            preview = self.plans.preview.upgrade(
                row.account_id, row.plan, actor=self.actor, alias=row.alias
            )
        except ResellerPlansError as exc:
            return refusal(row, exc)
        if preview.error is not None:
            return refusal(row, preview.error)
        taken = self._taken_by_earlier_row(row)
        if taken is not None:
            # The real run's earlier row reserves the alias first: this one is refused then.
            return RowResult(row, RowOutcome.INELIGIBLE, failures=(taken,))
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


def _alias_of(row: UpgradeRow) -> str | None:
    if row.alias is None:
        return None
    try:
        return StorefrontAlias.parse(row.alias).value
    except InvalidInput:
        return None
