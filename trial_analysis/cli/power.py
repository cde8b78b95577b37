"""``trial-analysis power``, ``sample-size`` and ``simulate``: power of the next trial.

Examples::

    trial-analysis power --p1 0.20 --p2 0.0455 --n1 45 --n2 44 --test fisher
    trial-analysis power --delta 0.67 --sd 1.05 --n1 45 --rho 0.5 --json
    trial-analysis sample-size --p1 0.20 --p2 0.0455 --power 0.8 --test boschloo --plot n.png
    trial-analysis sample-size --p1 0.6 --p2 0.65 --margin -0.1 --alpha 0.025
    trial-analysis simulate data/zang2022/scenario.toml --n-sims 10000 --seed 1 --dask local
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import Any

from ..errors import ParameterError
from ._common import atomic_write, print_json

_PLOT_FORMATS = ("png", "pdf", "svg")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--alpha", type=float, default=None, help="significance level (default 0.05)")
    p.add_argument("--alternative", default="two-sided", choices=["two-sided", "greater", "less"])
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--plot", metavar="OUT", help="write a power-curve plot (.png, .pdf or .svg)")


def _effect(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("effect (proportions: --p1 --p2; means: --delta --sd [--rho])")
    g.add_argument("--p1", type=float, help="response probability, experimental arm")
    g.add_argument("--p2", type=float, help="response probability, control arm")
    g.add_argument("--delta", type=float, help="difference of means (experimental - control)")
    g.add_argument("--sd", type=float, help="common SD of a continuous outcome")
    g.add_argument("--rho", type=float, default=0.0, help="ANCOVA: correlation with baseline")
    p.add_argument(
        "--test",
        default="fisher",
        help="(default fisher) fisher, fisher_midp, chisq, chisq_yates, z_pooled, lr, barnard, boschloo "
        "(exact, by enumeration) or normal_pooled, normal_unpooled, normal_cc, arcsine",
    )


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("power", help="power of a two-arm comparison (analytic or exact)")
    _effect(p)
    p.add_argument("--n1", type=float, required=True, help="patients in the experimental arm")
    p.add_argument("--n2", type=float, help="patients in the control arm (default n1)")
    p.add_argument("--n-range", metavar="LO:HI", help="n1 range of the --plot curve")
    _common(p)
    p.set_defaults(func=run_power)

    s = sub.add_parser("sample-size", help="sample size for a target power")
    _effect(s)
    s.add_argument("--power", type=float, default=0.8, help="target power (default 0.8)")
    s.add_argument("--ratio", type=float, default=1.0, help="allocation n2/n1 (default 1)")
    s.add_argument("--dropout", type=float, default=0.0, help="dropout proportion to inflate for")
    s.add_argument("--margin", type=float, help="null difference p1 - p2 (non-inferiority < 0)")
    s.add_argument("--n-max", type=int, help="upper bound of the exact search for n1")
    _common(s)
    s.set_defaults(func=run_sample_size)

    m = sub.add_parser("simulate", help="Monte Carlo power of a trial scenario (TOML)")
    m.add_argument("scenario", help="scenario TOML file (docs/scenarios.md)")
    m.add_argument("--n-sims", type=int, default=10_000, help="simulated trials (default 10000)")
    m.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    m.add_argument("--dask", help="'local' (LocalCluster) or a scheduler address tcp://host:8786")
    m.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        help="local processes / LocalCluster workers (default: 1; one per CPU with --grid)",
    )
    m.add_argument(
        "--chunk-size",
        type=int,
        default=None,
        help="trials per chunk (default 10000; 1000 with an MMRM or MI analysis)",
    )
    m.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario key, e.g. --set arms.n=[120,120] --set dropout.rate=0.2",
    )
    m.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1;V2",
        help="simulate every combination, e.g. --grid 'arms.n=[60,60];[90,90]'",
    )
    m.add_argument(
        "--null",
        action="store_true",
        help="the same scenario with no effect (every arm as the control): type I error",
    )
    m.add_argument("--no-progress", action="store_true", help="no progress bar")
    m.add_argument("--json", action="store_true", help="machine-readable output")
    m.add_argument("--plot", metavar="OUT", help="with --grid: power against the first factor")
    m.set_defaults(func=run_simulate)


# ---------------------------------------------------------------------------------------


def _save(fig: Any, out: str) -> None:
    path = Path(out)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in _PLOT_FORMATS:
        raise ParameterError("--plot", "a file name ending in .png, .pdf or .svg", out)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=150))


def _emit(res: Any, as_json: bool) -> None:
    if as_json:
        print_json(res.to_dict())
    else:
        print(res)


def _kind(args: argparse.Namespace) -> str:
    props = args.p1 is not None or args.p2 is not None
    means = args.delta is not None or args.sd is not None
    if props and means:
        raise ParameterError("--p1/--p2 and --delta/--sd", "not mixed (choose one endpoint)")
    if props:
        if args.p1 is None or args.p2 is None:
            raise ParameterError("--p1/--p2", "both given for proportions")
        return "props"
    if means:
        if args.delta is None or args.sd is None:
            raise ParameterError("--delta/--sd", "both given for means")
        return "means"
    raise ParameterError("--p1/--p2 or --delta/--sd", "given (the effect to power for)")


def _n_range(spec: str | None, default: tuple[int, int]) -> range:
    if spec is None:
        return range(*default)
    try:
        lo, hi = (int(v) for v in spec.split(":"))
    except ValueError as exc:
        raise ParameterError("--n-range", "LO:HI with whole numbers, e.g. 10:150", spec) from exc
    if lo < 2 or hi < lo:
        raise ParameterError("--n-range", "2 <= LO <= HI", spec)
    return range(lo, hi + 1)


def run_power(args: argparse.Namespace) -> int:
    from .. import power as pw

    alpha = 0.05 if args.alpha is None else args.alpha
    kind = _kind(args)
    n2 = args.n1 if args.n2 is None else args.n2
    if kind == "props":
        test = args.test
        if test in pw.EXACT_TESTS:
            if not (float(args.n1).is_integer() and float(n2).is_integer()):
                raise ParameterError("--n1/--n2", "whole numbers for an exact test", args.n1)
            res: Any = pw.exact_power(
                args.p1, args.p2, int(args.n1), int(n2), test, alpha, args.alternative
            )
        else:
            method = {
                "normal_pooled": "pooled",
                "normal_unpooled": "unpooled",
                "normal_cc": "pooled",
                "arcsine": "arcsine",
            }
            if test not in method:
                raise ParameterError(
                    "--test", "one of " + ", ".join(pw.EXACT_TESTS + pw.ANALYTIC_TESTS), test
                )
            res = pw.power_two_proportions(
                args.p1,
                args.p2,
                n1=args.n1,
                n2=n2,
                alpha=alpha,
                method=method[test],
                continuity=test == "normal_cc",
                alternative=args.alternative,
            )
    else:
        res = pw.power_two_means(
            args.delta,
            args.sd,
            n1=args.n1,
            n2=n2,
            alpha=alpha,
            rho=args.rho,
            alternative=args.alternative,
        )
    if args.plot:
        n1 = int(args.n1)
        rng = _n_range(args.n_range, (max(2, n1 // 4), 2 * n1 + 1))
        if kind == "props":
            curve = pw.power_curve(
                args.p1,
                args.p2,
                rng,
                args.test,
                alpha,
                ratio=n2 / args.n1,
                alternative=args.alternative,
            )
            _save(curve.plot(), args.plot)
        else:
            _save(_means_curve(args, rng, n2 / args.n1, alpha), args.plot)
    _emit(res, args.json)
    return 0


def _means_curve(args: argparse.Namespace, ns: range, ratio: float, alpha: float) -> Any:
    from .. import power as pw
    from .._figures import TrialFigure

    pv = [
        pw.power_two_means(
            args.delta,
            args.sd,
            n1=n,
            ratio=ratio,
            alpha=alpha,
            rho=args.rho,
            alternative=args.alternative,
        ).power
        for n in ns
    ]
    fig = TrialFigure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(list(ns), pv)
    ax.set_xlabel("n1")
    ax.set_ylabel("power")
    ax.set_ylim(0, 1)
    ax.set_title(f"delta = {args.delta:g}, sd = {args.sd:g}, rho = {args.rho:g}")
    return fig


def run_sample_size(args: argparse.Namespace) -> int:
    from .. import power as pw

    kind = _kind(args)
    fig = None
    if args.margin is not None:
        if kind != "props":
            raise ParameterError("--margin", "used with --p1/--p2")
        alpha = 0.025 if args.alpha is None else args.alpha
        res: Any = pw.power_margin(
            args.p1,
            args.p2,
            args.margin,
            power=args.power,
            alpha=alpha,
            ratio=args.ratio,
            dropout=args.dropout,
        )
    elif kind == "props":
        alpha = 0.05 if args.alpha is None else args.alpha
        if args.dropout:
            raise ParameterError(
                "--dropout",
                "used with analytic methods or --margin (inflate exact sizes by "
                "ceil(n / (1 - dropout)))",
                args.dropout,
            )
        res = pw.sample_size(
            args.p1,
            args.p2,
            power=args.power,
            alpha=alpha,
            test=args.test,
            ratio=args.ratio,
            alternative=args.alternative,
            n_max=args.n_max,
        )
        if args.plot:
            if res.curve is not None:
                fig = res.plot()
            else:
                n = res.n1
                fig = pw.power_curve(
                    args.p1,
                    args.p2,
                    range(max(2, n // 3), 2 * n + 1),
                    args.test,
                    alpha,
                    ratio=args.ratio,
                    alternative=args.alternative,
                    target=args.power,
                ).plot()
    else:
        alpha = 0.05 if args.alpha is None else args.alpha
        res = pw.power_two_means(
            args.delta,
            args.sd,
            power=args.power,
            alpha=alpha,
            ratio=args.ratio,
            rho=args.rho,
            alternative=args.alternative,
            dropout=args.dropout,
        )
    if args.plot:
        if fig is None:
            n = max(int(res.n1), 4)
            ns = range(max(2, n // 3), 2 * n + 1)
            if kind == "means":
                fig = _means_curve(args, ns, args.ratio, alpha)
            else:
                fig = _margin_curve(args, ns, alpha)
        _save(fig, args.plot)
    _emit(res, args.json)
    return 0


def _margin_curve(args: argparse.Namespace, ns: range, alpha: float) -> Any:
    from .. import power as pw
    from .._figures import TrialFigure

    pv = [
        pw.power_margin(args.p1, args.p2, args.margin, n1=n, alpha=alpha, ratio=args.ratio).power
        for n in ns
    ]
    fig = TrialFigure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(list(ns), pv)
    ax.axhline(args.power, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("n1")
    ax.set_ylabel("power")
    ax.set_ylim(0, 1)
    return fig


def _toml_value(key: str, text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        if any(c in text for c in "[]{}=\"'"):
            raise ParameterError(key, "a TOML value (number, string, [list])", text) from None
        return text


def _pairs(items: list[str], flag: str) -> list[tuple[str, str]]:
    out = []
    for it in items:
        if "=" not in it:
            raise ParameterError(flag, "KEY=VALUE", it)
        k, v = it.split("=", 1)
        out.append((k.strip(), v.strip()))
    return out


def run_simulate(args: argparse.Namespace) -> int:
    from .. import power as pw

    for flag, v in (
        ("--n-sims", args.n_sims),
        ("--chunk-size", args.chunk_size),
        ("--n-jobs", args.n_jobs),
    ):
        if v is not None and v < 1:  # refused, never silently replaced (0 is not "default")
            raise ParameterError(flag, "a whole number >= 1", v)
    scen = pw.load_scenario(args.scenario)
    sets = {k: _toml_value(f"--set {k}", v) for k, v in _pairs(args.set, "--set")}
    if sets:
        scen = scen.with_overrides(sets)
    progress = False if args.no_progress else None
    if args.grid:
        grid = {
            k: [_toml_value(f"--grid {k}", x.strip()) for x in v.split(";")]
            for k, v in _pairs(args.grid, "--grid")
        }
        res: Any = pw.simulate_grid(
            scen,
            grid,
            args.n_sims,
            args.seed,
            dask=args.dask,
            n_jobs=args.n_jobs,
            chunk_size=args.chunk_size,
            progress=progress,
            null=args.null,
        )
        if args.plot:
            _save(res.plot(next(iter(grid))), args.plot)
    else:
        if args.plot:
            raise ParameterError("--plot", "used with --grid (a curve needs several scenarios)")
        res = pw.simulate(
            scen,
            args.n_sims,
            args.seed,
            dask=args.dask,
            n_jobs=1 if args.n_jobs is None else args.n_jobs,
            chunk_size=args.chunk_size,
            progress=progress,
            null=args.null,
        )
    _emit(res, args.json)
    return 0
