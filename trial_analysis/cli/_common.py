"""Helpers shared by the sub-commands: JSON output; atomic writing (re-exported from ``_io``)."""

from __future__ import annotations

import json
from typing import Any

from .._io import atomic_write, check_writable
from ..results import to_jsonable

__all__ = ["atomic_write", "check_writable", "print_json"]  # the writers live in _io


def print_json(obj: Any) -> None:
    """Print ``obj`` (a result's ``to_dict()`` or plain data) as indented JSON."""
    print(json.dumps(to_jsonable(obj), indent=2, ensure_ascii=False))
