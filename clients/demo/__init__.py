"""A demo portal ("Cổng dịch vụ công") built only on the SDK's public API."""

from __future__ import annotations

from .app import create_app
from .settings import DemoSettings

__all__ = ["DemoSettings", "create_app"]
