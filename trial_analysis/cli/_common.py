"""Helpers shared by the sub-commands: JSON output and writing files atomically."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..results import to_jsonable

__all__ = ["atomic_write", "print_json"]


def print_json(obj: Any) -> None:
    """Print ``obj`` (a result's ``to_dict()`` or plain data) as indented JSON."""
    print(json.dumps(to_jsonable(obj), indent=2, ensure_ascii=False))


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` then rename onto ``path``: never a half-written file.

    The temporary file sits in the destination folder so the rename is atomic.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp creates 0600; give the usual file mode
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
    return path
