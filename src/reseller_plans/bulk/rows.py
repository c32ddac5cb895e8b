"""The rows of a bulk run and how they are read from a CSV.

A CSV has the columns ``account``, ``plan`` and ``alias`` (any order, any case) and an optional
``key``; other columns are ignored, so a report written by ``reseller-plans upgrade --csv`` can be
fed back in as input. The file may start with a byte-order mark (Excel's "CSV UTF-8") and its
lines may end in CRLF. A cell that a report neutralised against spreadsheet formulas (a leading
``'`` before ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is read back as it was.

A missing column makes the whole file unreadable; a bad row is a :class:`RowProblem` with its line
number, and the other rows still run unless the caller is strict.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import attrs

from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.errors import InvalidInput
from reseller_plans.domain.plans import Plan

__all__ = [
    "FORMULA_TRIGGERS",
    "REQUIRED_COLUMNS",
    "RowProblem",
    "UpgradeCsv",
    "UpgradeRow",
    "read_upgrade_csv",
    "read_upgrade_rows",
]

REQUIRED_COLUMNS = ("account", "plan", "alias")

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP's list)."""


@attrs.frozen
class UpgradeRow:
    """One upgrade to make.

    Attributes:
        line: where it came from (the CSV line number; 0 for rows built in code).
        account_id: the reseller account.
        plan: the plan to move it to.
        alias: its Storefront Alias (None when it keeps its own, Free → Standard).
        key: the idempotency key of this row.
    """

    line: int
    account_id: str
    plan: Plan
    alias: str | None
    key: str

    @classmethod
    def of(cls, account_id: str, plan: Plan | str, alias: str | None, line: int = 0) -> UpgradeRow:
        """A row with its key derived from its content."""
        target = Plan.parse(plan)
        key = f"bulk:{account_id}:{target.value}:{(alias or '').strip().lower()}"
        return cls(line, account_id, target, alias, key)


@attrs.frozen
class RowProblem:
    """A row of the CSV that cannot be run as written.

    Attributes:
        line: its line number in the file.
        account_id: the account cell as written (may be empty).
        message: what is wrong with it.
    """

    line: int
    account_id: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@attrs.frozen
class UpgradeCsv:
    """What a CSV holds: the rows that can run, and the ones that cannot, each in file order."""

    rows: tuple[UpgradeRow, ...]
    problems: tuple[RowProblem, ...] = ()


def read_upgrade_csv(source: str | Path | io.TextIOBase) -> UpgradeCsv:
    """Read a bulk run's CSV, keeping the good rows and naming the bad ones.

    Args:
        source: a path, or an open text stream.

    Returns:
        The rows, and a problem (with its line number) for each row that cannot run: an empty
        account, an unknown plan, Basic, an invalid alias, more fields than columns, or the same
        row (the same idempotency key) as an earlier line.

    Raises:
        InvalidInput: the file cannot be read as such a CSV: a required column is missing (the
            message names the columns found), or it is not UTF-8.
    """
    if isinstance(source, str | Path):
        try:
            # utf-8-sig drops the byte-order mark Excel writes; newline="" lets csv see CRLF
            with open(source, newline="", encoding="utf-8-sig") as handle:
                text = handle.read()
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"{source}: not UTF-8 text ({exc.reason})") from None
        return read_upgrade_csv(io.StringIO(text, newline=""))
    reader = csv.DictReader(source)
    found = [c.strip().lstrip("\ufeff").strip().lower() for c in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in found]
    if missing:
        shown = ", ".join(found) if any(found) else "none"
        raise InvalidInput(
            f"line 1: the CSV needs the columns {', '.join(missing)}; the columns found: {shown}"
        )
    reader.fieldnames = found
    rows: list[UpgradeRow] = []
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        account = _cell(record.get("account"))
        row_or_problem = _row(line, account, record)
        if isinstance(row_or_problem, str):
            problems.append(RowProblem(line, account, row_or_problem))
            continue
        row = row_or_problem
        if row.key in seen:
            problems.append(RowProblem(line, account, f"the same row as line {seen[row.key]}"))
            continue
        seen[row.key] = line
        rows.append(row)
    return UpgradeCsv(tuple(rows), tuple(problems))


def read_upgrade_rows(source: str | Path | io.TextIOBase) -> list[UpgradeRow]:
    """Read the rows of a CSV, strictly: any bad row refuses the whole file.

    Raises:
        InvalidInput: a missing column, or every bad row with its line number.
    """
    read = read_upgrade_csv(source)
    if read.problems:
        raise InvalidInput("malformed CSV: " + "; ".join(str(p) for p in read.problems))
    return list(read.rows)


def _cell(value: str | list[str] | None) -> str:
    if not isinstance(value, str):
        return ""
    value = value.strip()
    # undo a report's formula neutralisation, so a report fed back in means the same rows
    if value[:1] == "'" and value[1:2] in FORMULA_TRIGGERS and value[1:2] != "":
        return value[1:]
    return value


def _row(
    line: int, account: str, record: dict[str | None, str | list[str] | None]
) -> UpgradeRow | str:
    """The row of a record, or what is wrong with it."""
    if None in record:
        return "more fields than columns"
    if not account:
        return "the account is empty"
    alias = _cell(record.get("alias")) or None
    try:
        row = UpgradeRow.of(account, _cell(record.get("plan")), alias, line)
        if alias is not None:
            StorefrontAlias.parse(alias)
    except InvalidInput as exc:
        return str(exc)
    if row.plan is Plan.BASIC:
        return "Basic is not an upgrade"
    key = _cell(record.get("key"))
    return attrs.evolve(row, key=key) if key else row
