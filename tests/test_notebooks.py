"""Every notebook runs top to bottom in a fresh kernel, and its key numbers appear in the report."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: notebooks about another trial than the Zang 2022 report, run and checked by their own test
CHECKED_ELSEWHERE = {"06_reconstruct_a_published_km_curve": "tests/test_survival_notebook.py"}
REPORT_NOTEBOOKS = [p for p in NOTEBOOKS if p.stem not in CHECKED_ELSEWHERE]

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


_FIGURE_TEXT = re.compile(r"^<(Trial)?Figure\b")
_PLOT_CALL = re.compile(r"(\bplot|_plot|design_timeline)\([^()]*\)\s*$")


def figure_cells_without_image(executed: Path) -> list[str]:
    """Code cells that show a figure as text (``<Figure size 1100x380 with 3 Axes>``) or end
    in a plot call without an ``image/png`` / ``image/svg+xml`` output."""
    book = nbformat.read(executed, as_version=4)
    bad = []
    for k, cell in enumerate(book.cells):
        if cell.cell_type != "code":
            continue
        data = [o.get("data", {}) for o in cell.outputs if "data" in o]
        images = any("image/png" in d or "image/svg+xml" in d for d in data)
        as_text = any(
            _FIGURE_TEXT.match(str(d.get("text/plain", "")))
            and not ("image/png" in d or "image/svg+xml" in d)
            for d in data
        )
        last = cell.source.strip().splitlines()[-1] if cell.source.strip() else ""
        if as_text or (_PLOT_CALL.search(last) and not images):
            bad.append(f"cell {k}: {last[:60]}")
    return bad


@pytest.fixture(scope="module")
def report_text(tmp_path_factory) -> str:
    from trial_analysis.report import build_report

    out = build_report("zang2022", out=tmp_path_factory.mktemp("rep") / "r.pdf")
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(str(out)).pages)
    return re.sub(r"\s+", " ", text)


def test_notebooks_are_numbered_and_all_checked():
    names = [p.stem for p in NOTEBOOKS]
    assert names[:1] == ["01_design_and_data"]
    assert [n[:2] for n in names] == [f"{i:02d}" for i in range(1, len(names) + 1)]
    assert set(CHECKED_ELSEWHERE) <= set(names)
    for test in CHECKED_ELSEWHERE.values():
        assert (ROOT / test).is_file()


@pytest.mark.parametrize("nb", REPORT_NOTEBOOKS, ids=[p.stem for p in REPORT_NOTEBOOKS])
def test_notebook_runs_and_matches_report(nb, tmp_path, report_text):
    executed = run_notebooks.run(nb.stem, tmp_path, {"seed": 20220503}, html=True)
    assert executed.with_suffix(".html").stat().st_size > 10_000
    assert figure_cells_without_image(executed) == [], nb.stem
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
