"""Reading JSON the backend sent, defensively.

The platform documents few of its response members (``docs/adapters.md``, "The wire
configuration"), so every read names what it expected and where: a missing member or a wrong
type raises :class:`MalformedResponse` with that context, never ``KeyError``, ``TypeError`` or
``ValueError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from reseller_plans.domain.errors import OutcomeUnknown
from reseller_plans.http.errors import MalformedResponse, request_id_of

__all__ = ["Payload", "wire_id"]

_MISSING = object()
_T = TypeVar("_T")


class Payload:
    """A JSON object from a response, with typed reads that fail as :class:`MalformedResponse`.

    Args:
        data: the parsed JSON value (checked to be an object).
        context: what it is, for messages (``"BSS GET /api/accounts/7"``).
        headers: the response headers, to carry the request id into errors.
        status: the response status, carried into errors.
        write: it answers a write: what we cannot read is ``OutcomeUnknown`` (it may have
            acted), not ``MalformedResponse``.
    """

    __slots__ = ("_data", "_headers", "context", "status", "write")

    def __init__(
        self,
        data: object,
        context: str,
        *,
        headers: Mapping[str, str] | None = None,
        status: int | None = None,
        write: bool = False,
    ) -> None:
        self.write = write
        self.context = context
        self._headers = headers
        self.status = status
        if not isinstance(data, Mapping):
            raise self.malformed(f"expected a JSON object, got {_kind(data)}")
        self._data: Mapping[str, Any] = data

    @property
    def request_id(self) -> str | None:
        """The backend's request id, if the response carried one."""
        return request_id_of(self._headers) if self._headers is not None else None

    @property
    def raw(self) -> Mapping[str, Any]:
        """The underlying JSON object."""
        return self._data

    def malformed(self, what: str) -> MalformedResponse | OutcomeUnknown:
        """An error saying what is wrong with this payload.

        Args:
            what: the problem in words.

        Returns:
            The error (not raised): ``OutcomeUnknown`` for the answer to a write.
        """
        cls = OutcomeUnknown if self.write else MalformedResponse
        return cls(
            f"{self.context}: malformed response: {what}",
            status=self.status,
            request_id=self.request_id,
        )

    def _first(self, names: Sequence[str]) -> tuple[str, object]:
        for name in names:
            value = self._data.get(name, _MISSING)
            if value is not _MISSING and value is not None:
                return name, value
        return names[0], _MISSING

    def has(self, *names: str) -> bool:
        """Whether any of ``names`` is present and not null.

        Args:
            *names: member names.

        Returns:
            True when one of them has a value.
        """
        return self._first(names)[1] is not _MISSING

    def text(self, *names: str, default: str | None = None) -> str:
        """The first present member of ``names`` as text; ids that are numbers become text.

        Args:
            *names: member names, the first present wins.
            default: returned when none is present; None makes the member required.

        Returns:
            The value as a string.

        Raises:
            MalformedResponse: required and missing, or neither a string nor a number.
        """
        name, value = self._first(names)
        if value is _MISSING:
            return self._absent(name, default)
        return self._as_text(name, value)

    def optional_text(self, *names: str) -> str | None:
        """Like :meth:`text` but None when absent.

        Args:
            *names: member names, the first present wins.

        Returns:
            The value as a string, or None.

        Raises:
            MalformedResponse: present but neither a string nor a number.
        """
        name, value = self._first(names)
        return None if value is _MISSING else self._as_text(name, value)

    def _absent(self, name: str, default: _T | None) -> _T:
        # The one rule for a member that is not there: a default makes it optional.
        if default is None:
            raise self.malformed(f"member {name!r} is missing")
        return default

    def _as_text(self, name: str, value: object) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.malformed(f"member {name!r} should be text, got {_kind(value)}")
        return str(value)

    def flag(self, *names: str, default: bool | None = None) -> bool:
        """The first present member of ``names`` as a boolean (``true``/``"true"``).

        Args:
            *names: member names, the first present wins.
            default: returned when none is present; None makes the member required.

        Returns:
            The boolean.

        Raises:
            MalformedResponse: required and missing, or not a boolean.
        """
        name, value = self._first(names)
        if value is _MISSING:
            return self._absent(name, default)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise self.malformed(f"member {name!r} should be a boolean, got {_kind(value)}")

    def integer(self, *names: str, default: int | None = None) -> int:
        """The first present member of ``names`` as an integer.

        Args:
            *names: member names, the first present wins.
            default: returned when none is present; None makes the member required.

        Returns:
            The integer.

        Raises:
            MalformedResponse: required and missing, or not an integer.
        """
        name, value = self._first(names)
        if value is _MISSING:
            return self._absent(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.malformed(f"member {name!r} should be an integer, got {_kind(value)}")
        return value

    def number(self, *names: str, default: float | None = None) -> float:
        """The first present member of ``names`` as a number.

        Args:
            *names: member names, the first present wins.
            default: returned when none is present; None makes the member required.

        Returns:
            The number.

        Raises:
            MalformedResponse: required and missing, or not a number.
        """
        name, value = self._first(names)
        if value is _MISSING:
            return self._absent(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.malformed(f"member {name!r} should be a number, got {_kind(value)}")
        return float(value)

    def obj(self, *names: str, required: bool = True) -> Payload | None:
        """The first present member of ``names`` as a nested object.

        Args:
            *names: member names, the first present wins.
            required: raise when absent (else return None).

        Returns:
            The nested object, or None when absent and not required.

        Raises:
            MalformedResponse: required and missing, or not an object.
        """
        name, value = self._first(names)
        if value is _MISSING:
            if required:
                raise self.malformed(f"member {name!r} is missing")
            return None
        return Payload(value, f"{self.context} {name}", headers=self._headers, status=self.status,
                       write=self.write)  # fmt: skip

    def items(self, *names: str, required: bool = True) -> list[Payload]:
        """The first present member of ``names`` as a list of objects.

        Args:
            *names: member names, the first present wins.
            required: raise when absent (else return an empty list).

        Returns:
            One payload per element.

        Raises:
            MalformedResponse: required and missing, not a list, or an element not an object.
        """
        name, value = self._first(names)
        if value is _MISSING:
            if required:
                raise self.malformed(f"member {name!r} is missing")
            return []
        if not isinstance(value, list):
            raise self.malformed(f"member {name!r} should be a list, got {_kind(value)}")
        return [
            Payload(item, f"{self.context} {name}[{index}]", headers=self._headers,
                    status=self.status, write=self.write)
            for index, item in enumerate(value)
        ]  # fmt: skip

    def strings(self, *names: str) -> list[str]:
        """The first present member of ``names`` as a list of texts (absent: empty).

        Args:
            *names: member names, the first present wins.

        Returns:
            The texts.

        Raises:
            MalformedResponse: not a list of strings.
        """
        name, value = self._first(names)
        if value is _MISSING:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.malformed(f"member {name!r} should be a list of strings")
        return list(value)


def wire_id(value: str, *, numeric: bool = True) -> str | int:
    """An id as it goes into a JSON body.

    Args:
        value: the id as we keep it (text).
        numeric: send an id made only of digits as a JSON number (the platform's ids are ints).

    Returns:
        An int for an all-digit id when ``numeric``, else the text.
    """
    if numeric and value.isascii() and value.isdigit():
        return int(value)
    return value


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__
