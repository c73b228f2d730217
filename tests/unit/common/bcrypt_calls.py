"""Instruments the real bcrypt check of the shared basic auth
(``ghost_common.webconfig.auth._checkpw``): which hashes it was asked to check, and the most
checks that ran at once. Tests assert on these, never on how long a check took."""

from __future__ import annotations

import threading
import time

import pytest

from ghost_common.webconfig import auth


class CheckpwCalls:
    """Wraps the real function: every call still runs bcrypt."""

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self.hashes: list[bytes] = []
        self.running = 0
        self.peak = 0
        self._real = auth._checkpw
        self._lock = threading.Lock()

    def __call__(self, password: bytes, hashed: bytes) -> bool:
        with self._lock:
            self.hashes.append(hashed)
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            if self.hold:
                time.sleep(self.hold)  # widens the window in which unbounded checks would overlap
            return self._real(password, hashed)
        finally:
            with self._lock:
                self.running -= 1


def instrument_checkpw(monkeypatch: pytest.MonkeyPatch, hold: float = 0.0) -> CheckpwCalls:
    """Replace the check for the rest of the test (monkeypatch puts the real one back)."""
    calls = CheckpwCalls(hold)
    monkeypatch.setattr(auth, "_checkpw", calls)
    return calls
