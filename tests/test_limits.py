"""Bounds before work (issue #20): every refusal names the parameter, the estimate, the limit
and what to do, and comes *before* the expensive allocation (checked by making the worker
raise if it is reached, never by timing)."""

from __future__ import annotations

import importlib
import math
import re

import numpy as np
import pytest

import trial_analysis as ta
from trial_analysis import limits
from trial_analysis.binary import _exact
from trial_analysis.errors import ParameterError, ResourceLimitError, ScenarioError


@pytest.fixture
def no_work(monkeypatch):
    """Patch a function so that reaching it fails the test: the refusal came too late."""

    def patch(obj, name):
        def boom(*a, **k):
            raise AssertionError(f"{name} was reached: the work was not bounded before it started")

        monkeypatch.setattr(obj, name, boom)

    return patch


# ---- the limits module ----------------------------------------------------------------------


def test_defaults_and_units():
    assert limits.get("max_memory") == 2 * 1024**3
    assert limits.get("max_seconds") == 900
    assert limits.get("max_csv_field") == 128 * 1024
    assert limits.get("max_arm_size") == 1_000_000
    assert limits.get("max_follow_up_weeks") == 2600
    assert limits.get("max_title_length") == 300
    assert limits.get("max_label_length") == 200
    assert limits.get("max_text_length") == 5000
    assert set(limits.LIMITS) == {
        "max_memory",
        "max_seconds",
        "max_csv_field",
        "max_arm_size",
        "max_follow_up_weeks",
        "max_title_length",
        "max_label_length",
        "max_text_length",
    }
    assert limits.LIMITS["max_memory"].env == "TRIAL_ANALYSIS_MAX_MEMORY"


@pytest.mark.parametrize(
    "name, text, value",
    [
        ("max_memory", "16G", 16 * 1024**3),
        ("max_memory", "512M", 512 * 1024**2),
        ("max_memory", "1.5GB", 1.5 * 1024**3),
        ("max_memory", "2GiB", 2 * 1024**3),
        ("max_memory", "1000", 1000),
        ("max_seconds", "2h", 7200),
        ("max_seconds", "30min", 1800),
        ("max_seconds", "1d", 86400),
        ("max_arm_size", "5000000", 5_000_000),
    ],
)
def test_environment_override(monkeypatch, name, text, value):
    monkeypatch.setenv(limits.LIMITS[name].env, text)
    assert limits.get(name) == pytest.approx(value)


def test_override_nests_and_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("TRIAL_ANALYSIS_MAX_SECONDS", "60")
    with limits.override(max_seconds="2h"):
        assert limits.get("max_seconds") == 7200
        with limits.override(max_seconds=5):
            assert limits.get("max_seconds") == 5
        assert limits.get("max_seconds") == 7200
    assert limits.get("max_seconds") == 60


@pytest.mark.parametrize(
    "name, value, match",
    [
        ("max_memory", "lots", r"`max_memory` must be a number of bytes \(suffix K, M, G or T"),
        ("max_memory", "16X", r"suffix K, M, G or T"),
        ("max_seconds", "2 weeks", r"suffix s, min, h or d"),
        ("max_seconds", 0, r"a positive number of seconds"),
        ("max_memory", -1, r"a positive number"),
        ("max_memory", math.inf, r"a positive number"),
        ("max_arm_size", "10K", r"a number of count"),
    ],
)
def test_bad_limit_values_are_named(name, value, match):
    with pytest.raises(ParameterError, match=match), limits.override(**{name: value}):
        pass


def test_bad_environment_value_is_named(monkeypatch):
    monkeypatch.setenv("TRIAL_ANALYSIS_MAX_MEMORY", "a lot")
    with pytest.raises(ParameterError, match="max_memory"):
        limits.get("max_memory")


def test_unknown_limit():
    with pytest.raises(ParameterError, match=r"`limit` must be one of max_memory"):
        limits.get("max_ram")
    with pytest.raises(ParameterError), limits.override(max_ram="1G"):
        pass


