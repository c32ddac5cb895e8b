"""Hypothesis strategies for the domain, in one module (as attrs keeps its own).

The alias strategies are written from the grammar in ``docs/concepts.md``, not from the code, so a
property that compares them with ``StorefrontAlias`` tests the code against the rule as documented.
"""

from __future__ import annotations

import datetime as dt
import string

from hypothesis import strategies as st

from reseller_plans import (
    DistributorProfile,
    Edition,
    Plan,
    ResellerAccount,
    ServiceManagerState,
)
from reseller_plans.domain import RESERVED_ALIASES, STANDARD_EDITION_RESELLERS_ADDON
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.messages import MessageKind
from reseller_plans.domain.subscription import (
    BillingCycle,
    Channel,
    Operation,
    OperationKind,
    PendingChange,
    PendingKind,
    StepAction,
    Subscription,
    SubscriptionStatus,
    SyncStatus,
    Term,
)
from reseller_plans.ports import OutboxEntry

__all__ = [
    "alias_like_text",
    "distributor_profiles",
    "instants",
    "operations",
    "outbox_entries",
    "plans",
    "reseller_accounts",
    "respellings",
    "subscriptions",
    "valid_aliases",
]

LETTERS = string.ascii_lowercase
LETTERS_AND_DIGITS = string.ascii_lowercase + string.digits

plans = st.sampled_from(Plan)
"""Any plan."""

# An alias is a letter followed by "tokens", each a letter or digit optionally preceded by one
# hyphen: so it never ends with "-" and never holds "--". 31 tokens of at most 2 characters keep it
# within 63 characters.
_alias_tokens = st.lists(
    st.tuples(st.booleans(), st.sampled_from(LETTERS_AND_DIGITS)).map(
        lambda pair: ("-" if pair[0] else "") + pair[1]
    ),
    min_size=1,
    max_size=31,
)


def valid_aliases() -> st.SearchStrategy[str]:
    """A normalized alias that the documented grammar accepts."""
    return st.builds(
        lambda first, tokens: first + "".join(tokens), st.sampled_from(LETTERS), _alias_tokens
    ).filter(lambda text: len(text) >= 3 and text not in RESERVED_ALIASES)


@st.composite
def respellings(draw: st.DrawFn, alias: str) -> str:
    """``alias`` as a person might type it: random case, blanks around it."""
    cased = "".join(c.upper() if draw(st.booleans()) else c for c in alias)
    blanks = st.text(alphabet=" \t\n\r\u00a0\u3000", max_size=3)
    return draw(blanks) + cased + draw(blanks)


alias_like_text = st.one_of(
    # Any text at all, including surrogates-free unicode and control characters.
    st.text(max_size=70),
    # Text from the alias alphabet and its near misses, so acceptances are not rare.
    st.text(alphabet=LETTERS_AND_DIGITS + "-_. /ABZ\u00e9\u212a", max_size=70),
    # Runs of letters, digits and hyphens around the length limits: "--", trailing "-", too long.
    st.lists(st.sampled_from(["a", "z", "9", "-", "ab", "x-y"]), max_size=45).map("".join),
    # Reserved words and valid aliases, respelled.
    st.sampled_from(sorted(RESERVED_ALIASES)).flatmap(respellings),
    valid_aliases().flatmap(respellings),
)
"""Text that may or may not be an alias, with both outcomes common."""


@st.composite
def distributor_profiles(draw: st.DrawFn, distributor_id: str = "D-100") -> DistributorProfile:
    """Any distributor profile, eligible or not on each criterion."""
    addons = draw(st.sets(st.sampled_from([STANDARD_EDITION_RESELLERS_ADDON, "other_addon"])))
    products = draw(
        st.dictionaries(
            st.sampled_from([Plan.FREE, Plan.STANDARD]), st.sampled_from(["P-1", "P-2"])
        )
    )
    return DistributorProfile(
        id=distributor_id,
        name="Sample Distribution",
        edition=draw(st.sampled_from(Edition)),
        active_addons=addons,
        service_manager=draw(st.sampled_from(ServiceManagerState)),
        plan_products=products,
        storefront_host="cloud.disti.example",
    )


