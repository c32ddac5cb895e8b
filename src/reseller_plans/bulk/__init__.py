"""Bulk upgrades: one reseller or ten thousand, resumable, with a report.

- :mod:`~reseller_plans.bulk.rows`: the rows, read from a CSV (BOM, CRLF, bad rows named);
- :mod:`~reseller_plans.bulk.outcomes`: what happened to each row, the same in both runs;
- :mod:`~reseller_plans.bulk.dry_run`: the dry run's prediction of the real run;
- :mod:`~reseller_plans.bulk.runner`: :class:`BulkUpgrade`, bounded concurrency, resumable.
"""

from reseller_plans.bulk.outcomes import BulkReport, RowOutcome, RowResult
from reseller_plans.bulk.rows import (
    RowProblem,
    UpgradeCsv,
    UpgradeRow,
    read_upgrade_csv,
    read_upgrade_rows,
)
from reseller_plans.bulk.runner import BulkUpgrade

__all__ = [
    "BulkReport",
    "BulkUpgrade",
    "RowOutcome",
    "RowProblem",
    "RowResult",
    "UpgradeCsv",
    "UpgradeRow",
    "read_upgrade_csv",
    "read_upgrade_rows",
]
