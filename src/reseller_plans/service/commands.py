"""Carrying out a command: replay or plan, commit, then drive.

Every command goes the same way. A repeated idempotency key replays the first result
(``access.replayed``). Otherwise the command's planner decides on the facts
(``planning``), asking for any it lacks; a refusal raises and changes nothing; a commit is
written in one unit of work, with the key remembered; then the saga runs, or the subscription's
waiting messages are sent.
"""

from __future__ import annotations

from collections.abc import Callable

from reseller_plans.domain.accounts import ResellerAccount
from reseller_plans.domain.actors import Actor
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.eligibility import EligibilityReport
from reseller_plans.domain.errors import AliasTaken, IllegalTransition, InvalidAlias
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.subscription import Subscription, SubscriptionStatus
from reseller_plans.logs import get_logger
from reseller_plans.ports import Clock, IdempotencyRecord
from reseller_plans.service.access import KeyScope, Request, authorize_subscription, replayed
from reseller_plans.service.auditing import acting, stamp
from reseller_plans.service.decisions import (
    UNDER_WAY,
    Commit,
    Decision,
    Facts,
    Need,
    Then,
    UpgradeRequest,
)
from reseller_plans.service.driver import Held, SagaDriver, load
from reseller_plans.service.planning import plan_check, plan_upgrade
from reseller_plans.service.reads import Reads, decide
from reseller_plans.service.requests import SubscriptionCommand

__all__ = ["Commands", "Planner"]

logger = get_logger("service")

Planner = Callable[[Facts], Decision]
"""A command's planner with its request bound: facts in, decision out."""


