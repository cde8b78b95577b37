"""Human words for the names the engine and the data files use (the report's text layer).

Analyses name things as code does — covariates ``BASE_HBA1C``, model parameters
``insulin_pchg_sd``, design keys ``dose.amount_per_kg``, data sources
``synthetic:<trial> seed=1 exact=True``. The report prints them as words, here and nowhere
else: a covariate ``BASE_<PARAMCD>`` is "baseline <parameter>" with the design's parameter
label, a subject variable or endpoint id its declared label, any other identifier its parts
in words (:data:`WORDS`). Nothing here is typed for a trial: the names a trial brings are
labelled from its design.
"""

from __future__ import annotations

import re
from typing import Any

from ..results import COLUMN_LABELS, format_number

__all__ = ["WORDS", "humanise", "name_arms", "name_figure_arms", "plain_text", "short_label"]

#: words for the parts of identifiers (split at "_" and ".")
WORDS = {
    "sd": "SD",
    "se": "SE",
    "ci": "CI",
    "mc": "Monte Carlo",
    "rho": "correlation",
    "pchg": "% change",
    "chg": "change",
    "base": "baseline",
    "bmi": "BMI",
    "prob": "probability",
    "elig": "eligibility",
    "min": "minimum",
    "max": "maximum",
    "ar1": "AR(1)",
    "n": "number of",
    "resid": "residual",
    "durdiab": "diabetes duration",
    "gt": ">",
    "mcid": "MCID",
    "midp": "mid-p",
    "yates": "Yates",
    "chisq": "chi-square",
    "iv": "IV",
}

# identifier-like tokens: letters/digits joined by "_" (optionally with "." parts), not a
# file name (followed by an extension), path or web address
_IDENT = re.compile(
    r"(?<![\w/.:-])([A-Za-z][A-Za-z0-9]*(?:[._][A-Za-z0-9]+)*_[A-Za-z0-9]+(?:[._][A-Za-z0-9]+)*)"
    r"(?![\w/]|\.(?:csv|toml|md|py|xpt|json)\b)"
)
_SOFTWARE = ("scipy ", "scipy.stats.", "statsmodels ", "R ")
_SOURCE = re.compile(r"synthetic:(\S+) seed=(\d+)(?: exact=(True|False))?")
_INFER = re.compile(r"infer_counts\(([^()]*)\)(?:: method (\w+))?")
_E_NOTATION = re.compile(r"(?<![0-9A-Za-z.])-?\d+(?:\.\d+)?e[-+]?\d+(?![0-9A-Za-z])")
_LONG_FLOAT = re.compile(r"(?<![\w.])-?\d+\.\d{5,}(?![\w.])")
# the engine's complete-case warning names its internal columns ("a missing 'y', 'BASE_GIR'")
_MISSING = re.compile(r"with a missing '[^']*', '[^']*'")
# a pointer to the package's API in a message ("use an ANCOVA (ta.continuous)")
_API = re.compile(r"\s*\((?:ta|trial_analysis)\.[\w.]+(?:\(\))?\)")
_TUPLE = re.compile(r"\(((?:'[^']*'(?:,\s*)?)+)\)")


def short_label(label: str) -> str:
    """The short form of a declared label: its abbreviation in parentheses, else the part
    before the first comma, lower-cased unless it starts with an acronym.

    >>> short_label("Glycated haemoglobin (HbA1c)"), short_label("Glucose infusion rate, clamp")
    ('HbA1c', 'glucose infusion rate')
    """
    m = re.search(r"\(([^()]+)\)\s*$", label)
    text = m.group(1) if m else label.split(",")[0].strip()
    first = text.split(" ")[0]
    if len(first) > 1 and first[1:].isalpha() and first[1:].islower():  # not "HbA1c", "BMI"
        text = text[0].lower() + text[1:]
    return text


def test_label(test: str) -> str | None:
    """The printed name of a test id of the binary family or of the power functions
    (``fisher_midp`` -> "Fisher mid-p"), None for another name."""
    from ..binary import TEST_INFO
    from ..power.exact import _test_label  # the power functions' one table of test names

    if test in TEST_INFO:
        return TEST_INFO[test][0]
    try:
        name = _test_label(test)
    except KeyError:
        return None
    return name[0].upper() + name[1:]