@st.composite
def reseller_accounts(draw: st.DrawFn) -> ResellerAccount:
    """Any reseller account, under distributor ``D-100`` or another one."""
    return ResellerAccount(
        id=draw(st.sampled_from(["3542", "3543"])),
        distributor_id=draw(st.sampled_from(["D-100", "D-200"])),
        name="TechSolutions Ltd",
        email="it@techsolutions.example",
        reselling_enabled=draw(st.booleans()),
        plan=draw(plans),
    )


instants = st.one_of(
    st.datetimes(
        min_value=dt.datetime(1990, 1, 1),
        max_value=dt.datetime(2100, 1, 1),
        timezones=st.just(dt.UTC),
    ),
    st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1)).map(
        lambda naive: naive.replace(minute=0, second=0, microsecond=0, tzinfo=dt.UTC)
    ),
    st.datetimes(
        timezones=st.builds(
            dt.timezone,
            st.timedeltas(min_value=-dt.timedelta(hours=23), max_value=dt.timedelta(hours=23)),
        )
    ),
)
"""Instants the stores meet: aware UTC ones (on the hour, to the second or the microsecond,
before 2000 too), and some at other offsets."""

_texts = st.text(max_size=12)


@st.composite
def operations(draw: st.DrawFn) -> Operation:
    """Any operation, at any step."""
    kind = draw(st.sampled_from(OperationKind))
    return Operation(
        kind,
        draw(plans),
        draw(plans),
        draw(st.lists(st.sampled_from(StepAction), max_size=6).map(tuple)),
        done=draw(st.integers(0, 6)),
        compensating=draw(st.booleans()),
        undone=draw(st.integers(0, 6)),
        sync=draw(st.sampled_from(SyncStatus)),
        reason=draw(st.none() | _texts),
        detail=draw(_texts),
        id=draw(_texts),
        product_id=draw(_texts),
    )


@st.composite
def subscriptions(draw: st.DrawFn) -> Subscription:
    """Any subscription, with or without an alias, a pending change and an operation."""
    return Subscription(
        id=draw(st.text(min_size=1, max_size=12)),
        account_id=draw(st.text(min_size=1, max_size=12)),
        distributor_id=draw(st.sampled_from(["D-100", "D-200"])),
        plan=draw(plans),
        alias=draw(st.none() | valid_aliases().map(StorefrontAlias)),
        status=draw(st.sampled_from(SubscriptionStatus)),
        term=Term(
            draw(instants),
            draw(instants),
            draw(st.sampled_from(BillingCycle)),
            draw(st.booleans()),
            draw(st.integers(0, 31)),
        ),
        channel=draw(st.sampled_from(Channel)),
        pending_change=draw(
            st.none() | st.builds(PendingChange, st.sampled_from(PendingKind), instants, plans)
        ),
        operation=draw(st.none() | operations()),
        platform_subscription_id=draw(st.none() | _texts),
        failure_reason=draw(st.none() | _texts),
        version=draw(st.integers(1, 10**6)),
    )


@st.composite
def outbox_entries(draw: st.DrawFn, subscription_id: str = "sub_1") -> OutboxEntry:
    """Any outbox entry of the subscription, sent or not."""
    return OutboxEntry(
        id=draw(st.text(min_size=1, max_size=20)),
        subscription_id=subscription_id,
        kind=draw(st.sampled_from(MessageKind)),
        to=tuple(draw(st.lists(st.emails(), max_size=2))),
        context=draw(st.dictionaries(_texts, _texts, max_size=4)),
        created_at=draw(instants),
        sent_at=draw(st.none() | instants),
        attempts=draw(st.integers(0, 10)),
        last_error=draw(st.none() | _texts),
        failed_permanently=draw(st.booleans()),
    )
