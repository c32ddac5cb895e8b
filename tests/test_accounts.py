"""The facts about distributors and resellers that eligibility reads."""

from __future__ import annotations

import pytest

from reseller_plans import DistributorProfile, Edition, Plan, ResellerAccount, ServiceManagerState


def _distributor(**changes: object) -> DistributorProfile:
    fields: dict[str, object] = {"id": "D-100", "name": "Sample Distribution"}
    fields["edition"] = Edition.DIAMOND
    fields.update(changes)
    return DistributorProfile(**fields)  # type: ignore[arg-type]


def test_new_distributor_has_no_addons_no_products_and_an_active_service_manager() -> None:
    distributor = _distributor()

    assert distributor.active_addons == frozenset()
    assert distributor.plan_products == {}
    assert distributor.service_manager is ServiceManagerState.ACTIVE


def test_active_addons_are_kept_as_a_frozenset_whatever_iterable_is_given() -> None:
    distributor = _distributor(active_addons=["a", "b", "a"])

    assert distributor.active_addons == frozenset({"a", "b"})


def test_product_for_names_the_catalog_product_of_a_plan_or_none() -> None:
    distributor = _distributor(plan_products={Plan.FREE: "ResellerPlanFree"})

    assert distributor.product_for(Plan.FREE) == "ResellerPlanFree"
    assert distributor.product_for(Plan.STANDARD) is None


@pytest.mark.parametrize(
    ("edition", "title"),
    [
        (Edition.ESSENTIALS, "Essentials"),
        (Edition.DIAMOND, "Diamond"),
        (Edition.DIAMOND_WITH_DISTRIBUTION_RIGHTS, "Diamond with Distribution Rights"),
    ],
)
def test_edition_title_is_the_name_the_platform_uses(edition: Edition, title: str) -> None:
    assert edition.title == title


def test_new_reseller_account_is_a_basic_reseller_without_an_alias() -> None:
    account = ResellerAccount(
        id="3542", distributor_id="D-100", name="T", email="t@example.invalid"
    )

    assert (account.plan, account.reselling_enabled, account.alias) == (Plan.BASIC, True, None)


def test_distributor_profile_is_hashable_like_every_frozen_value() -> None:
    assert hash(_distributor(plan_products={Plan.FREE: "P"})) == hash(
        _distributor(plan_products={Plan.FREE: "P"})
    )


def test_a_single_addon_given_as_a_bare_string_is_refused_rather_than_split_into_letters() -> None:
    with pytest.raises((TypeError, ValueError)):
        _distributor(active_addons="standard_edition_resellers")