def _design_names(design: Any) -> tuple[dict[str, str], dict[str, str]]:
    """(whole names, parts): endpoint ids name a whole identifier only; parameter codes and
    subject variables also a part of one (``BASE_HBA1C``, ``hba1c_visit_sd``)."""
    parts: dict[str, str] = {}
    if design is None:
        return {}, parts
    for p in getattr(design, "parameters", ()):
        parts[p.code.lower()] = short_label(p.label)
    for v in getattr(design, "subject_variables", ()):
        parts.setdefault(v.name.lower(), short_label(v.label))
    whole = {
        e.id.lower(): e.label[0].lower() + e.label[1:]
        for e in getattr(design, "endpoints", ())
        if e.label
    }
    return {**parts, **whole}, parts


def humanise(name: str, design: Any = None) -> str:
    """An identifier in words: ``BASE_HBA1C`` -> "baseline HbA1c" (the design's parameter
    label), ``insulin_pchg_sd`` -> "insulin % change SD", ``dose.amount_per_kg`` ->
    "dose amount per kg".

    >>> humanise("hba1c_visit_sd"), humanise("n_infusions"), humanise("sparse_weeks")
    ('hba1c visit SD', 'number of infusions', 'sparse weeks')
    """
    whole, names = _design_names(design)
    key = str(name).strip()
    if key.lower() in whole:
        return whole[key.lower()]
    if key in COLUMN_LABELS:  # an engine column named in a note: "prob_gt_mcid = P(RD > 0.1)"
        return COLUMN_LABELS[key]
    if test_label(key):
        return str(test_label(key))
    if key.upper().startswith("BASE_") and key[5:].lower() in names:
        return "baseline " + names[key[5:].lower()]
    parts = [p for p in re.split(r"[._]", key) if p]
    words = [names.get(p.lower()) or WORDS.get(p.lower(), p) for p in parts]
    # "number of" reads before its noun only: "n" elsewhere is a sample size
    words = ["n" if w == "number of" and i == len(words) - 1 else w for i, w in enumerate(words)]
    return " ".join(words)


def plain_text(text: Any, design: Any = None) -> str:
    """Free text from an analysis or a data file with code spellings put into words: data
    sources (``synthetic:t seed=1 exact=True``), count inference calls, Python tuples of
    strings, long floats (to 4 significant digits) and identifiers (:func:`humanise`).
    File names, paths and web addresses are kept."""
    s = str(text)

    def source(m: re.Match) -> str:
        exact = ", matched exactly" if m.group(3) == "True" else ""
        return f"synthetic cohort of {m.group(1)} (seed {m.group(2)}{exact})"

    def infer(m: re.Match) -> str:
        how = f", {m.group(2).capitalize()} interval" if m.group(2) else ""
        return f"counts inferred from the published numbers ({m.group(1)}{how})"

    s = _SOURCE.sub(source, s)
    s = _API.sub("", s)
    s = _MISSING.sub("with a missing outcome or baseline", s)
    s = _INFER.sub(infer, s)
    s = s.replace("(infer_counts)", "(counts inferred from the published numbers)")
    s = _TUPLE.sub(lambda m: ", ".join(re.findall(r"'([^']*)'", m.group(1))), s)
    s = _E_NOTATION.sub(lambda m: format_number(float(m.group(0))), s)
    s = _LONG_FLOAT.sub(lambda m: format_number(float(m.group(0))), s)

    def ident(m: re.Match) -> str:
        # a software function cited as a reference implementation ("scipy barnard_exact")
        # keeps its name
        if s[: m.start()].endswith(_SOFTWARE):
            return m.group(1)
        return humanise(m.group(1), design)

    s = _IDENT.sub(ident, s)
    return _arm_names(s, design)


_ARM_NUMBER = re.compile(r"\barm[ -]([12])\b")
# "arm 1 - arm 2": the difference experimental minus control, printed with a minus sign
_ARM_DIFFERENCE = re.compile(r"\barm[ -]1 - arm[ -]2\b")
# a figure's "p1 = 0.2, p2 = 0.045" (the arms' proportions) or "(n1)"
_ARM_SYMBOL = re.compile(r"\bp([12])(?= = )")


