"""Make the compact copy of the CDISC pilot ADaM data that the project ships (data/cdiscpilot01/adam/).

Run from the repository root, with the shared data beside it:

    python data/cdiscpilot01/make_extract.py [../shared/data/cdiscpilot01]

* ``adsl.xpt`` is copied byte for byte (SAS transport v5, 155 kB);
* ``adlb.xpt`` (9.8 MB) is written as ``adlb.parquet``: every row and every column, values
  unchanged (Parquet compresses the repeated ADaM columns to about 0.4 MB). The tests check
  that the two forms load to the same frames.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pyreadstat


def main(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / "adsl.xpt", target / "adsl.xpt")
    adlb, _ = pyreadstat.read_xport(str(source / "adlb.xpt"))
    tmp = target / "adlb.parquet.tmp"
    adlb.to_parquet(tmp, index=False)
    tmp.replace(target / "adlb.parquet")
    shutil.copyfile(source / "README.md", target / "SOURCE.md")


if __name__ == "__main__":
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/data/cdiscpilot01")
    main(src, Path(__file__).resolve().parent / "adam")
