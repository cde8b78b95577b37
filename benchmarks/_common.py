"""Helpers shared by the benchmark scripts (run as ``python benchmarks/<name>.py``)."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The shortest of ``repeat`` wall-clock timings of ``fn()`` (seconds) and its last result."""
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def machine() -> str:
    """One line describing the machine and the numeric stack, printed with every benchmark."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    load = ""
    if hasattr(os, "getloadavg"):
        load = f", load average {os.getloadavg()[0]:.2f}"
    return (
        f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} logical CPUs{load}; "
        f"Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}"
    )


_R_GLS_LOOP = r"""
suppressPackageStartupMessages(library(nlme))
d <- read.csv("{csv}")
d <- d[!is.na(d$y), ]
d$visit <- factor(d$visit); d$arm <- factor(d$arm, levels = c("UC-MSC", "Placebo"))
d$vi <- as.integer(d$visit)
el <- 0
for (r in unique(d$rep)) {
  s <- d[d$rep == r, ]; s$subject <- factor(s$subject); s <- s[order(s$subject, s$vi), ]
  el <- el + system.time(gls(y ~ visit * arm + visit * base, data = s,
    correlation = corSymm(form = ~ vi | subject), weights = varIdent(form = ~ 1 | visit),
    method = "REML"))[["elapsed"]]
}
cat(sprintf("%.6f\n", el))
"""


def run_rscript(
    code: str,
    timeout: float,
    data: Mapping[str, pd.DataFrame] | None = None,
    args: Sequence[str] = (),
) -> list[str] | str:
    """Run the R script ``code`` by ``Rscript`` (each ``{name}`` in it replaced by the path of
    a CSV file of ``data[name]``, ``args`` on its command line): the whitespace-separated
    fields it printed, or why it could not run (no Rscript, timed out, the end of R's error)."""
    if shutil.which("Rscript") is None:
        return "Rscript not found"
    with tempfile.TemporaryDirectory() as tmp:
        for name, frame in (data or {}).items():
            csv = Path(tmp) / f"{name}.csv"
            frame.to_csv(csv, index=False)
            code = code.replace("{" + name + "}", str(csv))
        script = Path(tmp) / "script.R"
        script.write_text(code)
        try:
            out = subprocess.run(
                ["Rscript", str(script), *args],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=True,
            )
        except subprocess.TimeoutExpired:
            return f"timed out after {timeout:.0f} s"
        except subprocess.CalledProcessError as exc:
            return f"R failed: {exc.stderr.strip()[-200:]}"
        return out.stdout.split()


def r_gls_loop(d: pd.DataFrame, timeout: float) -> float | str:
    """Seconds R `nlme::gls` (unstructured, REML) takes to fit every replicate of ``d``
    (columns rep, subject, visit, arm, base, y; rows with a missing y dropped), one fit per
    replicate as an R user would loop; or why it could not run."""
    out = run_rscript(_R_GLS_LOOP, timeout, {"csv": d})
    return out if isinstance(out, str) else float(out[0])