def test_formatting():
    assert limits.format_bytes(74 * 1024**3) == "74 GB"
    assert limits.format_bytes(1.5 * 1024**2) == "1.5 MB"
    assert limits.format_bytes(12) == "12 bytes"
    assert limits.format_seconds(40) == "40 s"
    assert limits.format_seconds(720) == "12 min"
    assert limits.format_seconds(3.5 * 3600) == "3.5 h"
    assert limits.format_seconds(140 * 86400) == "140 days"
    assert limits.format_seconds(3e4 * 365 * 86400) == "3e+04 years"


def test_check_cost_message_names_everything():
    with pytest.raises(ResourceLimitError) as exc:
        limits.check_cost("a thing", parameter="n", memory=3 * 1024**3, advice="use less")
    msg = str(exc.value)
    assert exc.value.parameter == "n" and exc.value.limit == "max_memory"
    assert msg.startswith("a thing needs about 3.0 GB of memory, above the limit max_memory")
    assert "; use less" in msg and "TRIAL_ANALYSIS_MAX_MEMORY" in msg and "docs/limits.md" in msg
    with pytest.raises(ResourceLimitError, match=r"needs about 2\.3 h of computing") as exc:
        limits.check_cost("x", parameter="n", seconds=8280)
    assert exc.value.limit == "max_seconds"
    limits.check_cost("x", parameter="n", memory=1, seconds=1)  # within: no error


def test_check_limit_message():
    with pytest.raises(ResourceLimitError, match=r"arms: n = 2,000,000 is above .*1,000,000"):
        limits.check_limit("max_arm_size", "n", 2_000_000, "arms")


# ---- exact p-value grids, exact power and sample size -------------------------------------


def test_fisher_grid_at_n_100000_refused_before_building(no_work):
    from trial_analysis.binary import pvalue_grid

    no_work(_exact, "_compute")
    with pytest.raises(ResourceLimitError) as exc:
        pvalue_grid(100_000, 100_000, "fisher")
    msg = str(exc.value)
    assert "the fisher p-value grid for n1 = 100000, n2 = 100000 (1e+10 tables)" in msg
    assert "needs about 596 GB of memory" in msg
    assert "use an asymptotic test" in msg
    assert exc.value.parameter == "n1/n2"


def test_boschloo_grid_refused_by_time_before_building(no_work):
    from trial_analysis.binary import pvalue_grid

    no_work(_exact, "_compute")
    with pytest.raises(ResourceLimitError, match=r"boschloo p-value grid .* of memory"):
        pvalue_grid(2000, 2000, "boschloo")
    slow = r"boschloo p-value grid .* of computing"
    with limits.override(max_memory="1T"), pytest.raises(ResourceLimitError, match=slow):
        pvalue_grid(2000, 2000, "boschloo")
    # a few tables of an unconditional test are computed directly: not refused by the grid size
    mem, _ = _exact.grid_cost(2000, 2000, "fisher")
    assert mem < limits.get("max_memory")


def test_grid_within_the_limits_still_works():
    from trial_analysis.binary import pvalue_grid

    g = pvalue_grid(10, 12, "fisher")
    assert g.shape == (11, 13)
    # the same grid refused when the limit is lowered
    low = "max_memory = 100 bytes"
    with limits.override(max_memory=100), pytest.raises(ResourceLimitError, match=low):
        pvalue_grid(10, 12, "fisher")


def test_exact_power_refused_before_the_region(no_work):
    from trial_analysis import power
    from trial_analysis.power import exact

    no_work(exact, "rejection_region")
    with pytest.raises(ResourceLimitError) as exc:
        power.exact_power(0.3, 0.2, 100_000, 100_000, test="fisher")
    msg = str(exc.value)
    assert "Fisher" in msg and "power by enumeration at n1 = 100000, n2 = 100000" in msg
    assert "--test normal_pooled" in msg and "simulation" in msg


def test_sample_size_search_refused_before_enumerating(no_work):
    """sample-size --p1 0.5 --p2 0.52 searched ~10^4 arm sizes by enumeration (115 s)."""
    from trial_analysis import power
    from trial_analysis.power import exact

    no_work(exact, "_pgrid")
    with pytest.raises(ResourceLimitError) as exc:
        power.sample_size(0.5, 0.52)
    msg = str(exc.value)
    assert "sample-size search by enumeration for p1 = 0.5, p2 = 0.52" in msg
    assert "around the normal approximation" in msg
    assert "normal_cc" in msg


