"""One of two processes racing over a shared SQL store: ``python delivery_racer.py '<json>'``.

It opens the store, reads what it needs before the race (the cursors it will move from), writes
its ``ready`` file, waits for the ``go`` file, then for each of ``keys`` keys makes one atomic
write in a unit of work of its own, holding the transaction ``hold`` seconds after it so that
the other process's write meets it:

- ``claim``: ``claim_delivery("crm", "e<i>", owner, now=now, until=now + 1 minute)``;
- ``ingest``: ``ingest_deliveries("ep<i>", [e1, e2], was=<the cursor read before>,
  now=FeedCursor("<owner>@ep<i>", …))``, both bodies the owner's name.

It writes the keys it won (``e<i>`` or ``ep<i>``) to ``result`` as JSON. The settings:
``store`` (``{"kind": "sqlite", "path": …}`` or ``{"kind": "postgres", "dsn": …, "schema":
…}``), ``operation``, ``owner``, ``keys``, ``now`` (ISO 8601), ``go``, ``ready``, ``result``,
``hold``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any, cast

from reseller_plans.delivery_log import DeliveryLog, FeedCursor, StoredDelivery
from reseller_plans.domain.deliveries import DeliveryRecord
from reseller_plans.ports import Store
from reseller_plans.stores.postgres import PostgresStore
from reseller_plans.stores.sqlite import SQLiteStore


def open_store(spec: dict[str, Any]) -> Store:
    if spec["kind"] == "sqlite":
        return SQLiteStore(spec["path"])
    return PostgresStore(spec["dsn"], schema=spec["schema"])


def wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"no {path} after {timeout}s")
        time.sleep(0.001)


def main(settings: dict[str, Any]) -> None:
    store = open_store(settings["store"])
    owner, hold = settings["owner"], float(settings["hold"])
    now = dt.datetime.fromisoformat(settings["now"])
    keys = range(int(settings["keys"]))
    with store.unit_of_work() as uow:
        was = {i: cast("DeliveryLog", uow).feed_cursor(f"ep{i}") for i in keys}
    Path(settings["ready"]).touch()
    wait_for(Path(settings["go"]))
    won: list[str] = []
    for i in keys:
        with store.unit_of_work() as uow:
            log = cast("DeliveryLog", uow)
            if settings["operation"] == "claim":
                claimed = log.claim_delivery("crm", f"e{i}", owner, now=now,
                                             until=now + dt.timedelta(minutes=1))  # fmt: skip
                if claimed is not None:
                    won.append(f"e{i}")
            else:
                endpoint, start = f"ep{i}", was[i]
                records = [DeliveryRecord(endpoint, f"e{n}", "sub_1", start.ingested + n)
                           for n in (1, 2)]  # fmt: skip
                deliveries = [StoredDelivery(record, owner.encode()) for record in records]
                moved = FeedCursor(f"{owner}@{endpoint}", start.ingested + 2)
                if log.ingest_deliveries(endpoint, deliveries, was=start, now=moved):
                    won.append(endpoint)
            time.sleep(hold)  # still in the transaction: the other process meets it
    Path(settings["result"]).write_text(json.dumps(won))
    store.close()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
