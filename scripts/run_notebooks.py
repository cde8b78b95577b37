"""Execute the notebooks top to bottom in a fresh kernel (papermill) and write HTML copies.

    python scripts/run_notebooks.py --out reports/notebooks [--no-html] [-p seed 7] [NAME ...]

Used by `make notebooks`; tests/test_notebooks.py calls :func:`run` too. Executed copies go to
``--out`` (never into notebooks/, which stays output-free in git).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def run(name: str, out_dir: Path, parameters: dict | None = None, html: bool = True) -> Path:
    """Execute ``notebooks/<name>.ipynb`` into ``out_dir``; return the executed notebook path."""
    from trial_analysis._optional import require

    pm = require("papermill", "notebooks", "executing notebooks")
    src = NOTEBOOKS / f"{Path(name).stem}.ipynb"
    out_dir.mkdir(parents=True, exist_ok=True)
    dest = out_dir / src.name
    params = {"output_dir": str(out_dir)} | dict(parameters or {})
    pm.execute_notebook(
        str(src),
        str(dest),
        parameters=params,
        kernel_name="python3",
        cwd=str(ROOT),
        progress_bar=False,
        log_output=False,
    )
    if html:
        from nbconvert import HTMLExporter

        body, _ = HTMLExporter().from_filename(str(dest))
        dest.with_suffix(".html").write_text(body, encoding="utf-8")
    return dest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("names", nargs="*", help="notebook names (default: all in notebooks/)")
    ap.add_argument("--out", default="reports/notebooks", help="output folder")
    ap.add_argument("--no-html", action="store_true", help="skip the HTML copies")
    ap.add_argument(
        "-p",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        default=[],
        help="override a parameter (value parsed as int/float when it looks like one)",
    )
    args = ap.parse_args(argv)
    params = {}
    for k, v in args.p:
        for cast in (int, float):
            try:
                v = cast(v)
                break
            except ValueError:
                continue
        params[k] = v
    names = args.names or [p.stem for p in sorted(NOTEBOOKS.glob("*.ipynb"))]
    for name in names:
        t0 = time.perf_counter()
        dest = run(name, Path(args.out), params, html=not args.no_html)
        print(f"{name}: executed in {time.perf_counter() - t0:.1f} s -> {dest}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
