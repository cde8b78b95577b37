"""``trial-analysis design-sequential``, ``design-adaptive`` and ``design-multiarm``.

Examples::

    trial-analysis design-sequential --looks 5 --futility obrien-fleming --means 0.5 1.2
    trial-analysis design-sequential --looks 3 --spending hsd:-4 --rates 0.4 0.25 --json
    trial-analysis design-sequential --looks 4 --boundary wang-tsiatis --wt-delta 0.25
    trial-analysis design-adaptive --looks 2 --planned 100 200 --delta 0 0.3 --sd 1 \\
        --cp 0.9 --n-max 400 --n-sims 100000 --seed 1
    trial-analysis design-multiarm --delta 0 0.3 0.6 --sd 1.2 --n 60 --n-control 90 --method holm
"""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import ParameterError
from ._common import print_json


def _family(text: str, what: str) -> Any:
    """'obrien-fleming', 'pocock', 'hsd:G', 'kim-demets:RHO' or a comma-separated table."""
    if text in ("obrien-fleming", "pocock"):
        return text
    if ":" in text:
        fam, _, par = text.partition(":")
        if fam in ("hsd", "kim-demets"):
            try:
                return (fam, float(par))
            except ValueError:
                pass
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise ParameterError(
            what,
            "obrien-fleming, pocock, hsd:GAMMA, kim-demets:RHO or comma-separated numbers",
            text,
        ) from None


def _design_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("design")
    g.add_argument("--looks", type=int, default=3, help="number of analyses, 1-10 (default 3)")
    g.add_argument("--alpha", type=float, default=0.025, help="type I error (default 0.025)")
    g.add_argument("--beta", type=float, default=0.2, help="type II error (default 0.2)")
    g.add_argument("--sided", type=int, default=1, choices=[1, 2])
    g.add_argument(
        "--spending",
        default="obrien-fleming",
        help="alpha-spending: obrien-fleming, pocock, hsd:GAMMA, kim-demets:RHO or a table",
    )
    g.add_argument("--information", type=float, nargs="+", help="information rates (end at 1)")
    g.add_argument("--boundary", default="spending", choices=["spending", "wang-tsiatis"])
    g.add_argument("--wt-delta", type=float, help="Wang-Tsiatis shape (0 = OF, 0.5 = Pocock)")
    g.add_argument(
        "--futility",
        help="beta-spending family (as --spending) or k-1 comma-separated bounds",
    )
    g.add_argument(
        "--futility-scale", default="z", choices=["z", "conditional-power", "beta-spending"]
    )
    g.add_argument("--binding", action="store_true", help="binding futility bounds")


def _design(args: argparse.Namespace) -> Any:
    from ..power import group_sequential

    return group_sequential(
        args.looks,
        args.alpha,
        args.beta,
        sided=args.sided,
        spending=_family(args.spending, "--spending"),
        information_rates=args.information,
        boundary=args.boundary,
        delta=args.wt_delta,
        futility=None if args.futility is None else _family(args.futility, "--futility"),
        binding=args.binding,
        futility_scale=args.futility_scale,
    )


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("design-sequential", help="group-sequential design table and sample size")
    _design_args(p)
    e = p.add_argument_group("sample size (optional)")
    e.add_argument("--means", type=float, nargs=2, metavar=("DELTA", "SD"))
    e.add_argument("--rates", type=float, nargs=2, metavar=("P1", "P2"))
    e.add_argument("--events", type=float, metavar="HR", help="hazard ratio (number of events)")
    e.add_argument("--ratio", type=float, default=1.0, help="allocation n2/n1 (default 1)")
    e.add_argument("--theta0", type=float, help="null difference / ratio (non-inferiority)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run_sequential)

    a = sub.add_parser(
        "design-adaptive",
        help="adaptive design: sample-size re-estimation, operating characteristics",
    )
    _design_args(a)
    a.add_argument(
        "--planned", type=float, nargs="+", required=True, help="cumulative total N per look"
    )
    a.add_argument("--delta", type=float, nargs="+", help="true difference(s) of means")
    a.add_argument("--sd", type=float, help="true SD (means)")
    a.add_argument("--pi1", type=float, nargs="+", help="true rate(s), experimental (rates)")
    a.add_argument("--pi2", type=float, help="true rate, control (rates)")
    a.add_argument("--pi1-h1", type=float, help="rate assumed by the re-estimation (rates)")
    a.add_argument("--pi2-h1", type=float, help="rate assumed by the re-estimation (rates)")
    a.add_argument("--ratio", type=float, default=1.0)
    a.add_argument("--cp", type=float, help="target conditional power of the re-estimation")
    a.add_argument("--n-min", type=float, nargs="+", help="minimum size of stages 2..k")
    a.add_argument("--n-max", type=float, nargs="+", help="maximum size of stages 2..k")
    a.add_argument(
        "--theta", type=float, help="effect assumed by the re-estimation (default observed)"
    )
    a.add_argument(
        "--zone", type=float, nargs=2, metavar=("CP_LOW", "CP_HIGH"), help="promising zone"
    )
    a.add_argument(
        "--test", choices=("z", "t"), default="z", help="means: z (known SD) or stage-wise t tests"
    )
    a.add_argument("--n-sims", type=int, default=100_000, help="0: exact integration (2 looks)")
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--n-jobs", type=int, default=1)
    a.add_argument("--dask", help="'local' or a scheduler address")
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=run_adaptive)

    m = sub.add_parser("design-multiarm", help="multi-arm power with multiplicity control")
    m.add_argument(
        "--delta", type=float, nargs="+", required=True, help="effect per experimental arm"
    )
    m.add_argument("--sd", type=float, required=True)
    m.add_argument(
        "--n", type=float, nargs="+", required=True, help="patients per experimental arm"
    )
    m.add_argument("--n-control", type=float, required=True)
    m.add_argument("--alpha", type=float, default=0.025, help="one-sided family-wise level")
    m.add_argument(
        "--method",
        default="dunnett",
        help="bonferroni, holm, hochberg, hommel, dunnett, dunnett-stepdown",
    )
    m.add_argument("--n-sims", type=int, default=0, help="0: exact (dunnett, bonferroni)")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=run_multiarm)


