"""Fail if any committed notebook carries outputs or execution counts (run by `make test`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def dirty_cells(path: Path) -> list[int]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    bad = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "code" and (
            cell.get("outputs") or cell.get("execution_count") is not None
        ):
            bad.append(i)
    return bad


def main(folder: str) -> int:
    failures = {p: dirty_cells(p) for p in sorted(Path(folder).glob("*.ipynb"))}
    failures = {p: c for p, c in failures.items() if c}
    for p, cells in failures.items():
        print(f"{p}: outputs or execution counts in cells {cells}; clear them before committing")
    if not failures:
        print(f"notebooks in {folder}/ carry no outputs")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "notebooks"))
