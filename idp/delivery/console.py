"""Development delivery: the code goes to the log and to `outbox.jsonl` in the data folder,
where a developer (or an end-to-end test) reads it instead of waiting for a phone."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from idp.clock import Clock
from idp.delivery.errors import DeliveryFailed
from idp.delivery.message import Message

log = logging.getLogger("idp.delivery")

OUTBOX_FILE = "outbox.jsonl"


def iso_utc(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ConsoleSender:
    """Writes each message as one JSON line. Never for production: the code is in clear."""

    def __init__(self, data_dir: Path, clock: Clock) -> None:
        self.path = data_dir / OUTBOX_FILE
        self._clock = clock

    def send(self, message: Message) -> None:
        line = (
            json.dumps(
                {
                    "to": message.to,
                    "channel": message.channel,
                    "purpose": message.purpose,
                    "code": message.code,
                    "text": message.text,
                    "at": iso_utc(self._clock.now()),
                },
                ensure_ascii=False,
            )
            + "\n"
        )
        log.warning(
            "development delivery (%s, %s) to %s: %s", message.channel, message.purpose, message.to, message.text
        )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._append(line.encode("utf-8"))
        except OSError as exc:
            raise DeliveryFailed(f"cannot append to {self.path}: {exc.strerror}", retryable=True) from None

    def _append(self, data: bytes) -> None:
        """One write on an O_APPEND descriptor: the kernel places it at the end in one piece, so two
        provider processes writing at once never interleave their lines."""
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            written = os.write(fd, data)
        finally:
            os.close(fd)
        if written != len(data):
            raise OSError(0, f"short write ({written} of {len(data)} bytes)")
