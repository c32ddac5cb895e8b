"""The façade's commands on one subscription: change its plan, cancel it, withdraw a
scheduled change, suspend, resume, retry its failed provisioning.

``ResellerPlans`` inherits them; each parses and names its request (``service.requests``) and
hands it to ``Commands.on_subscription``.
"""

from __future__ import annotations

from collections.abc import Callable

from reseller_plans.domain.actors import Actor
from reseller_plans.domain.plans import Plan, Timing
from reseller_plans.domain.subscription import Subscription
from reseller_plans.service import requests
from reseller_plans.service.commands import Commands
from reseller_plans.service.correlating import correlated

__all__ = ["LifecycleMethods"]


class LifecycleMethods:
    """The commands of ``ResellerPlans`` on a subscription it holds."""

    _commands: Commands
    _new_correlation_id: Callable[[], str]

    @correlated
    def change_plan(
        self,
        subscription_id: str,
        plan: Plan | str,
        *,
        actor: Actor,
        timing: Timing | str | None = None,
        idempotency_key: str | None = None,
        platform_initiated: bool = False,
        reason: str | None = None,
    ) -> Subscription:
        """Move the subscription between Free and Standard.

        Args:
            subscription_id: the subscription.
            plan: the new plan.
            actor: the reseller or its distributor.
            timing: when it takes effect; by default the move's own (Free → Standard at once,
                Standard → Free at the end of the term).
            idempotency_key: repeat-safe key of this request.
            platform_initiated: the platform itself made the change (service manager).
            reason: why, for the audit trail of its events.

        Returns:
            The subscription, on its new plan, or with the change scheduled.

        Raises:
            Forbidden: the actor may not act on the subscription.
            NotFound: no such subscription.
            IllegalTransition: the move is not allowed in its state.
            ChangePending: another change is scheduled.
            NotEligible: the account may not have Standard.
            IdempotencyConflict: the key was used with other arguments.
        """
        return self._commands.on_subscription(
            requests.change_plan(
                subscription_id, plan, actor, timing, idempotency_key, platform_initiated, reason
            )
        )

    @correlated
    def cancel(
        self,
        subscription_id: str,
        *,
        actor: Actor,
        timing: Timing | str = Timing.IMMEDIATE,
        idempotency_key: str | None = None,
        platform_initiated: bool = False,
        reason: str | None = None,
    ) -> Subscription:
        """Cancel the subscription: the reseller goes back to Basic.

        Immediately (storefront and license removed first, the platform's subscription last,
        unless ``platform_initiated``), or at the end of the term (``withdraw_change`` until
        then). The alias stays reserved to the reseller for ``alias_hold``. ``reason`` is
        recorded in the audit trail of its events.

        Raises:
            Forbidden: the actor may not act on the subscription.
            NotFound: no such subscription.
            IllegalTransition: it cannot be cancelled in its state.
            ChangePending: a plan change is scheduled.
            IdempotencyConflict: the key was used with other arguments.
        """
        return self._commands.on_subscription(
            requests.cancel(
                subscription_id, actor, timing, idempotency_key, platform_initiated, reason
            )
        )

    @correlated
    def withdraw_change(
        self, subscription_id: str, *, actor: Actor, reason: str | None = None
    ) -> Subscription:
        """Withdraw the scheduled plan change or cancellation before it applies (``reason``
        goes to the audit trail).

        Raises:
            Forbidden: the actor may not act on the subscription.
            NotFound: no such subscription.
            IllegalTransition: nothing is scheduled.
        """
        return self._commands.on_subscription(
            requests.withdraw_change(subscription_id, actor, reason)
        )

    @correlated
    def suspend(
        self,
        subscription_id: str,
        *,
        actor: Actor,
        reason: str = "",
        idempotency_key: str | None = None,
        platform_initiated: bool = False,
    ) -> Subscription:
        """Suspend the subscription (a distributor action, for example for non-payment).
        ``reason`` is recorded on the ``Suspended`` event and in the audit trail.

        Raises:
            Forbidden: a reseller, or another distributor.
            NotFound: no such subscription.
            IllegalTransition: not allowed in its state.
        """
        return self._commands.on_subscription(
            requests.suspend(subscription_id, actor, reason, idempotency_key, platform_initiated)
        )

    @correlated
    def resume(
        self,
        subscription_id: str,
        *,
        actor: Actor,
        idempotency_key: str | None = None,
        platform_initiated: bool = False,
        reason: str | None = None,
    ) -> Subscription:
        """Resume a suspended subscription (a distributor action; ``reason`` goes to the
        audit trail).

        Raises:
            Forbidden: a reseller, or another distributor.
            NotFound: no such subscription.
            IllegalTransition: not allowed in its state.
        """
        return self._commands.on_subscription(
            requests.resume(subscription_id, actor, idempotency_key, platform_initiated, reason)
        )

    @correlated
    def retry(
        self, subscription_id: str, *, actor: Actor, reason: str | None = None
    ) -> Subscription:
        """Retry the failed provisioning of the subscription (a distributor action). Its
        attempts start over; who asked (and ``reason``) is the audit of ``ProvisioningRetried``.

        Raises:
            Forbidden: a reseller, or another distributor.
            NotFound: no such subscription.
            IllegalTransition: its provisioning has not failed.
        """
        return self._commands.on_subscription(requests.retry(subscription_id, actor, reason))
