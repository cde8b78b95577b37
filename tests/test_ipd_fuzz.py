"""Property-based fuzzing of the IPD loader (hypothesis).

Valid files (the shipped synthetic cohort) are corrupted at random; whatever the corruption,
only :class:`DataValidationError` may come out, and for a corrupted cell it must name the
spreadsheet row and the column of that cell.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trial_analysis._paths import trial_dir
from trial_analysis.errors import DataValidationError
from trial_analysis.ipd import load_ipd

SHIPPED = trial_dir("zang2022") / "synthetic"
TEXT = {
    name: (SHIPPED / f"{name}.csv").read_text(encoding="utf-8")
    for name in ("subjects", "measurements")
}
GRID = {name: list(csv.reader(io.StringIO(t))) for name, t in TEXT.items()}

COMMON_BAD_NUMBERS = ["abc", "nan", "inf", "-inf", "7,5", "12-Mar", "2015-10-01", "-1e9", "1e400"]
# Values that are wrong in the column itself, whatever the other columns hold.
BAD = {
    "subjects": {
        "USUBJID": [""],
        "ARM": ["", "Foo", "placebo", "UC MSC"],
        "AGE": ["", *COMMON_BAD_NUMBERS],
        "SEX": ["", "X", "male"],
        "WEIGHT": ["", "10", "900", *COMMON_BAD_NUMBERS],
        "BMI": COMMON_BAD_NUMBERS,
        "DURDIAB": COMMON_BAD_NUMBERS,
        "RANDFL": ["", "y", "X", "1"],
        "SAFFL": ["", "y", "X", "1"],
        "ITTFL": ["", "y", "X", "1"],
        "PPROTFL": ["", "y", "X", "1"],
        "INF1WK": ["abc", "3", "4.5", "-4", "inf"],
        "INF2WK": ["abc", "3", "4.5", "-4", "inf"],
        "INF2DT": ["abc", "42370", "2015-13-01", "12/03/2016", "1999-01-01"],
        "INF1DOSE": COMMON_BAD_NUMBERS,
        "INF3DOSE": COMMON_BAD_NUMBERS,
    },
    "measurements": {
        "USUBJID": ["", "NOBODY-001"],
        "PARAMCD": ["", "HbA1c", "XYZ"],
        "AVISITN": ["", "5", "4.5", "-1", "abc", "inf"],
        "AVAL": ["", "1e6", *COMMON_BAD_NUMBERS],
        "BASE": COMMON_BAD_NUMBERS,
        "CHG": COMMON_BAD_NUMBERS,
        "PCHG": COMMON_BAD_NUMBERS,
    },
}
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _write(folder: Path, grids: dict[str, list[list[str]]] | None = None, raw=None) -> None:
    for name in ("subjects", "measurements"):
        if raw and name in raw:
            (folder / f"{name}.csv").write_bytes(raw[name])
            continue
        rows = (grids or GRID)[name]
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        (folder / f"{name}.csv").write_text(buf.getvalue(), encoding="utf-8")


def _load_expecting_error(folder: Path) -> list:
    try:
        load_ipd(folder, design="zang2022")
    except DataValidationError as exc:
        assert exc.problems
        assert str(exc).startswith(f"{len(exc.problems)} problem")
        return exc.problems
    raise AssertionError("corrupted data loaded without a DataValidationError")


@st.composite
def cell_corruption(draw):
    table = draw(st.sampled_from(["subjects", "measurements"]))
    column = draw(st.sampled_from(sorted(BAD[table])))
    value = draw(st.sampled_from(BAD[table][column]))
    n = len(GRID[table]) - 1
    i = draw(st.integers(min_value=0, max_value=n - 1))
    return table, column, value, i


@FUZZ
@given(cell_corruption())
def test_corrupted_cell_is_named_by_row_and_column(corruption):
    table, column, value, i = corruption
    grids = {k: [list(r) for r in v] for k, v in GRID.items()}
    j = grids[table][0].index(column)
    if grids[table][i + 1][j] == value:
        return  # not a corruption
    grids[table][i + 1][j] = value
    with tempfile.TemporaryDirectory() as tmp:
        _write(Path(tmp), grids)
        problems = _load_expecting_error(Path(tmp))
    hits = [p for p in problems if p.row == i + 2 and p.column == column]
    assert hits, (table, column, value, i + 2, problems[:5])
    assert hits[0].file.endswith(f"{table}.csv")


@FUZZ
@given(
    st.sampled_from(["subjects", "measurements"]),
    st.data(),
    st.sampled_from([b"\xff", b"\xe9", b"\xc3\x28", b"\x80abc"]),
)
def test_non_utf8_bytes_are_named_by_row_and_column(table, data, junk):
    rows = GRID[table]
    i = data.draw(st.integers(min_value=0, max_value=len(rows) - 2), label="row")
    j = data.draw(st.integers(min_value=0, max_value=len(rows[0]) - 1), label="col")
    lines = TEXT[table].encode().split(b"\n")
    cells = lines[i + 1].split(b",")
    cells[j] = cells[j] + junk
    lines[i + 1] = b",".join(cells)
    with tempfile.TemporaryDirectory() as tmp:
        _write(Path(tmp), raw={table: b"\n".join(lines)})
        problems = _load_expecting_error(Path(tmp))
    hits = [p for p in problems if p.row == i + 2 and p.column == rows[0][j]]
    assert any("not UTF-8" in p.rule for p in hits), problems[:5]


@FUZZ
@given(st.sampled_from(["subjects", "measurements"]), st.data(), st.booleans())
def test_dropped_or_renamed_column_is_named(table, data, rename):
    header = GRID[table][0]
    optional = {"SYNTHFL", "STUDYID", "INF1DT", "INF2DT", "INF3DT"}
    required = [c for c in header if c not in optional]
    column = data.draw(st.sampled_from(required))
    j = header.index(column)
    if rename:
        new = [list(r) for r in GRID[table]]
        new[0][j] = data.draw(st.sampled_from([column.lower(), column + "_X", "", "Unnamed: 3"]))
    else:
        new = [r[:j] + r[j + 1 :] for r in GRID[table]]
    with tempfile.TemporaryDirectory() as tmp:
        _write(Path(tmp), {**GRID, table: new})
        problems = _load_expecting_error(Path(tmp))
    assert any(p.row == 1 and p.column == column for p in problems), problems[:5]


@FUZZ
@given(st.sampled_from(["subjects", "measurements"]), st.floats(min_value=0.0, max_value=0.999))
def test_truncated_files_give_only_validation_errors(table, frac):
    data = TEXT[table].encode()
    cut = int(len(data) * frac)
    with tempfile.TemporaryDirectory() as tmp:
        _write(Path(tmp), raw={table: data[:cut]})
        try:
            ipd = load_ipd(tmp, design="zang2022")
        except DataValidationError as exc:
            assert exc.problems
        else:
            # Undetectable cuts: measurements cut at a line end (a valid, shorter file), or a
            # cut inside the last field of the last row (a shorter, still valid value).
            last_line = b"\n" not in data[cut:].rstrip(b"\n")
            assert last_line or (
                table == "measurements" and len(ipd.measurements) < len(GRID[table]) - 1
            )


@FUZZ
@given(st.sampled_from(["subjects", "measurements"]), st.binary(min_size=0, max_size=300))
def test_random_bytes_give_only_validation_errors(table, blob):
    with tempfile.TemporaryDirectory() as tmp:
        _write(Path(tmp), raw={table: blob})
        _load_expecting_error(Path(tmp))


@FUZZ
@given(st.data())
def test_duplicated_subject_row_is_named(data):
    rows = [list(r) for r in GRID["subjects"]]
    i = data.draw(st.integers(min_value=1, max_value=len(rows) - 1))
    rows.append(list(rows[i]))
    with tempfile.TemporaryDirectory() as tmp:
        _write(Path(tmp), {**GRID, "subjects": rows})
        problems = _load_expecting_error(Path(tmp))
    p = [p for p in problems if p.row == len(rows) and p.column == "USUBJID"]
    assert p and p[0].rule == f"duplicated subject id (first at row {i + 1})"


@pytest.mark.parametrize("table", ["subjects", "measurements"])
def test_unchanged_files_load(table, tmp_path):
    """The fuzzing baseline itself is valid (so every failure above is the corruption's)."""
    _write(tmp_path)
    assert len(load_ipd(tmp_path, design="zang2022").subjects) == len(GRID["subjects"]) - 1