def test_power_curve_refused_before_enumerating(no_work):
    from trial_analysis import power
    from trial_analysis.power import exact

    no_work(exact, "_pgrid")
    with pytest.raises(ResourceLimitError, match=r"exact power curve over n1 = 1000..30000"):
        power.power_curve(0.3, 0.2, range(1000, 30001, 1000))


def test_grid_cache_is_bounded_by_bytes(monkeypatch):
    from trial_analysis.power import exact

    exact._GRID_CACHE.clear()
    monkeypatch.setattr(exact, "_GRID_CACHE_BYTES", 3 * 8 * 41 * 41)
    for n in (40, 40, 40, 40):
        exact._pgrid(n, 40, "fisher", "two-sided")
    for n in (37, 38, 39, 40):
        exact._pgrid(n, 40, "fisher", "two-sided")
    total = sum(g.nbytes for g in exact._GRID_CACHE.values())
    assert total <= exact._GRID_CACHE_BYTES
    assert (40, 40, "fisher", "two-sided") in exact._GRID_CACHE  # most recent kept
    assert (37, 40, "fisher", "two-sided") not in exact._GRID_CACHE  # oldest evicted
    exact._pgrid.cache_clear()
    assert not exact._GRID_CACHE


# ---- simulations and scenarios --------------------------------------------------------------


def _scenario():
    from trial_analysis import power
    from trial_analysis._paths import trial_dir

    return power.load_scenario(trial_dir("zang2022") / "scenario.toml")


def test_simulate_n_sims_refused_before_any_chunk(no_work):
    from trial_analysis import power

    sim = importlib.import_module("trial_analysis.power.simulate")

    no_work(sim, "_tasks")
    with pytest.raises(ResourceLimitError) as exc:
        power.simulate(_scenario(), n_sims=10**12, seed=1)
    msg = str(exc.value)
    assert "simulating n_sims = 1000000000000 trials of 200 patients" in msg
    # the estimate depends on the example scenario's analyses (its MMRM: about 320 years)
    assert re.search(r"needs about [0-9.e+]+ (days|years) of computing", msg), msg
    assert "use fewer replicates" in msg
    assert exc.value.parameter == "n_sims"


def test_simulate_chunk_size_refused(no_work):
    from trial_analysis import power

    sim = importlib.import_module("trial_analysis.power.simulate")

    no_work(sim, "_tasks")
    scen = _scenario().with_overrides({"arms.n": [500_000, 500_000]})
    with pytest.raises(ResourceLimitError) as exc:
        power.simulate(scen, n_sims=10**6, chunk_size=10**6, seed=1)
    assert "a simulation chunk of chunk_size = 1000000 trials of 1000000 patients" in str(exc.value)
    assert "use a smaller chunk_size" in str(exc.value)
    assert exc.value.parameter == "chunk_size"


def test_simulate_grid_checks_every_scenario_first(no_work):
    from trial_analysis import power

    sim = importlib.import_module("trial_analysis.power.simulate")

    no_work(sim, "_tasks")
    with pytest.raises(ResourceLimitError, match=r"x 2 scenarios"):
        power.simulate_grid(
            _scenario().with_overrides(
                {"analyses": [{"endpoint": "composite", "method": "fisher"}]}
            ),
            {"arms.n": [[20, 20], [2000, 2000]]},
            n_sims=10**8,
            chunk_size=100,
            seed=1,
        )


def test_scenario_arm_size_is_bounded():
    scen = _scenario()
    with pytest.raises(ScenarioError, match=r"key 'arms.n\[0\]': expected at most max_arm_size"):
        scen.with_overrides({"arms.n": [10**9, 100]})
    with limits.override(max_arm_size=2 * 10**9):
        assert scen.with_overrides({"arms.n": [10**9, 100]}).n[0] == 10**9