class Commands:
    """Runs commands through their planners and the saga driver."""

    def __init__(self, driver: SagaDriver, clock: Clock) -> None:
        self.driver = driver
        self.clock = clock

    def replay(self, actor: Actor, key: str | None, request: Request) -> Subscription | None:
        """The first result of a repeated request (driven on, if it was left in progress).

        Raises:
            IdempotencyConflict: the key was first sent with another request.
        """
        if key is None:
            return None
        ownership = self.driver.ownership
        owner = ownership.new_owner()
        with self.driver.store.unit_of_work() as uow:
            record = uow.get_idempotency(KeyScope(actor).value, key)
            sid = replayed(record, key, request)
            if sid is None:
                return None
            sub = load(uow, sid)
            lease = ownership.take(uow, sid, owner)
        return self._driving(sub, Held(lease), None)

    def _driving(self, sub: Subscription, held: Held, reads: Reads | None) -> Subscription:
        """Drive the subscription under the lease, then give the lease up, however the drive
        ends: once the call stack has unwound, no call of this driver is still in flight. (A
        process killed outright leaves its lease to end by itself.)"""
        try:
            return self.driver.drive(sub, held, reads=reads)
        finally:
            self._release(held)

    def _release(self, held: Held) -> None:
        if not held.lost:
            self.driver.ownership.release(held.lease)

    def check(
        self,
        account_id: str,
        plan: Plan,
        actor: Actor,
        alias: str | None,
        account: ResellerAccount | None = None,
    ) -> EligibilityReport:
        """The eligibility report of ``ResellerPlans.check`` (the actor is authorized)."""
        with acting(actor):
            return self._check(account_id, plan, actor, alias, account)

    def _check(
        self,
        account_id: str,
        plan: Plan,
        actor: Actor,
        alias: str | None,
        account: ResellerAccount | None,
    ) -> EligibilityReport:
        reads = self.driver.reads()
        reads.seed(account)
        account = reads.account(account_id)
        distributor_id = actor.id if actor.is_distributor else account.distributor_id
        with self.driver.store.unit_of_work() as uow:
            live = uow.live_subscription_of(account.id)
            hold = None
            if alias is not None:
                try:
                    hold = uow.get_alias_hold(StorefrontAlias.parse(alias).value)
                except InvalidAlias:
                    hold = None  # the report names the broken rule
        facts = Facts(now=self.clock.now(), account=account, live=live, hold=hold)
        for _ in range(len(Need) + 1):
            report = plan_check(facts, plan, alias)
            if isinstance(report, EligibilityReport):
                return report
            ask = None
            if report is Need.ALIAS_AVAILABILITY and alias is not None:
                ask = StorefrontAlias.parse(alias)  # valid: the report would name it otherwise
            facts = reads.supply(
                facts, report, account_id=account.id, distributor_id=distributor_id, alias=ask
            )
        raise RuntimeError("a planner asked for the same fact twice")  # pragma: no cover

    def upgrade(
        self,
        upgrade: UpgradeRequest,
        key: str | None,
        new_id: Callable[[], str],
        reason: str | None = None,
    ) -> Subscription:
        """Run an upgrade (its input parsed, the actor authorized on the account), waiting a
        bounded time while another driver holds the account's subscription.

        Raises:
            SubscriptionBusy: it was still held when the wait ended.
        """
        with acting(upgrade.actor, key=key, reason=reason):
            return self.driver.ownership.waiting(lambda: self._upgrade(upgrade, key, new_id))

    def _upgrade(
        self, upgrade: UpgradeRequest, key: str | None, new_id: Callable[[], str]
    ) -> Subscription:
        request = Request.of(
            "upgrade",
            upgrade.account_id,
            upgrade.plan.value,
            upgrade.alias,
            upgrade.billing_cycle.value,
            upgrade.auto_renew,
            upgrade.channel,
            upgrade.platform_subscription_id,
        )
        replay = self.replay(upgrade.actor, key, request)
        if replay is not None and replay.status is not SubscriptionStatus.FAILED:
            return replay
        # A rolled-back activation left nothing behind, so the same request (the platform's
        # Retry, an operator's rerun) is tried afresh; the key then points to the new attempt.
        reads = self.driver.reads()
        account = reads.account(upgrade.account_id)
        with self.driver.store.unit_of_work() as uow:  # one read of what the store knows
            live = uow.live_subscription_of(upgrade.account_id)
            alias = upgrade.alias
            hold = None if alias is None else uow.get_alias_hold(alias.value)
        facts = Facts(now=self.clock.now(), account=account, live=live, hold=hold)
        commit = decide(
            lambda f: plan_upgrade(upgrade, f, new_id),
            facts,
            reads,
            account_id=upgrade.account_id,
            # Free → Standard changes the live subscription: its distributor's profile decides
            # (the one the account had when it subscribed), as change_plan's does.
            distributor_id=None if live is None else live.distributor_id,
            alias=upgrade.alias,
        )
        if commit.expected_version is None:
            logger.info(
                "upgrade of %s to %s requested as %s",
                upgrade.account_id,
                upgrade.plan.value,
                commit.subscription.id,
            )
        return self.carry_out(commit, upgrade.actor, key, request, facts, reads)

    def on_subscription(self, command: SubscriptionCommand) -> Subscription:
        """Run a command on an existing subscription, waiting a bounded time while another
        driver holds it.

        Raises:
            SubscriptionBusy: it was still held when the wait ended.
        """
        with acting(command.actor, key=command.key, reason=command.reason):
            return self.driver.ownership.waiting(
                lambda: self._on_subscription(
                    command.subscription_id,
                    command.actor,
                    command.key,
                    command.request,
                    command.planner,
                    command.distributor_only,
                )
            )

    def _on_subscription(
        self,
        subscription_id: str,
        actor: Actor,
        key: str | None,
        request: Request,
        planner: Callable[[Subscription, Facts], Decision],
        distributor_only: bool,
    ) -> Subscription:
        replay = self.replay(actor, key, request)
        if replay is not None:
            return replay
        with self.driver.store.unit_of_work() as uow:
            sub = load(uow, subscription_id)
        authorize_subscription(actor, sub, distributor_only=distributor_only)
        reads = self.driver.reads()
        facts = Facts(now=self.clock.now())
        commit = decide(
            lambda f: planner(sub, f),
            facts,
            reads,
            account_id=sub.account_id,
            distributor_id=sub.distributor_id,
        )
        return self.carry_out(commit, actor, key, request, facts, reads)

    def carry_out(
        self,
        commit: Commit,
        actor: Actor,
        key: str | None,
        request: Request,
        facts: Facts,
        reads: Reads,
    ) -> Subscription:
        """Write the commit in one unit of work, with the lease that makes this call the
        subscription's one driver, then drive the saga or send the outbox.

        Raises:
            SubscriptionBusy: another driver holds the subscription (nothing was written).
            AliasTaken: another account reserved the alias meanwhile.
            IllegalTransition: another upgrade of the account was committed meanwhile.
        """
        sub, now = commit.subscription, facts.now
        ownership = self.driver.ownership
        with self.driver.store.unit_of_work() as uow:
            lease = ownership.take(uow, sub.id, ownership.new_owner())
            alias = commit.reserve_alias
            if alias is not None and not uow.reserve_alias_hold(alias, sub.account_id):
                raise AliasTaken(alias)
            if commit.expected_version is None:
                if uow.live_subscription_of(sub.account_id) is not None:
                    raise IllegalTransition("pending", "upgrade", UNDER_WAY)
                uow.add(sub, stamp(commit.events))
            else:
                uow.save(sub, stamp(commit.events), expected_version=commit.expected_version)
            if key is not None:
                scope = KeyScope(actor).value
                uow.put_idempotency(IdempotencyRecord(scope, key, request.fingerprint, sub.id, now))
            if commit.message is not None:
                uow.add_outbox(commit.message)
        held = Held(lease)
        if commit.then is Then.DRIVE:
            return self._driving(sub, held, reads)
        self._release(held)
        self.driver.outbox.send_of(sub.id)
        return sub
