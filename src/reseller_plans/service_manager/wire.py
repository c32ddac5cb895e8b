"""The wire side of the Service Management API: JSON bodies in, typed requests out, envelopes back.

What the platform sends is read defensively (``docs/service-manager.md``, "What it accepts"):

- the body is size-checked **before** it is parsed, must be UTF-8 JSON and, where a model is
  expected, a JSON object;
- property names match **case-insensitively** (``CheckOnly``, ``checkonly``) and unknown
  properties are ignored; an object that names a property twice, exactly or in another case, is
  refused (``DuplicateProperty``): which of the two was meant cannot be known;
- only the properties we read are type-checked; a wrong type or a missing required property is a
  ``BadRequest`` naming it (``Account.ID must be a string``), and the handler changes nothing;
- a text we read that holds a NUL character or a lone surrogate is refused
  (``UnstorableText``): no store can hold it. Any other text is kept exactly as sent.

Each refusal carries the ``ResultCode`` of its cause (``BadRequest.code``).

C# value types are never null on the wire (absent means 0 or false), so an absent or null ``bool``
reads as False and an absent ``int`` as 0. Ids may arrive as JSON numbers and are read as text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final

import attrs

from reseller_plans.domain.subscription import BillingCycle
from reseller_plans.domain.text import unstorable
from reseller_plans.service_manager.codes import ResultCode

__all__ = [
    "AccountRequest",
    "AttributeValue",
    "BadRequest",
    "DuplicateProperty",
    "ServiceRequest",
    "UnstorableText",
    "dump_json",
    "envelope",
    "load_json",
    "parse_account_request",
    "parse_field_values",
    "parse_service_request",
]

_MONTH_WORDS: Final = frozenset({"month", "months", "monthly", "m", "mo"})
_YEAR_WORDS: Final = frozenset({"year", "years", "yearly", "annual", "annually", "y", "yr"})


class BadRequest(Exception):
    """A malformed request. ``str()`` says what is wrong, in the platform's property names."""

    code: ResultCode = ResultCode.BAD_REQUEST
    """The ``Code`` the refusal is answered with."""


class DuplicateProperty(BadRequest):
    """An object names a property twice (also when the names differ only by case)."""

    code = ResultCode.DUPLICATE_PROPERTY


class UnstorableText(BadRequest):
    """A text holds a NUL character or a lone surrogate."""

    code = ResultCode.INVALID_TEXT