def test_non_utf8_scenario_is_a_scenario_error(tmp_path):
    from trial_analysis import power

    f = tmp_path / "s.toml"
    f.write_bytes(b'[scenario]\nname = "caf\xe9"\n')
    with pytest.raises(ScenarioError, match=r"key '\(file\)': expected UTF-8 text.*offset 22"):
        power.load_scenario(f)


# ---- count inference ------------------------------------------------------------------------


def _candidates_naive(p, n_min, n_max, decimals):
    """The O(n^2) enumeration the bounded search replaced: every x = 0..n for every n."""
    from trial_analysis.consistency.counts import _matches

    out = []
    for nn in range(n_min, n_max + 1):
        x = np.arange(nn + 1)
        ok = _matches(100.0 * x / nn, p, decimals)
        out += [(int(xx), nn) for xx in x[ok]]
    return out


@pytest.mark.parametrize(
    "p, n_min, n_max, decimals",
    [
        (20.0, 1, 300, 2),
        (4.55, 1, 300, 2),
        (33.3, 1, 400, 1),
        (0.0, 1, 200, 2),
        (100.0, 1, 200, 2),
        (50.0, 5, 150, 0),
        (12.5, 1, 120, 3),
        (66.67, 30, 250, 2),
    ],
)
def test_count_candidates_equal_the_full_enumeration(p, n_min, n_max, decimals):
    from trial_analysis.consistency.counts import _candidates, _expected_candidates

    fast = _candidates(p, n_min, n_max, decimals)
    assert fast == _candidates_naive(p, n_min, n_max, decimals)
    assert len(fast) <= _expected_candidates(p, n_min, n_max, decimals)


def test_count_candidates_random_percentages():
    from trial_analysis.consistency.counts import _candidates

    rng = np.random.default_rng(20)
    for _ in range(25):
        n = int(rng.integers(5, 250))
        x = int(rng.integers(0, n + 1))
        d = int(rng.integers(0, 3))
        p = round(100 * x / n, d)
        assert _candidates(p, 1, 260, d) == _candidates_naive(p, 1, 260, d)


def test_infer_counts_at_n_10_to_9_refused_before_enumerating(no_work):
    from trial_analysis.consistency import counts

    no_work(counts, "_candidates")
    with pytest.raises(ResourceLimitError) as exc:
        counts.infer_counts(20.0, 4.55, 10**9, 10**9)
    msg = str(exc.value)
    assert "listing the denominators n1 = 1..1000000000, n2 = 1..1000000000" in msg
    assert "give the largest plausible denominators" in msg
    assert exc.value.parameter == "n1_max/n2_max"


def test_infer_counts_pairs_x_methods_refused_before_intervals(monkeypatch):
    from trial_analysis.consistency import counts

    def boom(*a, **k):
        raise AssertionError("an interval was computed before the cost was checked")

    for m, (label, _fn, ref) in list(counts.RD_METHODS.items()):
        monkeypatch.setitem(counts.RD_METHODS, m, (label, boom, ref))
    with pytest.raises(ResourceLimitError) as exc:
        counts.infer_counts(
            20.0, 4.55, 20000, 20000, ci=(5.0, 26.0), methods=["miettinen_nurminen"]
        )
    msg = str(exc.value)
    assert "count inference over n1 = 1..20000, n2 = 1..20000" in msg
    assert "candidate pairs" in msg and "leave out methods='miettinen_nurminen'" in msg


def test_infer_counts_blocks_give_the_one_pass_table():
    """Evaluated in blocks of candidate pairs: the same rows, in the same order."""
    from trial_analysis.consistency import counts

    full = counts.infer_counts(20.0, 4.55, 60, 60, ci=(1.5, 29.7), decimals=1)
    old = counts._PAIR_BLOCK
    try:
        counts._PAIR_BLOCK = 7
        small = counts.infer_counts(20.0, 4.55, 60, 60, ci=(1.5, 29.7), decimals=1)
    finally:
        counts._PAIR_BLOCK = old
    assert len(full) > 0
    assert full.reset_index(drop=True).equals(small.reset_index(drop=True))


