"""Tests of ``trial_analysis.consistency.infer_counts``.

Reference facts: ``/work/shared/reference/zang2022.md`` section 2 (derived check: only the
Wald interval on 9/45 vs 2/44 gives the published 2.25-28.66 %, and 4.55 % is not x/46), and
Newcombe's (1998, Stat Med 17:873, Table II) 56/70 vs 48/80 example, its method-10 and Wald
intervals taken from the R fixtures (Epi::ci.pd and prop.test, tests/reference/binary.R).
"""

from __future__ import annotations

import pytest

import trial_analysis as ta
from tests.fixtures.binary_from_r import CASES, EPI_CI_PD
from trial_analysis.consistency import infer_counts
from trial_analysis.errors import ParameterError


def _published_zang():
    pub = ta.load_published("zang2022")
    v = lambda arm, stat: ta.published_value(pub, "composite", arm, 48, stat)  # noqa: E731
    return (
        v("UC-MSC", "percent"),
        v("Placebo", "percent"),
        (v("UC-MSC - Placebo", "ci_low"), v("UC-MSC - Placebo", "ci_high")),
    )


def test_zang2022_only_wald_on_9_45_vs_2_44():
    p1, p2, ci = _published_zang()
    design = ta.load_design("zang2022")
    n1, n2 = (a.n_randomised for a in design.arms)
    df = infer_counts(p1, p2, n1, n2, ci=ci)
    assert len(df) == 1
    row = df.iloc[0]
    assert (row.x1, row.n1, row.x2, row.n2) == (9, 45, 2, 44)
    assert row.method == "wald"
    assert round(row.ci_low, 2) == 2.25 and round(row.ci_high, 2) == 28.66


def test_zang2022_percentages_alone_do_not_fix_counts():
    p1, p2, _ = _published_zang()
    df = infer_counts(p1, p2, 45, 46)
    # 4.55 % with n <= 46 is 1/22 or 2/44 only: never x/46.
    assert set(zip(df.x2, df.n2, strict=True)) == {(1, 22), (2, 44)}
    assert set(df.n1) == set(range(5, 46, 5))
    assert len(df) == 9 * 2
    assert df.attrs["n_candidates"] == 18


def test_newcombe_table2_example_identifies_method_10():
    # Newcombe (1998) Table II, example (a) 56/70 - 48/80, rounded to 2 decimals of a percent
    # as a paper would print them: method 10 (Epi::ci.pd) and Wald (prop.test).
    (epi,) = [c for c in EPI_CI_PD if c["x1"] == 56 and c["conf_level"] == 0.95]
    (r,) = [c for c in CASES if c["x1"] == 56 and c["conf_level"] == 0.95]
    newcombe = tuple(round(100 * v, 2) for v in epi["newcombe_ci"])
    wald = tuple(round(100 * v, 2) for v in r["wald_ci"])
    df = infer_counts(80, 60, 70, 80, ci=newcombe, decimals=2, n1_min=70, n2_min=80)
    assert list(df.method) == ["newcombe"]
    df = infer_counts(80, 60, 70, 80, ci=wald, n1_min=60, n2_min=60)
    assert list(zip(df.n1, df.n2, df.method, strict=True)) == [(70, 80, "wald")]


def test_no_match_gives_empty_frame_with_columns():
    df = infer_counts(20, 4.55, 45, 46, ci=(1.0, 2.0))
    assert df.empty
    assert {"x1", "n1", "x2", "n2", "method"} <= set(df.columns)
    assert infer_counts(33.33, 4.55, 2, 46).empty  # 1/3 needs n1 >= 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p1": 120}, r"`p1` must be a percentage between 0 and 100, got 120"),
        ({"n1_max": 0}, r"`n1_max` must be a whole number >= 1, got 0"),
        ({"ci": (28.66, 2.25)}, r"`ci` must be a pair with low <= high"),
        ({"ci": (1.0,)}, r"`ci` must be a pair \(low, high\)"),
        ({"methods": ["exact"]}, r"`methods` must be one of 'wald'"),
        ({"n1_min": 50}, r"`n1_min` must be at most n1_max=45, got 50"),
        ({"conf_level": 95}, r"`conf_level` must be a confidence level in \(0, 1\)"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = {"p1": 20, "p2": 4.55, "n1_max": 45, "n2_max": 46, "ci": (2.25, 28.66)}
    args.update(kwargs)
    with pytest.raises(ParameterError, match=match):
        infer_counts(**args)


def test_published_counts_reads_the_trial_files():
    """published_counts = infer_counts on the numbers in published.csv (not typed here)."""
    import trial_analysis as ta

    pub = ta.load_published("zang2022")
    v = lambda arm, stat: ta.published_value(pub, "composite", arm, 48, stat)  # noqa: E731
    direct = ta.consistency.infer_counts(
        v("UC-MSC", "percent"),
        v("Placebo", "percent"),
        45,
        46,
        ci=(v("UC-MSC - Placebo", "ci_low"), v("UC-MSC - Placebo", "ci_high")),
    )
    got = ta.consistency.published_counts(ta.load_trial("zang2022"), "composite")
    assert got[["x1", "n1", "x2", "n2", "method"]].equals(
        direct[["x1", "n1", "x2", "n2", "method"]]
    )
    assert got.attrs["ci"] == (2.25, 28.66) and got.attrs["endpoint"] == "composite"


def test_published_counts_errors(tmp_path):
    import shutil

    import pytest

    import trial_analysis as ta
    from trial_analysis._paths import trial_dir

    with pytest.raises(
        ta.ParameterError, match="`endpoint` must be an endpoint id of the design, got 'nope'"
    ):
        ta.consistency.published_counts(ta.load_trial("zang2022"), "nope")
    with pytest.raises(ta.ParameterError, match="`endpoint` must be a binary endpoint, got 'hba1c"):
        ta.consistency.published_counts(ta.load_trial("zang2022"), "hba1c")
    shutil.copy(trial_dir("zang2022") / "design.toml", tmp_path / "design.toml")
    rows = (trial_dir("zang2022") / "published.csv").read_text("utf-8").splitlines()
    (tmp_path / "published.csv").write_text(
        "\n".join(r for r in rows if not r.startswith("composite")) + "\n", "utf-8"
    )
    with pytest.raises(ta.AnalysisError, match="no published percentages for 'composite'"):
        ta.consistency.published_counts(ta.load_trial(tmp_path), "composite")
