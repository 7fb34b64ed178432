"""`Bounded`: a dict that keeps at most `size` entries, the oldest leaving first.

For what the JWT code keeps per header: the headers read before a signature is checked
(`jwts`) and the header segments tokens are signed with (`encoding`). A dict, so a read is
`dict.get` in C on the hot path; `keep` takes a lock, since worker threads verify and sign too.
"""

from __future__ import annotations

import threading
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Bounded(dict[K, V]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self._lock = threading.Lock()

    def keep(self, key: K, value: V) -> None:
        with self._lock:
            if key not in self and len(self) >= self.size:
                del self[next(iter(self))]
            self[key] = value