def test_infer_counts_at_n_20000_is_linear():
    """n_randomised = 20000 took 53 s / 1.5 GB (O(n^2) candidates); now a bounded search."""
    from trial_analysis.consistency import counts

    c = counts._candidates(20.0, 1, 20000, 2)
    assert (4000, 20000) in c and all(abs(100 * x / n - 20.0) <= 0.005 + 1e-9 for x, n in c)
    assert len(c) <= counts._expected_candidates(20.0, 1, 20000, 2)


def test_limit_error_is_a_value_error():
    """Existing ``except ValueError`` callers keep working."""
    assert issubclass(ResourceLimitError, ValueError)
    assert re.search("docs/limits.md", limits._how(limits.LIMITS["max_memory"]))


def test_large_trial_denominators_fall_back_to_the_randomised_sizes(tmp_path):
    """n_randomised = 20000 took 53 s and 1.5 GB in count inference; now the search is refused
    at once (named arms.n_randomised) and the audit uses the randomised sizes."""
    import shutil

    from trial_analysis._paths import trial_dir
    from trial_analysis.consistency import counts, summaries

    d = tmp_path / "big"
    d.mkdir()
    text = (trial_dir("zang2022") / "design.toml").read_text(encoding="utf-8")
    text = text.replace("n_randomised = 45", "n_randomised = 20000", 1)
    text = text.replace("n_randomised = 46", "n_randomised = 20001", 1)
    (d / "design.toml").write_text(text, encoding="utf-8")
    shutil.copy(trial_dir("zang2022") / "published.csv", d / "published.csv")
    with pytest.raises(ResourceLimitError) as exc:
        counts.published_counts(ta.load_trial(d), "composite")
    assert exc.value.parameter == "arms.n_randomised"
    assert "arms.n_randomised = 20000, 20001" in str(exc.value)
    n1, n2, source = summaries.default_denominators(ta.load_trial(d))
    assert (n1, n2) == (20000, 20001) and source.startswith("randomised sizes")


def test_docs_list_every_limit_with_its_default():
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "limits.md").read_text(encoding="utf-8")
    shown = {
        "max_memory": "2 GB",
        "max_seconds": "15 min",
        "max_csv_field": "128 KB",
        "max_arm_size": "1,000,000",
        "max_follow_up_weeks": "2600",
        "max_title_length": "300 characters",
        "max_label_length": "200 characters",
        "max_text_length": "5,000 characters",
    }
    assert set(shown) == set(limits.LIMITS)
    for name, default in shown.items():
        assert re.search(rf"\| `{name}` \| {re.escape(default)}", text), name


def test_override_is_thread_safe():
    """Threads overriding the same limit at once each see their own value, never another's;
    the main thread and a thread started inside a block see the default; leaving the blocks
    in any order restores the default everywhere."""
    import contextvars
    import threading

    default = limits.get("max_seconds")
    n = 8
    inside = threading.Barrier(n + 1)
    leave = [threading.Event() for _ in range(n)]
    seen: dict[int, list[float]] = {}
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            with limits.override(max_seconds=10 + i):
                with limits.override(max_memory=f"{i + 1}G"):
                    inside.wait(timeout=10)  # every thread is inside its block now
                    leave[i].wait(timeout=10)
                    seen[i] = [limits.get("max_seconds"), limits.get("max_memory")]
                seen[i].append(limits.get("max_memory"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    inside.wait(timeout=10)
    assert limits.get("max_seconds") == default  # the main thread has no override
    for i in reversed(range(n)):  # leave in the reverse order of entering
        leave[i].set()
    for t in threads:
        t.join(timeout=10)
    assert not errors
    for i in range(n):
        assert seen[i] == [10 + i, (i + 1) * 1024**3, limits.LIMITS["max_memory"].default]
    assert limits.get("max_seconds") == default

    with limits.override(max_seconds=42):
        fresh, copied = [], []
        t = threading.Thread(target=lambda: fresh.append(limits.get("max_seconds")))
        ctx = contextvars.copy_context()
        c = threading.Thread(target=lambda: copied.append(ctx.run(limits.get, "max_seconds")))
        t.start(), c.start()
        t.join(), c.join()
    assert fresh == [default] and copied == [42]
