"""The service's composition root: the collaborators of one ``ResellerPlans``, wired once.

Every part gets the same store, clock and lease settings; the façade only delegates to them.
"""

from __future__ import annotations

import datetime as dt

import attrs

from reseller_plans.domain.errors import InvalidInput
from reseller_plans.ports import BSS, Clock, Mailer, Store, Storefront
from reseller_plans.service.commands import Commands
from reseller_plans.service.driver import SagaDriver
from reseller_plans.service.leases import LeaseSettings, Ownership
from reseller_plans.service.outbox import MessageRenderer, OutboxSender
from reseller_plans.service.preview import PreviewCommands, Previews
from reseller_plans.service.queries import Queries
from reseller_plans.service.scheduler import Scheduler

__all__ = ["Parts", "wire"]


@attrs.frozen
class Parts:
    """What a ``ResellerPlans`` delegates to."""

    commands: Commands
    scheduler: Scheduler
    queries: Queries
    previews: PreviewCommands


def wire(
    *,
    bss: BSS,
    storefront: Storefront,
    mailer: Mailer,
    store: Store,
    clock: Clock,
    templates: MessageRenderer,
    alias_hold: dt.timedelta,
    retry_budget: int,
    staff_email: str | None,
    leases: LeaseSettings,
) -> Parts:
    """Wire the collaborators.

    Raises:
        InvalidInput: a ``retry_budget`` below 1 or a negative ``alias_hold``.
    """
    if retry_budget < 1:
        raise InvalidInput("retry_budget must be at least 1")
    if alias_hold < dt.timedelta(0):
        raise InvalidInput("alias_hold must not be negative")
    ownership = Ownership(store, clock, leases)
    outbox = OutboxSender(store, mailer, templates, clock, ownership)
    driver = SagaDriver(
        bss=bss,
        storefront=storefront,
        store=store,
        clock=clock,
        outbox=outbox,
        ownership=ownership,
        alias_hold=alias_hold,
        retry_budget=retry_budget,
        staff_email=staff_email,
    )
    return Parts(
        Commands(driver, clock),
        Scheduler(driver),
        Queries(store),
        PreviewCommands(Previews(driver, clock)),
    )
