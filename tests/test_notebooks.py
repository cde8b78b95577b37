"""Every notebook runs top to bottom in a fresh kernel, and its key numbers appear in the report."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

pytest.importorskip("papermill")
nbformat = pytest.importorskip("nbformat")
pypdf = pytest.importorskip("pypdf")

_spec = importlib.util.spec_from_file_location(
    "run_notebooks", ROOT / "scripts" / "run_notebooks.py"
)
run_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_notebooks)

pytestmark = [pytest.mark.notebooks, pytest.mark.slow]


def key_numbers(executed: Path) -> dict:
    """The JSON printed by the cell tagged ``key-numbers``."""
    book = nbformat.read(executed, as_version=4)
    for cell in book.cells:
        if "key-numbers" in cell.metadata.get("tags", []):
            text = "".join(
                o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream"
            )
            return json.loads(text.strip().splitlines()[-1])
    raise AssertionError(f"{executed.name}: no cell tagged 'key-numbers'")


@pytest.fixture(scope="module")
def report_text(tmp_path_factory) -> str:
    from trial_analysis.report import build_report

    out = build_report("zang2022", out=tmp_path_factory.mktemp("rep") / "r.pdf")
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(str(out)).pages)
    return re.sub(r"\s+", " ", text)


def test_there_are_five_notebooks():
    names = [p.stem for p in NOTEBOOKS]
    assert names[:1] == ["01_design_and_data"]


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_matches_report(nb, tmp_path, report_text):
    executed = run_notebooks.run(nb.stem, tmp_path, {"seed": 20220503}, html=True)
    assert executed.with_suffix(".html").stat().st_size > 10_000
    numbers = key_numbers(executed)
    assert numbers, "no key numbers recorded"
    for name, value in numbers.items():
        values = value if isinstance(value, list) else [value]
        for v in values:
            assert str(v) in report_text, f"{nb.stem}: {name} = {v} not in the PDF report"


def test_committed_notebooks_carry_no_outputs():
    from tests.tools.check_notebooks import dirty_cells

    for nb in NOTEBOOKS:
        assert dirty_cells(nb) == [], nb.name
