"""bench_ingest's CPU figures: read from /proc, so a loaded machine's wait is not in them."""

from __future__ import annotations

import os
import time

from api.management.commands.bench_ingest import _children, _cpu_seconds, _per_request_ms


def test_the_cpu_time_of_a_process_and_its_parents_children():
    """This process is a child of its parent; spinning 0.2 s of CPU raises its CPU time by
    at least 0.1 s (the clock ticks in hundredths); no process is "no figure", not 0; and
    2 s over 20 requests is 100 ms a request, by hand."""
    assert os.getpid() in _children(os.getppid())
    before = _cpu_seconds({os.getpid()})
    until = time.process_time() + 0.2
    while time.process_time() < until:
        pass
    assert _cpu_seconds({os.getpid()}) - before >= 0.1
    assert _cpu_seconds(set()) is None
    assert _per_request_ms(1.0, 3.0, 20) == 100.0
    assert _per_request_ms(None, 3.0, 20) == 150.0
    assert _per_request_ms(1.0, None, 20) is None
