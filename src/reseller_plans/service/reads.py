"""The synchronous driver's reads: each fact read once per command, then reused.

A command reads the account and its distributor's profile at most once, however many steps
need them (eligibility, then the email's context), and reads the Storefront only when a
planner asks whether an alias is free (``planning.Need``). :func:`decide` asks a planner,
supplying what it needs, until it decides: every driver plans a command through it.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from reseller_plans.domain.accounts import DistributorProfile, ResellerAccount
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.ports import BSS, Storefront
from reseller_plans.service.decisions import Commit, Decision, Facts, Need

__all__ = ["Reads", "decide"]


class Reads:
    """The BSS and Storefront reads of one command (a cache that lives as long as it)."""

    def __init__(self, bss: BSS, storefront: Storefront) -> None:
        self._bss = bss
        self._storefront = storefront
        self._accounts: dict[str, ResellerAccount] = {}
        self._distributors: dict[str, DistributorProfile] = {}

    def seed(self, account: ResellerAccount | None) -> None:
        """Use ``account`` as already read by the caller (the service manager reads it with the
        platform's token), instead of reading it from the BSS."""
        if account is not None:
            self._accounts[account.id] = account

    def account(self, account_id: str) -> ResellerAccount:
        """The account, read once."""
        account = self._accounts.get(account_id)
        if account is None:
            account = self._accounts[account_id] = self._bss.get_account(account_id)
        return account

    def distributor(self, distributor_id: str) -> DistributorProfile:
        """The distributor's profile, read once."""
        profile = self._distributors.get(distributor_id)
        if profile is None:
            profile = self._bss.get_distributor(distributor_id)
            self._distributors[distributor_id] = profile
        return profile

    def known_distributor(self, distributor_id: str) -> DistributorProfile | None:
        """The profile if this command has read it already, without reading."""
        return self._distributors.get(distributor_id)

    def supply(
        self,
        facts: Facts,
        need: Need,
        *,
        account_id: str,
        distributor_id: str | None = None,
        alias: StorefrontAlias | None = None,
    ) -> Facts:
        """``facts`` with what a planner asked for.

        Args:
            facts: what the planner was given.
            need: what it asked for.
            account_id: the account the command is about.
            distributor_id: whose profile to read (default: the account's distributor).
            alias: the alias whose availability is asked.
        """
        if need is Need.PROFILES:
            account = facts.account or self.account(account_id)
            distributor = self.distributor(distributor_id or account.distributor_id)
            return attrs.evolve(facts, account=account, distributor=distributor)
        if alias is None:  # pragma: no cover - a planner asks only about an alias it was given
            raise ValueError("no alias to ask the Storefront about")
        free = self._storefront.is_alias_free(alias, account_id=account_id)
        return attrs.evolve(facts, alias_free=free)


def decide(
    planner: Callable[[Facts], Decision],
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
