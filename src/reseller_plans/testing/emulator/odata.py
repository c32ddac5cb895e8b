"""The ``$filter`` subset the emulator understands: ``field eq value`` clauses joined by
``and``, with quoted strings (quotes doubled inside), numbers and ``true``/``false``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from reseller_plans.testing.emulator.errors import EmulatorError

__all__ = ["matches", "parse_filter"]

Clause = tuple[str, str]


def parse_filter(expression: str) -> list[Clause]:
    """The ``(field, value)`` clauses of a filter.

    Raises:
        EmulatorError: 400 for a filter outside the subset.
    """
    clauses = []
    for clause in _split_and(expression):
        parts = clause.split(None, 2)
        if len(parts) != 3 or parts[1].lower() != "eq":
            raise EmulatorError(400, f"Unsupported $filter clause {clause!r}.")
        field, _, literal = parts
        if literal.startswith("'") and literal.endswith("'") and len(literal) >= 2:
            value = literal[1:-1].replace("''", "'")
        else:
            value = literal.lower() if literal.lower() in ("true", "false") else literal
        clauses.append((field, value))
    return clauses


def _split_and(expression: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    tokens = expression.split(" ")
    for token in tokens:
        if not quoted and token.lower() == "and":
            parts.append(" ".join(current).strip())
            current = []
            continue
        current.append(token)
        quoted ^= token.count("'") % 2 == 1
    parts.append(" ".join(current).strip())
    if any(not p for p in parts):
        raise EmulatorError(400, f"Malformed $filter {expression!r}.")
    return parts


def matches(
    row: Mapping[str, Any],
    clauses: list[Clause],
    fields: Mapping[str, Callable[[Mapping[str, Any]], object]] | None = None,
) -> bool:
    """Whether ``row`` satisfies every clause; ``fields`` reads a field that is not a member of
    the row as it is (``accountId`` of a subscription is ``account.id``)."""
    for field, value in clauses:
        read = (fields or {}).get(field)
        actual = read(row) if read else row.get(field)
        if isinstance(actual, bool):
            if ("true" if actual else "false") != value:
                return False
        elif actual is None or str(actual) != value:
            return False
    return True
