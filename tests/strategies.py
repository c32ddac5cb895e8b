"""Hypothesis strategies for the domain, in one module (as attrs keeps its own).

The alias strategies are written from the grammar in ``docs/concepts.md``, not from the code, so a
property that compares them with ``StorefrontAlias`` tests the code against the rule as documented.
"""

from __future__ import annotations

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

__all__ = [
    "alias_like_text",
    "distributor_profiles",
    "plans",
    "reseller_accounts",
    "respellings",
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
