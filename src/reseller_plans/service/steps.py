"""What each saga step asks of the outside world, as data: the step table.

:func:`call_for` turns the step the domain names into the one port call it makes (a
:class:`PortCall`: which port, which operation, which arguments), or None when the step needs
no call (``QUEUE_EMAIL`` writes the outbox; a platform step of a subscription the platform does
not know of). Drivers only make the call (the synchronous driver calls it, an async one awaits
it), so the table is written once. Every write that takes one carries an idempotency key derived
from the operation and the step, the same for every retry of it (the Storefront's alias hold
takes none: holding an alias for its holder again changes nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs

from reseller_plans.domain import saga
from reseller_plans.domain.errors import PermanentBackendError
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.reconcile import REPAIRS
from reseller_plans.domain.saga import SagaStep
from reseller_plans.domain.subscription import Channel, StepAction, Subscription
from reseller_plans.ports import PlanOrder

__all__ = ["PortCall", "call_for", "idempotency_key", "platform_id", "repair_call"]

A = StepAction


@attrs.frozen
class PortCall:
    """One call to a port: ``getattr(port, operation)(*args, **kwargs)``."""

    port: Literal["bss", "storefront"]
    operation: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def name(self) -> str:
        """``port.operation``, as logs and fault scripts name it."""
        return f"{self.port}.{self.operation}"


def idempotency_key(sub: Subscription, step: SagaStep) -> str:
    """The key of the step's write: the same for every attempt, another for its undo.

    An undo that runs the same action twice (an activation gives its alias back after the
    hold's undo and again after the order's) keys the second ``undo-2``, so that a backend that
    remembers keys does not take it for a repeat of the first.
    """
    op = sub.operation
    root = op.id if op else sub.id
    if not step.compensation:
        return f"{root}:{step.action.value}:do"
    earlier = 0 if op is None else saga.undo_steps(op)[: op.undone].count(step.action)
    suffix = "" if earlier == 0 else f"-{earlier + 1}"
    return f"{root}:{step.action.value}:undo{suffix}"


def platform_id(result: object) -> str | None:
    """The platform's subscription id a call's result tells (an order's), if any."""
    if isinstance(result, PlanOrder):
        return result.platform_subscription_id or result.order_id
    return None


def _place_order(sub: Subscription, step: SagaStep, key: str) -> PortCall:
    op = sub.operation
    product = op.product_id if op else ""
    if not product:
        raise PermanentBackendError("the plan product is not in the catalog")
    kwargs = {
        "account_id": sub.account_id,
        "product_id": product,
        "alias": sub.alias,
        "billing_cycle": sub.term.cycle.value,
        "idempotency_key": key,
    }
    if sub.channel is Channel.BSS:
        return PortCall("bss", "place_plan_order", kwargs=kwargs)
    return PortCall("storefront", "purchase_plan", kwargs=kwargs)


def _activate_storefront(sub: Subscription, step: SagaStep, key: str) -> PortCall:
    if sub.alias is None:
        raise PermanentBackendError("the subscription has no Storefront Alias")
    args = (sub.account_id, sub.alias, step.plan)
    return PortCall("storefront", "activate_storefront", args, {"idempotency_key": key})


def _hold_alias(sub: Subscription, step: SagaStep, key: str) -> PortCall | None:
    if sub.alias is None:
        return None  # nothing to hold
    return PortCall("storefront", "hold_alias", (sub.alias,), {"account_id": sub.account_id})


def _release_alias(sub: Subscription, step: SagaStep, key: str) -> PortCall | None:
    if sub.alias is None:
        return None  # nothing to give back
    kwargs = {"account_id": sub.account_id, "idempotency_key": key}
    return PortCall("storefront", "release_alias", (sub.alias,), kwargs)


def _storefront(operation: str) -> Callable[[Subscription, SagaStep, str], PortCall]:
    def call(sub: Subscription, step: SagaStep, key: str) -> PortCall:
        return PortCall("storefront", operation, (sub.account_id,), {"idempotency_key": key})

    return call


def _on_platform(operation: str) -> Callable[[Subscription, SagaStep, str], PortCall | None]:
    def call(sub: Subscription, step: SagaStep, key: str) -> PortCall | None:
        pid = sub.platform_subscription_id
        if pid is None:
            return None  # the platform has no subscription to act on
        return PortCall("bss", operation, (pid,), {"idempotency_key": key})

    return call


def _provision(sub: Subscription, step: SagaStep, key: str) -> PortCall:
    return PortCall(
        "bss", "provision_license", (sub.account_id, step.plan), {"idempotency_key": key}
    )


def _revoke(sub: Subscription, step: SagaStep, key: str) -> PortCall:
    return PortCall("bss", "revoke_license", (sub.account_id,), {"idempotency_key": key})


def _no_call(sub: Subscription, step: SagaStep, key: str) -> None:
    return None


_TABLE: dict[StepAction, Callable[[Subscription, SagaStep, str], PortCall | None]] = {
    A.PLACE_ORDER: _place_order,
    A.PROVISION_LICENSE: _provision,
    A.REVOKE_LICENSE: _revoke,
    A.HOLD_ALIAS: _hold_alias,
    A.RELEASE_ALIAS: _release_alias,
    A.ACTIVATE_STOREFRONT: _activate_storefront,
    A.DEACTIVATE_STOREFRONT: _storefront("deactivate_storefront"),
    A.SUSPEND_STOREFRONT: _storefront("suspend_storefront"),
    A.RESUME_STOREFRONT: _storefront("resume_storefront"),
    A.SUSPEND_ON_PLATFORM: _on_platform("suspend_subscription"),
    A.RESUME_ON_PLATFORM: _on_platform("resume_subscription"),
    A.CANCEL_ON_PLATFORM: _on_platform("cancel_subscription"),
    A.QUEUE_EMAIL: _no_call,
}


def call_for(sub: Subscription, step: SagaStep) -> PortCall | None:
    """The port call that runs ``step`` for ``sub``, or None when it makes none.

    Raises:
        PermanentBackendError: the step cannot run (no product to order, no alias to put a
            storefront under): it fails for good.
    """
    return _TABLE[step.action](sub, step, idempotency_key(sub, step))


def repair_call(sub: Subscription, action: StepAction) -> PortCall:
    """The port call of one reconciliation repair (``domain.reconcile.REPAIRS``) for the
    subscription's account, keyed by the subscription's version: the same for every repeat of
    one reconciliation, another for the next.

    Raises:
        ValueError: ``action`` is not a repair.
    """
    if action not in REPAIRS:
        raise ValueError(f"{action.value} is not a reconciliation repair")
    key = f"{sub.id}:reconcile-{sub.version}:{action.value}"
    call = _TABLE[action](sub, SagaStep(action, Plan.BASIC), key)
    if call is None:  # pragma: no cover - every repair's entry makes a call
        raise ValueError(f"{action.value} makes no call")
    return call
