"""Carrying out a command: replay or plan, commit, then drive.

Every command goes the same way. A repeated idempotency key replays the first result
(``access.replayed``). Otherwise the command's planner decides on the facts
(``planning``), asking for any it lacks; a refusal raises and changes nothing; a commit is
written in one unit of work, with the key remembered; then the saga runs, or the subscription's
waiting messages are sent.
"""

from __future__ import annotations

from collections.abc import Callable

from reseller_plans.domain.actors import Actor
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.errors import AliasTaken, IllegalTransition
from reseller_plans.domain.subscription import Subscription
from reseller_plans.ports import AliasHold, Clock, IdempotencyRecord
from reseller_plans.service.access import KeyScope, Request, authorize_subscription, replayed
from reseller_plans.service.driver import SagaDriver, load
from reseller_plans.service.planning import UNDER_WAY, Commit, Decision, Facts, Need, Then
from reseller_plans.service.reads import Reads

__all__ = ["Commands", "Planner"]

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
        with self.driver.store.unit_of_work() as uow:
            record = uow.get_idempotency(KeyScope(actor).value, key)
            sid = replayed(record, key, request)
            sub = None if sid is None else load(uow, sid)
        return None if sub is None else self.driver.drive(sub)

    def on_subscription(
        self,
        subscription_id: str,
        actor: Actor,
        key: str | None,
        request: Request,
        planner: Callable[[Subscription, Facts], Decision],
        *,
        distributor_only: bool = False,
    ) -> Subscription:
        """Run a command on an existing subscription."""
        replay = self.replay(actor, key, request)
        if replay is not None:
            return replay
        with self.driver.store.unit_of_work() as uow:
            sub = load(uow, subscription_id)
        authorize_subscription(actor, sub, distributor_only=distributor_only)
        reads = self.driver.reads()
        facts = Facts(now=self.clock.now())
        commit = self.decide(
            lambda f: planner(sub, f),
            facts,
            reads,
            account_id=sub.account_id,
            distributor_id=sub.distributor_id,
        )
        return self.carry_out(commit, actor, key, request, facts, reads)

    def decide(
        self,
        planner: Planner,
        facts: Facts,
        reads: Reads,
        *,
        account_id: str,
        distributor_id: str | None = None,
        alias: StorefrontAlias | None = None,
    ) -> Commit:
        """Ask the planner, reading what it needs, until it decides.

        Raises:
            ResellerPlansError: the planner refused the command.
        """
        for _ in range(len(Need) + 1):
            decision = planner(facts)
            if isinstance(decision, Need):
                facts = reads.supply(
                    facts,
                    decision,
                    account_id=account_id,
                    distributor_id=distributor_id,
                    alias=alias,
                )
                continue
            if isinstance(decision, Commit):
                return decision
            raise decision.error
        raise RuntimeError("a planner asked for the same fact twice")  # pragma: no cover

    def carry_out(
        self,
        commit: Commit,
        actor: Actor,
        key: str | None,
        request: Request,
        facts: Facts,
        reads: Reads,
    ) -> Subscription:
        """Write the commit in one unit of work, then drive the saga or send the outbox.

        Raises:
            AliasTaken: another account reserved the alias meanwhile.
            IllegalTransition: another upgrade of the account was committed meanwhile.
        """
        sub, now = commit.subscription, facts.now
        with self.driver.store.unit_of_work() as uow:
            if commit.reserve_alias is not None:
                hold = uow.get_alias_hold(commit.reserve_alias)
                if hold is not None and hold.account_id != sub.account_id:
                    raise AliasTaken(commit.reserve_alias)
                uow.put_alias_hold(AliasHold(commit.reserve_alias, sub.account_id, None))
            if commit.expected_version is None:
                if uow.live_subscription_of(sub.account_id) is not None:
                    raise IllegalTransition("pending", "upgrade", UNDER_WAY)
                uow.add(sub, commit.events)
            else:
                uow.save(sub, commit.events, expected_version=commit.expected_version)
            if key is not None:
                scope = KeyScope(actor).value
                uow.put_idempotency(IdempotencyRecord(scope, key, request.fingerprint, sub.id, now))
            if commit.message is not None:
                uow.add_outbox(commit.message)
        if commit.then is Then.DRIVE:
            return self.driver.drive(sub, reads=reads)
        self.driver.outbox.send_of(sub.id)
        return sub
