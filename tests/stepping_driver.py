"""A second driver over the service's core, for tests: one saga step at a time.

It shares everything that decides with ``ResellerPlans``: the planners
(``reseller_plans.service.planning``), the step table (``service.steps``) and the domain
(``saga.next_step``, ``effects.settle``). What it owns is only I/O: it reads the facts, makes the
port call of one step, and commits the effects it is given. Because it stops after each step,
a test can interleave two drivers on one subscription by hand, the way two processes would.
"""

from __future__ import annotations

import datetime as dt
from functools import partial

import attrs

from reseller_plans import Actor, Plan
from reseller_plans.domain import saga
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.effects import Audience, settle
from reseller_plans.domain.errors import (
    ConcurrentUpdate,
    ResellerPlansError,
    TransientBackendError,
)
from reseller_plans.domain.lifecycle import Context
from reseller_plans.domain.plans import Timing
from reseller_plans.domain.saga import Outcome, SagaStep
from reseller_plans.domain.subscription import StepAction, Subscription
from reseller_plans.ports import BSS, AliasHold, Clock, Store, Storefront
from reseller_plans.service import inputs, planning
from reseller_plans.service.driver import apply_holds, load
from reseller_plans.service.messages import (
    Draft,
    failure_draft,
    outbox_entries,
    reseller_draft,
)
from reseller_plans.service.planning import Commit, Facts
from reseller_plans.service.reads import Reads, decide
from reseller_plans.service.steps import call_for, platform_id

ALIAS_HOLD = dt.timedelta(days=30)


class SteppingDriver:
    """Drives one subscription at a time, a step per :meth:`step` call."""

    def __init__(
        self, *, bss: BSS, storefront: Storefront, store: Store, clock: Clock, ids: str = "step"
    ) -> None:
        self.bss, self.storefront, self.store, self.clock = bss, storefront, store, clock
        self._ids, self._count = ids, 0
        self.subscription: Subscription | None = None
        self.lost = 0  # outcomes refused because someone else had moved the subscription on

    # ------------------------------------------------------------------ commands, not driven

    def upgrade(self, account_id: str, plan: Plan, *, actor: Actor, alias: str) -> Subscription:
        """Plan and commit an upgrade; its saga waits for :meth:`step`."""
        request = inputs.upgrade_request(account_id, plan, actor, "monthly", True, None, None)
        request = attrs.evolve(request, alias=StorefrontAlias.parse(alias))
        with self.store.unit_of_work() as uow:
            live = uow.live_subscription_of(account_id)
            hold = uow.get_alias_hold(alias)
        facts = Facts(self.clock.now(), self.bss.get_account(account_id), live=live, hold=hold)
        planner = partial(planning.plan_upgrade, request, new_id=self._new_id)
        commit = decide(planner, facts, self._reads(), account_id=account_id, alias=request.alias)
        return self._commit(commit)

    def cancel(self, subscription_id: str) -> Subscription:
        """Plan and commit an immediate cancellation; its saga waits for :meth:`step`."""
        with self.store.unit_of_work() as uow:
            sub = load(uow, subscription_id)
        planner = partial(planning.plan_cancel, sub, timing=Timing.IMMEDIATE)
        facts = Facts(self.clock.now())
        return self._commit(decide(planner, facts, self._reads(), account_id=sub.account_id))

    def take(self, subscription_id: str) -> Subscription:
        """Take up a subscription as stored (as another process would find it)."""
        with self.store.unit_of_work() as uow:
            self.subscription = load(uow, subscription_id)
        return self.subscription

    # ------------------------------------------------------------------ one step

    def next_step(self) -> SagaStep | None:
        """The step this driver would run next, as it sees the subscription."""
        return None if self.subscription is None else saga.next_step(self.subscription)

    def step(self) -> SagaStep | None:
        """Run the next step (one attempt) and commit its outcome. Returns the step, or None."""
        sub = self.subscription
        step = self.next_step()
        if sub is None or step is None:
            return None
        outcome, draft = self._attempt(sub, step)
        at = self.clock.now()
        effects = settle(sub, step, outcome, Context(at=at), alias_hold=ALIAS_HOLD)
        if any(m.audience is Audience.STAFF for m in effects.messages):
            draft = failure_draft(sub, self.bss.get_distributor(sub.distributor_id), None)
        try:
            with self.store.unit_of_work() as uow:
                uow.save(effects.subscription, effects.events, expected_version=sub.version)
                for entry in outbox_entries(sub.id, effects.messages, draft, at):
                    uow.add_outbox(entry)
                apply_holds(uow, effects)
            self.subscription = effects.subscription
        except ConcurrentUpdate:
            self.lost += 1
            self.take(sub.id)
        return step

    def run(self) -> Subscription | None:
        """Run steps until none is left."""
        while self.step() is not None:
            pass
        return self.subscription

    # ------------------------------------------------------------------ plumbing

    def _attempt(self, sub: Subscription, step: SagaStep) -> tuple[Outcome, Draft]:
        try:
            if step.action is StepAction.QUEUE_EMAIL:
                account = self.bss.get_account(sub.account_id)
                distributor = self.bss.get_distributor(sub.distributor_id)
                now = self.clock.now()
                draft = reseller_draft(
                    sub, step, account, distributor, now=now, alias_hold=ALIAS_HOLD
                )
                return Outcome.done(), draft
            call = call_for(sub, step)
            if call is None:
                return Outcome.done(), Draft()
            port = self.bss if call.port == "bss" else self.storefront
            result = getattr(port, call.operation)(*call.args, **call.kwargs)
            return Outcome.done(platform_id(result)), Draft()
        except TransientBackendError as exc:
            return Outcome.transient(str(exc)), Draft()
        except ResellerPlansError as exc:
            return Outcome.permanent(str(exc)), Draft()

    def _commit(self, commit: Commit) -> Subscription:
        sub = commit.subscription
        with self.store.unit_of_work() as uow:
            if commit.reserve_alias is not None:
                uow.put_alias_hold(AliasHold(commit.reserve_alias, sub.account_id, None))
            if commit.expected_version is None:
                uow.add(sub, commit.events)
            else:
                uow.save(sub, commit.events, expected_version=commit.expected_version)
        self.subscription = sub
        return sub

    def _reads(self) -> Reads:
        return Reads(self.bss, self.storefront)

    def _new_id(self) -> str:
        self._count += 1
        return f"{self._ids}_{self._count}"
