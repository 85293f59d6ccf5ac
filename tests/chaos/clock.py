"""The run's clock (seconds since its start) and its progress lines."""

import threading
import time
from dataclasses import dataclass, field


@dataclass
class Clock:
    # Wall time, not monotonic: orders carry wall-clock timestamps (`updated_at`) that
    # are converted to the run's seconds.
    started: float = field(default_factory=time.time)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        return time.time() - self.started

    def since_start(self, wall: float) -> float:
        return wall - self.started

    def say(self, message: str) -> None:
        with self._lock:  # one line at a time from the buyers, kills and forgeries
            print(f"[chaos {self.now():6.1f}s] {message}", flush=True)
