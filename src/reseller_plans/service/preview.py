"""Previews: what a command would do now, asked of the planner the command itself runs.

A preview reads the same facts a command reads (the account, its distributor's profile, the
store's live subscription and alias hold, the Storefront's answer about the alias), asks the
same planner (``reseller_plans.service.planning``), and writes nothing: no subscription, no
alias hold, no idempotency key, no message. A ``Commit`` becomes an allowed :class:`Preview`
with the subscription as the command would store it; a ``Refusal`` a preview carrying the
error the command would raise. The bulk dry run and the Service Manager's pre-check are built
on it, so the rules live in the planners alone.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from reseller_plans.domain.accounts import ResellerAccount
from reseller_plans.domain.actors import Actor
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.errors import BackendError, ResellerPlansError
from reseller_plans.domain.plans import Plan, Timing
from reseller_plans.domain.subscription import BillingCycle, Channel, Subscription
from reseller_plans.ports import Clock
from reseller_plans.service import inputs, requests
from reseller_plans.service.access import authorize_account, authorize_subscription
from reseller_plans.service.decisions import Commit, Decision, Facts, Need, Refusal, UpgradeRequest
from reseller_plans.service.driver import SagaDriver, load
from reseller_plans.service.planning import plan_upgrade
from reseller_plans.service.reads import Reads

__all__ = ["PREVIEW_ID", "Preview", "PreviewCommands", "Previews"]

PREVIEW_ID = "sub_preview"
"""The id of a new subscription in a preview: the command names it when it runs."""


@attrs.frozen
class Preview:
    """What a command would do if it were sent now; nothing was written.

    Attributes:
        subscription: the subscription as the command would store it before its saga runs
            (``PENDING`` with its operation started, or with a change scheduled), when allowed.
            A new subscription's id is ``"sub_preview"``: the command names it.
        error: the error the command would raise, when refused.

    .. versionadded:: Unreleased
    """

    subscription: Subscription | None = None
    error: ResellerPlansError | None = None

    @property
    def allowed(self) -> bool:
        """True when the command would be carried out."""
        return self.error is None


class Previews:
    """Runs planners on freshly read facts without committing (the façade's ``preview_*``)."""

    def __init__(self, driver: SagaDriver, clock: Clock) -> None:
        self.driver = driver
        self.clock = clock

    def upgrade(
        self,
        request: UpgradeRequest,
        new_id: Callable[[], str],
        account: ResellerAccount | None = None,
    ) -> Preview:
        """The preview of an upgrade (its input parsed; ``account`` as the caller read it)."""
        reads = self.driver.reads()
        reads.seed(account)

        def facts() -> Facts:
            account = reads.account(request.account_id)
            with self.driver.store.unit_of_work() as uow:
                live = uow.live_subscription_of(request.account_id)
                alias = request.alias
                hold = None if alias is None else uow.get_alias_hold(alias.value)
            return Facts(now=self.clock.now(), account=account, live=live, hold=hold)

        def decide() -> Preview:
            given = facts()
            live = given.live
            return self._decide(
                lambda f: plan_upgrade(request, f, new_id),
                given,
                reads,
                account_id=request.account_id,
                distributor_id=None if live is None else live.distributor_id,
                request=request,
            )

        return refused_or(decide)

    def on_subscription(
        self,
        subscription_id: str,
        actor: Actor,
        planner: Callable[[Subscription, Facts], Decision],
        *,
        distributor_only: bool = False,
    ) -> Preview:
        """The preview of a command on an existing subscription."""

        def decide() -> Preview:
            with self.driver.store.unit_of_work() as uow:
                sub = load(uow, subscription_id)
            authorize_subscription(actor, sub, distributor_only=distributor_only)
            return self._decide(
                lambda f: planner(sub, f),
                Facts(now=self.clock.now()),
                self.driver.reads(),
                account_id=sub.account_id,
                distributor_id=sub.distributor_id,
            )

        return refused_or(decide)

    def _decide(
        self,
        planner: Callable[[Facts], Decision],
        facts: Facts,
        reads: Reads,
        *,
        account_id: str,
        distributor_id: str | None = None,
        request: UpgradeRequest | None = None,
    ) -> Preview:
        for _ in range(len(Need) + 1):
            decision = planner(facts)
            if isinstance(decision, Need):
                alias = None if request is None else request.alias
                facts = reads.supply(
                    facts, decision, account_id=account_id, distributor_id=distributor_id,
                    alias=alias,
                )  # fmt: skip
                continue
            if isinstance(decision, Commit):
                return Preview(subscription=decision.subscription)
            if isinstance(decision, Refusal):
                return Preview(error=decision.error)
        raise RuntimeError("a planner asked for the same fact twice")  # pragma: no cover


def refused_or(preview: Callable[[], Preview]) -> Preview:
    """``preview()``, or a refused preview for any error the command would refuse with.

    A backend that could not be read is no decision: its ``BackendError`` is raised.
    """
    try:
        return preview()
    except BackendError:
        raise
    except ResellerPlansError as error:
        return Preview(error=error)


class PreviewCommands:
    """``plans.preview``: what a command would do now, with nothing written.

    .. versionadded:: Unreleased
    """

    def __init__(self, previews: Previews) -> None:
        self._previews = previews

    def upgrade(
        self,
        account_id: str,
        plan: Plan | str,
        *,
        actor: Actor,
        alias: str | StorefrontAlias | None = None,
        billing_cycle: BillingCycle | str = BillingCycle.MONTHLY,
        auto_renew: bool = True,
        channel: Channel | str | None = None,
        account: ResellerAccount | None = None,
    ) -> Preview:
        """What ``upgrade`` with these arguments would do now, decided by the planner
        ``upgrade`` runs, with nothing written. ``account`` is the account as the caller
        already read it (the service manager reads it with the platform's token), or None to
        read it from the BSS.

        Returns:
            An allowed ``Preview`` with the subscription as ``upgrade`` would store it, or one
            whose ``error`` is what ``upgrade`` would raise (``NotEligible``, ``AliasTaken``,
            ``InvalidAlias``, ``Forbidden``, ``IllegalTransition``, ``NotFound``).

        Raises:
            InvalidInput: a malformed argument (as ``upgrade`` raises it).
            BackendError: the BSS or Storefront could not be read.

        .. versionadded:: Unreleased
        """
        upgrade = inputs.upgrade_request(
            account_id, plan, actor, billing_cycle, auto_renew, channel, None
        )

        def preview() -> Preview:
            request = attrs.evolve(upgrade, alias=inputs.parse_alias(alias))
            authorize_account(request.actor, request.account_id)
            # A preview names no subscription: the id source stays as the command finds it.
            inputs.same_account(account, request.account_id)
            return self._previews.upgrade(request, lambda: PREVIEW_ID, account)

        return refused_or(preview)

    def change_plan(
        self,
        subscription_id: str,
        plan: Plan | str,
        *,
        actor: Actor,
        timing: Timing | str | None = None,
    ) -> Preview:
        """What ``change_plan`` with these arguments would do now, with nothing written.

        Returns:
            An allowed ``Preview`` (its subscription with the change started or scheduled),
            or one whose ``error`` is what ``change_plan`` would raise.

        Raises:
            InvalidInput: a malformed argument.
            BackendError: the BSS could not be read.

        .. versionadded:: Unreleased
        """
        command = requests.change_plan(subscription_id, plan, actor, timing)
        return self._previews.on_subscription(
            command.subscription_id, command.actor, command.planner
        )
