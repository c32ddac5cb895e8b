"""JSON Patch operations, as the BSS takes them on ``PATCH /api/accounts/{id}``.

A document is a list of ``{"op", "path", "value"}``; patchable paths are the create-DTO
properties, and ``remove`` resets a property to its default.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["PatchOperation"]

_OPS = frozenset({"add", "remove", "replace", "move", "copy", "test"})


def _json_pointer(_instance: object, _attribute: object, value: str) -> None:
    if not isinstance(value, str) or not value.startswith("/"):
        raise ValueError(f"a JSON Patch path is a JSON pointer starting with '/', got {value!r}")


@attrs.frozen
class PatchOperation:
    """One JSON Patch operation.

    Attributes:
        op: ``add``, ``remove``, ``replace``, ``move``, ``copy`` or ``test``.
        path: a JSON pointer (``/resellerPlan``).
        value: the value, for the operations that take one.
    """

    op: str = attrs.field(validator=attrs.validators.in_(_OPS))
    path: str = attrs.field(validator=_json_pointer)
    value: Any = None

    @classmethod
    def replace(cls, path: str, value: Any) -> PatchOperation:
        """A ``replace`` of ``path`` with ``value``.

        Args:
            path: the JSON pointer.
            value: the new value.

        Returns:
            The operation.
        """
        return cls("replace", path, value)

    def to_wire(self) -> dict[str, Any]:
        """The operation as JSON.

        Returns:
            ``{"op", "path"}`` plus ``"value"`` unless the operation is ``remove``.
        """
        wire: dict[str, Any] = {"op": self.op, "path": self.path}
        if self.op != "remove":
            wire["value"] = self.value
        return wire