def load_json(body: bytes, *, limit: int) -> object:
    """Parse a JSON body of at most ``limit`` bytes, with every object key case-folded.

    Raises:
        BadRequest: too large, empty, not UTF-8, or not JSON (also a nesting too deep to parse,
            a number too long to read, ``NaN`` and ``Infinity``).
        DuplicateProperty: an object names a property twice, in the same or another case.
    """
    if len(body) > limit:
        raise BadRequest(f"the body is larger than {limit} bytes")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("the body is not UTF-8 text") from None
    if not text.strip():
        raise BadRequest("the body is empty")
    try:
        return json.loads(text, object_pairs_hook=_folded, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON ({exc.msg} at position {exc.pos})") from None
    except (ValueError, RecursionError):
        raise BadRequest("the body is not JSON this service manager can read") from None


def _folded(pairs: list[tuple[str, object]]) -> dict[str, object]:
    folded: dict[str, object] = {}
    for key, value in pairs:
        name = key.casefold()
        if name in folded:
            raise DuplicateProperty(
                f"the property {key!r} is given twice (property names are matched without "
                "regard to case): send it once"
            )
        folded[name] = value
    return folded


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def dump_json(value: object) -> bytes:
    """Serialize an answer. ASCII-only, so any text a caller sent (even a lone surrogate) can be
    echoed in a message without an encoding error."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def envelope(code: int, message: str | None, result: str | None = None) -> dict[str, object]:
    """A ``ResultDefinition``: ``{"Code": …, "Message": …, "Result": …}``."""
    return {"Code": int(code), "Message": message, "Result": result}


class _Reader:
    """Typed access to one JSON object whose keys were case-folded by ``load_json``."""

    def __init__(self, value: object, where: str) -> None:
        if not isinstance(value, dict):
            raise BadRequest(f"{where or 'the body'} must be a JSON object")
        self._obj: dict[str, object] = value
        self._where = where

    def _name(self, key: str) -> str:
        return f"{self._where}.{key}" if self._where else key

    def raw(self, key: str) -> object:
        return self._obj.get(key.casefold())

    def text(self, key: str) -> str | None:
        """A string property; a JSON number is taken as its text (ids are numeric at times).

        Raises:
            UnstorableText: the text holds a NUL character or a lone surrogate.
        """
        value = self.raw(key)
        if isinstance(value, str):
            return _storable(value, self._name(key))
        if value is None:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        raise BadRequest(f"{self._name(key)} must be a string")

    def flag(self, key: str) -> bool:
        value = self.raw(key)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise BadRequest(f"{self._name(key)} must be true or false")

    def integer(self, key: str) -> int:
        value = self.raw(key)
        if value is None:
            return 0
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _is_number(value.strip().removeprefix("-")):
            return int(value)
        raise BadRequest(f"{self._name(key)} must be a whole number")

    def child(self, key: str) -> _Reader | None:
        value = self.raw(key)
        return None if value is None else _Reader(value, self._name(key))


@attrs.frozen
class AttributeValue:
    """One entry of ``AttributeList`` (a ``ServiceAttributeDefinition``).

    Attributes:
        id: the attribute id (``StorefrontAlias``, ``ResellerPlan``).
        value: the value entered, or a drop-down's display text.
        code: a drop-down's chosen code (``ResellerPlan_Standard``).
    """

    id: str
    value: str | None = None
    code: str | None = None


@attrs.frozen
class AccountRequest:
    """The parts of an ``AccountDefinition`` the service manager reads.

    Attributes:
        id: the platform's account id (the BSS account id).
        external_id: our id of the account, once ``Accounts/Synchronize`` returned it.
        name: the account's name.
        email: its email.
    """

    id: str | None = None
    external_id: str | None = None
    name: str | None = None
    email: str | None = None

    @property
    def account_id(self) -> str | None:
        """The id to act on: the platform's ``ID``, else our ``ExternalID`` (they are equal)."""
        return _present(self.id) or _present(self.external_id)


@attrs.frozen
class ServiceRequest:
    """The parts of a ``ServiceDefinition`` (body of ``Subscriptions/*``) the handler reads.

    Attributes:
        id: our subscription id (``Result`` of ``Create``); None on ``Create``.
        subscription_id: the platform's subscription id.
        product_id: the platform's product id.
        service_type: the product type id.
        action_type: the ``ActionType`` as sent (a hint only: routing is by path).
        quantity: the quantity.
        account: the buying account.
        attributes: ``AttributeList``, keyed by case-folded attribute id.
        billing_cycle: the billing cycle, when it could be read.
        check_only: the pre-check flag.
        requested_by: who asked, for logs and suspension reasons.
    """

    id: str | None = None
    subscription_id: str | None = None
    product_id: str | None = None
    service_type: str | None = None
    action_type: str | None = None
    quantity: int = 0
    account: AccountRequest | None = None
    attributes: Mapping[str, AttributeValue] = attrs.field(factory=dict)
    billing_cycle: BillingCycle | None = None
    check_only: bool = False
    requested_by: str | None = None

    def attribute(self, attribute_id: str) -> AttributeValue | None:
        """The attribute with that id (case-insensitive), or None."""
        return self.attributes.get(attribute_id.casefold())


def _storable(text: str, where: str) -> str:
    reason = unstorable(text)
    if reason is not None:
        raise UnstorableText(f"{where} holds {reason}, which cannot be stored: remove it")
    return text


def _is_number(text: str) -> bool:
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
    return 0 < len(text) < 19 and text.isascii() and text.isdigit()


def _present(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text or None


def parse_account_request(value: object, where: str = "") -> AccountRequest:
    """Read an ``AccountDefinition``.

    Raises:
        BadRequest: not an object, or a property we read has the wrong type.
    """
    reader = _Reader(value, where)
    return AccountRequest(
        id=_present(reader.text("ID")),
        external_id=_present(reader.text("ExternalID")),
        name=reader.text("Name"),
        email=reader.text("Email"),
    )


def _attribute_text(reader: _Reader, key: str) -> str | None:
    value = reader.raw(key)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    return reader.text(key)


def _attributes(reader: _Reader) -> dict[str, AttributeValue]:
    raw = reader.raw("AttributeList")
    if raw is None:
        return {}
    # The contract is an object keyed by attribute id; older senders used an array of attribute
    # objects carrying their ``ID``. Both are read.
    items: list[tuple[str | None, object, str]]
    if isinstance(raw, dict):
        items = [(key, item, f"AttributeList.{key}") for key, item in raw.items()]
    elif isinstance(raw, list):
        items = [(None, item, f"AttributeList[{i}]") for i, item in enumerate(raw)]
    else:
        raise BadRequest("AttributeList must be a JSON object keyed by attribute id")
    attributes: dict[str, AttributeValue] = {}
    for key, item, where in items:
        if item is None:
            continue
        entry = _Reader(item, where)
        attribute_id = _present(entry.text("ID")) or (key and _storable(key, where))
        if attribute_id is None:
            raise BadRequest(f"{where}.ID is required")
        attributes[attribute_id.casefold()] = AttributeValue(
            attribute_id, _attribute_text(entry, "Value"), _present(entry.text("Code"))
        )
    return attributes


def _billing_cycle(reader: _Reader) -> BillingCycle | None:
    cycle = reader.child("BillingCycle")
    if cycle is None:
        return None
    unit = (cycle.text("DurationType") or "").strip().casefold()
    duration_text = (cycle.text("Duration") or "1").strip()
    duration = int(duration_text) if _is_number(duration_text) else None
    if unit in _YEAR_WORDS and duration == 1:
        return BillingCycle.ANNUAL
    if unit in _MONTH_WORDS and duration == 12:
        return BillingCycle.ANNUAL
    if unit in _MONTH_WORDS and duration == 1:
        return BillingCycle.MONTHLY
    return None  # the platform does not document this vocabulary: the default


def _requested_by(reader: _Reader) -> str | None:
    who = reader.child("RequestedBy")
    if who is None:
        return None
    name = _present(who.text("DisplayName")) or _present(who.text("Email"))
    kind = _present(who.text("Type"))
    parts = [p for p in (name, f"in the {kind}" if kind else None) if p]
    return " ".join(parts) or None


def parse_service_request(value: object, *, check_only: bool = False) -> ServiceRequest:
    """Read a ``ServiceDefinition``.

    Args:
        value: the parsed body.
        check_only: the pre-check flag from the query string (``?checkonly=true``); the body's
            ``CheckOnly`` is honoured as well.

    Raises:
        BadRequest: not an object, or a property we read has the wrong type.
    """
    reader = _Reader(value, "")
    account = reader.raw("Account")
    return ServiceRequest(
        id=_present(reader.text("ID")),
        subscription_id=_present(reader.text("SubscriptionID")),
        product_id=_present(reader.text("ProductID")),
        service_type=_present(reader.text("ServiceType")),
        action_type=_present(reader.text("ActionType")),
        quantity=reader.integer("Quantity"),
        account=None if account is None else parse_account_request(account, "Account"),
        attributes=_attributes(reader),
        billing_cycle=_billing_cycle(reader),
        check_only=reader.flag("CheckOnly") or check_only,
        requested_by=_requested_by(reader),
    )


def parse_field_values(value: object) -> dict[str, object]:
    """Read a ``FieldCollection`` with values: field id (case-folded) → its raw JSON value.

    Raises:
        BadRequest: not an object, ``Fields`` not an array, or a field without an ``ID``.
    """
    reader = _Reader(value, "")
    fields = reader.raw("Fields")
    if fields is None:
        return {}
    if not isinstance(fields, list):
        raise BadRequest("Fields must be an array")
    values: dict[str, object] = {}
    for i, item in enumerate(fields):
        field = _Reader(item, f"Fields[{i}]")
        field_id = _present(field.text("ID"))
        if field_id is None:
            raise BadRequest(f"Fields[{i}].ID is required")
        values[field_id.casefold()] = field.raw("Value")
    return values
