"""The gateway's event ids: UUIDv7, so the ledger's event_id index grows at its end."""

from __future__ import annotations

import re
import time
import uuid

from aifinops.gateway.capture import new_event_id


def test_an_event_id_is_a_uuid7_of_now() -> None:
    before = time.time_ns() // 1_000_000
    event_id = new_event_id()
    after = time.time_ns() // 1_000_000
    assert re.fullmatch(r"ev_[0-9a-f]{32}", event_id)
    value = uuid.UUID(hex=event_id[3:])
    assert value.version == 7 and value.variant == uuid.RFC_4122
    assert before <= int(event_id[3:15], 16) <= after  # the first 48 bits: Unix ms


def test_event_ids_sort_by_time_and_do_not_repeat() -> None:
    earlier = new_event_id()
    time.sleep(0.003)
    later = new_event_id()
    assert earlier < later
    ids = [new_event_id() for _ in range(100_000)]
    assert len(set(ids)) == len(ids)
    assert ids[-1] > earlier
