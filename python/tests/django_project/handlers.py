"""The alert handler the test project configures: keeps every alert for the tests to see."""

from __future__ import annotations

import threading
import time
from typing import Callable, List

import siem

received: List[siem.Alert] = []
_cond = threading.Condition()


def collect(alert: siem.Alert) -> None:
    with _cond:
        received.append(alert)
        _cond.notify_all()


def wait_for(predicate: Callable[[siem.Alert], bool], timeout: float = 15.0) -> List[siem.Alert]:
    """The received alerts that satisfy ``predicate``, waiting up to ``timeout`` seconds for
    the first one."""
    deadline = time.monotonic() + timeout
    with _cond:
        while True:
            found = [a for a in received if predicate(a)]
            remaining = deadline - time.monotonic()
            if found or remaining <= 0:
                return found
            _cond.wait(remaining)