def run_sequential(args: argparse.Namespace) -> int:
    d = _design(args)
    chosen = [x is not None for x in (args.means, args.rates, args.events)]
    if sum(chosen) > 1:
        raise ParameterError("--means/--rates/--events", "at most one endpoint")
    size = None
    if args.means is not None:
        th = 0.0 if args.theta0 is None else args.theta0
        size = d.sample_size_means(args.means[0], args.means[1], ratio=args.ratio, theta0=th)
    elif args.rates is not None:
        size = d.sample_size_rates(
            args.rates[0], args.rates[1], ratio=args.ratio, theta0=args.theta0
        )
    elif args.events is not None:
        th = 1.0 if args.theta0 is None else args.theta0
        size = d.sample_size_events(args.events, ratio=args.ratio, theta0=th)
    if args.json:
        out = {"design": d.to_dict()}
        if size is not None:
            out["sample_size"] = size.to_dict() | {
                "n_fixed": size.n_fixed,
                "n_max": size.n_max,
                "n_expected_h0": size.n_expected_h0,
                "n_expected_h1": size.n_expected_h1,
            }
        print_json(out)
    else:
        print(d)
        if size is not None:
            print()
            print(size)
    return 0


def run_adaptive(args: argparse.Namespace) -> int:
    from ..power import adaptive_characteristics, simulate_adaptive, simulate_adaptive_rates

    d = _design(args)
    means = args.delta is not None or args.sd is not None
    rates = args.pi1 is not None or args.pi2 is not None
    if (
        means == rates
        or (means and None in (args.delta, args.sd))
        or (rates and None in (args.pi1, args.pi2))
    ):
        raise ParameterError(
            "--delta/--sd or --pi1/--pi2", "either means (--delta and --sd) or rates (--pi1, --pi2)"
        )
    kw = dict(conditional_power=args.cp, n_min=args.n_min, n_max=args.n_max)
    run = dict(n_sims=args.n_sims, seed=args.seed, n_jobs=args.n_jobs, dask=args.dask)
    if rates:
        if args.theta is not None or args.zone is not None:
            raise ParameterError("--theta/--zone", "means only (rates: --pi1-h1, --pi2-h1)")
        if args.n_sims == 0:
            raise ParameterError("--n-sims", "a positive number of simulated trials (rates)", 0)
        r = simulate_adaptive_rates(
            d,
            args.pi1,
            args.pi2,
            args.planned,
            ratio=args.ratio,
            pi1_h1=args.pi1_h1,
            pi2_h1=args.pi2_h1,
            **kw,
            **run,
        )
    else:
        kw |= dict(
            ratio=args.ratio,
            theta=args.theta,
            promising_zone=None if args.zone is None else tuple(args.zone),
        )
        if args.n_sims == 0:
            if args.test == "t":
                raise ParameterError("--n-sims", "a positive number of trials (--test t)", 0)
            r = adaptive_characteristics(d, args.delta, args.sd, args.planned, **kw)
        else:
            r = simulate_adaptive(d, args.delta, args.sd, args.planned, test=args.test, **kw, **run)
    if args.json:
        print_json({"design": d.to_dict(), "characteristics": r.to_dict()})
    else:
        print(d)
        print()
        print(r)
        print()
        print("Per look:")
        print(r.stages.to_string(index=False))
        print("Quantiles of the final total sample size:")
        print(r.n_quantiles.to_string(index=False))
    return 0


def run_multiarm(args: argparse.Namespace) -> int:
    from ..power import multiarm_power, simulate_multiarm

    n = args.n[0] if len(args.n) == 1 else args.n
    if args.n_sims == 0:
        r = multiarm_power(
            args.delta, args.sd, n, args.n_control, alpha=args.alpha, method=args.method
        )
    else:
        r = simulate_multiarm(
            args.delta,
            args.sd,
            n,
            args.n_control,
            alpha=args.alpha,
            method=args.method,
            n_sims=args.n_sims,
            seed=args.seed,
        )
    if args.json:
        print_json(
            r.to_dict()
            | {"disjunctive": r.disjunctive, "conjunctive": r.conjunctive, "fwer": r.fwer}
        )
    else:
        print(r)
    return 0
