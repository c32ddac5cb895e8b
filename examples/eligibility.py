"""Eligibility: check which resellers may be upgraded, and print the moves between plans.

Run it with ``python examples/eligibility.py``. It needs nothing but the library: the pure domain
decides, from the values an adapter reads from the BSS. The distributor and its resellers are
those of the emulator's demo world (``reseller_plans.testing.emulator``), with their ids.
"""

from __future__ import annotations

import itertools

from reseller_plans import (
    DistributorProfile,
    Edition,
    EligibilityReport,
    Plan,
    ResellerAccount,
    ServiceManagerState,
    StorefrontAlias,
    check_eligibility,
    plan_move,
)

PLAN_PRODUCTS = {Plan.FREE: "ResellerPlanFree", Plan.STANDARD: "ResellerPlanStandard"}

DISTI_CLOUD = DistributorProfile(
    id="100",
    name="Disti Cloud Ltd",
    edition=Edition.DIAMOND_WITH_DISTRIBUTION_RIGHTS,
    active_addons={"standard_edition_resellers"},
    service_manager=ServiceManagerState.ACTIVE,
    plan_products=PLAN_PRODUCTS,
    storefront_host="cloud.disti.example",
)

# A second distributor on a lower edition, without the Standard Edition Resellers add-on.
BUDGET_DISTRIBUTION = DistributorProfile(
    id="4000",
    name="Budget Distribution",
    edition=Edition.PROFESSIONAL,
    active_addons=set(),
    service_manager=ServiceManagerState.ACTIVE,
    plan_products=PLAN_PRODUCTS,
    storefront_host="shop.budget.example",
)


def _reseller(
    account_id: str,
    name: str,
    email: str,
    *,
    distributor: DistributorProfile = DISTI_CLOUD,
    reselling_enabled: bool = True,
    plan: Plan = Plan.BASIC,
) -> ResellerAccount:
    return ResellerAccount(
        id=account_id,
        distributor_id=distributor.id,
        name=name,
        email=email,
        reselling_enabled=reselling_enabled,
        plan=plan,
    )


# Each request: (the acting distributor, the reseller, the plan asked for, the alias asked for).
REQUESTS: list[tuple[DistributorProfile, ResellerAccount, Plan, str | None]] = [
    (
        DISTI_CLOUD,
        _reseller("3542", "TechSolutions Ltd", "admin@techsolutions.example"),
        Plan.STANDARD,
        "TechSolutions",
    ),
    (
        DISTI_CLOUD,
        _reseller("3545", "Northwind Traders", "buy@northwind.example", reselling_enabled=False),
        Plan.FREE,
        None,
    ),
    (
        DISTI_CLOUD,
        _reseller(
            "4100", "Other Disti Reseller", "x@other.example", distributor=BUDGET_DISTRIBUTION
        ),
        Plan.STANDARD,
        "otherdisti",
    ),
    (
        DISTI_CLOUD,
        _reseller("3544", "Apex Partners", "hello@apex.example", plan=Plan.STANDARD),
        Plan.STANDARD,
        None,
    ),
    (
        DISTI_CLOUD,
        _reseller("3546", "Contoso Retail", "it@contoso.example"),
        Plan.STANDARD,
        "contoso--retail!",
    ),
    (
        BUDGET_DISTRIBUTION,
        _reseller(
            "4100", "Other Disti Reseller", "x@other.example", distributor=BUDGET_DISTRIBUTION
        ),
        Plan.FREE,
        None,
    ),
]


def describe(
    distributor: DistributorProfile,
    account: ResellerAccount,
    plan: Plan,
    alias: str | None,
    report: EligibilityReport,
) -> list[str]:
    """The lines that tell a person what was asked and what the check found."""
    asked = f"{account.plan.title} → {plan.title}"
    if alias is not None:
        asked += f" with alias {alias!r}"
    lines = [
        f"{distributor.name} ({distributor.id}, {distributor.edition.title}) asks for "
        f"{account.name} ({account.id}): {asked}",
        *(f"  {line}" for line in str(report).splitlines()),
    ]
    if report.eligible and alias is not None:
        url = StorefrontAlias.parse(alias).url(distributor.storefront_host)
        lines.append(f"  the reseller's Storefront will be {url}")
    return lines


def move_table() -> list[str]:
    """Every pair of plans as a table: from, to, legal, default timing, how."""
    rows = [("from", "to", "legal", "timing", "how")]
    for source, target in itertools.product(Plan, repeat=2):
        move = plan_move(source, target)
        timing = move.timing.value if move.timing is not None else "-"
        legal = "yes" if move.legal else "no"
        rows.append((source.title, target.title, legal, timing, move.how))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True))
        + "  "
        + row[4]
        for row in rows
    ]


def main() -> None:
    """Print each eligibility report, then the moves between plans."""
    print("Eligibility")
    print("===========")
    for distributor, account, plan, alias in REQUESTS:
        report = check_eligibility(distributor, account, plan, alias=alias)
        print()
        print("\n".join(describe(distributor, account, plan, alias, report)))
    print()
    print("Moves between plans")
    print("===================")
    print("\n".join(move_table()))


if __name__ == "__main__":
    main()
