"""The settings the partner fills in when registering the service manager (``Fields/Get``), and
their validation (``Fields/Validate``).

Two fields, both required:

- ``StorefrontBaseUrl``: the distributor's Storefront (``https://cloud.disti.com``), under which
  each Standard reseller's Storefront lives at ``/<alias>``;
- ``DistributorCode``: the distributor this service manager serves. It must equal the
  ``distributor_id`` the service manager was built with; every later call that carries it (as
  ``X-CloudPlatform-Setting-DistributorCode``) is refused when it names another distributor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit

__all__ = [
    "DISTRIBUTOR_CODE",
    "STOREFRONT_BASE_URL",
    "settings_fields",
    "validate_settings",
]

STOREFRONT_BASE_URL: Final = "StorefrontBaseUrl"
DISTRIBUTOR_CODE: Final = "DistributorCode"

# The platform's FieldKind enumeration, sent as integers: 0 Text, 2 Url.
_KIND_TEXT: Final = 0
_KIND_URL: Final = 2


def _field(
    field_id: str, sort_order: int, name: str, description: str, kind: int, max_length: int
) -> dict[str, object]:
    return {
        "ID": field_id,
        "Value": None,
        "Definition": {
            "ID": field_id,
            "SortOrder": sort_order,
            "Name": name,
            "Description": description,
            "Kind": kind,
            "MaxLength": max_length,
            "IsRequired": True,
            "PredefinedValues": {},
            "IsAdditionalField": False,
            "IncludeVerification": False,
            "IsDistributorOption": True,
            "IsPartnerOption": False,
            "InitialValue": None,
        },
    }


def settings_fields() -> dict[str, object]:
    """The ``FieldCollection`` answered by ``Fields/Get``."""
    return {
        "Fields": [
            _field(
                STOREFRONT_BASE_URL,
                1,
                "Storefront base URL",
                "Your Storefront's address (https://cloud.example.com); resellers on the "
                "Standard plan get theirs under it, at /<alias>.",
                _KIND_URL,
                2048,
            ),
            _field(
                DISTRIBUTOR_CODE,
                2,
                "Distributor code",
                "Your organization's code, as given to this service manager.",
                _KIND_TEXT,
                100,
            ),
        ]
    }


def validate_settings(values: Mapping[str, object], *, distributor_id: str) -> list[str]:
    """The problems of a set of settings, as the sentences ``Fields/Validate`` answers.

    Args:
        values: field id (case-folded) → value, as posted.
        distributor_id: the distributor the service manager serves.

    Returns:
        One sentence per problem; empty when the settings are valid.
    """
    errors: list[str] = []
    url = values.get(STOREFRONT_BASE_URL.casefold())
    if url is None or (isinstance(url, str) and not url.strip()):
        errors.append(f"{STOREFRONT_BASE_URL} is required.")
    elif not isinstance(url, str):
        errors.append(f"{STOREFRONT_BASE_URL} must be text.")
    else:
        try:
            parts = urlsplit(url.strip())
            valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            valid = False
        if not valid:
            errors.append(
                f"{STOREFRONT_BASE_URL} must be an http or https address, such as "
                "https://cloud.example.com."
            )
    code = values.get(DISTRIBUTOR_CODE.casefold())
    if code is None or (isinstance(code, str) and not code.strip()):
        errors.append(f"{DISTRIBUTOR_CODE} is required.")
    elif not isinstance(code, str):
        errors.append(f"{DISTRIBUTOR_CODE} must be text.")
    elif code.strip() != distributor_id:
        errors.append(
            f"{DISTRIBUTOR_CODE} {code.strip()!r} is not the distributor this service manager "
            f"serves ({distributor_id!r})."
        )
    return errors