def name_arms(text: str, arms: tuple[str, str]) -> str:
    """``text`` with the analyses' generic arm names — "arm 1" (experimental), "arm 2"
    (control), "arm 1 - arm 2" — as the arms ``arms`` = (experimental, control) are called.

    >>> name_arms("risk difference (arm 1 - arm 2), best case for arm 1", ("A", "B"))
    'risk difference (A \u2212 B), best case for A'
    """
    names = {"1": str(arms[0]), "2": str(arms[1])}
    s = _ARM_DIFFERENCE.sub(lambda m: f"{names['1']} \u2212 {names['2']}", str(text))
    return _ARM_NUMBER.sub(lambda m: names[m.group(1)], s)


def _figure_text(text: str, arms: tuple[str, str]) -> str:
    s = name_arms(text, arms)
    return _ARM_SYMBOL.sub(lambda m: f"p({arms[int(m.group(1)) - 1]})", s)


def name_figure_arms(fig: Any, arms: tuple[str, str]) -> Any:
    """Every text of the figure ``fig`` (labels, titles, legends) with its generic arm names
    in words (:func:`name_arms`); the proportions "p1 = …, p2 = …" of a power curve's title
    named too. Arm names come from a data file: a text that changes is drawn as plain text
    (a ``$`` in a name starts no formula; in a text that was a formula the names' ``$`` are
    escaped). Returns ``fig``.

    >>> from matplotlib.figure import Figure
    >>> fig = Figure(); ax = fig.add_subplot(); _ = ax.set_xlabel("risk difference arm 1 - arm 2")
    >>> name_figure_arms(fig, ("UC-MSC", "Placebo")).axes[0].get_xlabel()
    'risk difference UC-MSC \u2212 Placebo'
    """
    from matplotlib.text import Text
    from matplotlib.ticker import FixedLocator

    names = (str(arms[0]), str(arms[1]))
    escaped = (names[0].replace("$", r"\$"), names[1].replace("$", r"\$"))
    for ax in fig.axes:  # tick labels set as a list are re-made from it at each draw
        for axis in (ax.xaxis, ax.yaxis):
            if not isinstance(axis.get_major_locator(), FixedLocator):
                continue  # numbers: no arm names
            locs = list(axis.get_majorticklocs())
            old = [str(v) for v in axis.get_major_formatter().format_ticks(locs)]
            new = [_figure_text(v, escaped) for v in old]
            if new != old:
                axis.set_ticks(locs, labels=new)
    for t in fig.findobj(Text):
        old = t.get_text()
        new = _figure_text(old, names)
        if new == old:
            continue
        if t.get_parse_math() and old.count("$") >= 2:  # a formula: kept, the names escaped
            t.set_text(_figure_text(old, escaped))
        else:
            t.set_parse_math(False)
            t.set_text(new)
    return fig


def _arm_names(s: str, design: Any) -> str:
    """ "arm 1" / "arm 2" (the analyses' generic names: experimental, control) as the arms of
    a two-arm design are called; a design with more arms keeps the generic names."""
    arms = getattr(design, "arms", ())
    if len(arms) != 2:
        return s
    try:
        names = (design.experimental_arm.name, design.control_arm.name)
    except (AttributeError, StopIteration):
        return s
    return name_arms(s, names)


def short_analysis(text: str, measure: str = "") -> tuple[str, str]:
    """(short label, model formula) of an engine analysis label: the endpoint's measure (which
    the table's caption states) and the model formula (which its note states) taken out.

    >>> short_analysis("ANCOVA change in HbA1c ~ arm + baseline, HC3 SE", "change in HbA1c")
    ('ANCOVA, HC3 SE', 'change in HbA1c ~ arm + baseline')
    >>> short_analysis("MMRM change in HbA1c, Week 12", "change in HbA1c")
    ('MMRM, Week 12', '')
    """
    s = str(text)
    formula = ""
    if "~" in s:
        before, after = s.split("~", 1)
        head, _, lhs = before.strip().partition(" ")
        rhs, comma, rest = after.strip().partition(",")
        lhs = lhs.strip()
        formula = f"{lhs} ~ {rhs.strip()}"
        s = head + ("" if lhs == measure else " " + lhs) + (comma + rest if comma else "")
    if measure:
        s = s.replace(measure, "")
    s = re.sub(r"\s+", " ", s)
    s = re.sub(r"\s+,", ",", s)
    s = re.sub(r",\s*,", ",", s).strip(" ,")
    return s, formula
