"""How report, compare and submission spell values: one place, "-" for anything missing."""

from __future__ import annotations

from typing import Any

from tinybench.report.rundir import number

MISSING = "-"


def text_or_missing(value: Any) -> str:
    if value is None or value == "":
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def fixed(value: Any, digits: int, unit: str = "") -> str:
    parsed = number(value)
    if parsed is None:
        return MISSING
    return f"{parsed:.{digits}f}{' ' + unit if unit else ''}"


def count(value: Any, unit: str = "") -> str:
    """An integer with thousands separators: 16,496 B."""
    parsed = number(value)
    if parsed is None:
        return MISSING
    return f"{round(parsed):,}{' ' + unit if unit else ''}"


def percent(fraction: Any, digits: int = 2) -> str:
    parsed = number(fraction)
    return MISSING if parsed is None else f"{100.0 * parsed:.{digits}f} %"


def accuracy_text(accuracy: dict[str, Any]) -> str:
    """'top-1 94.00 % (47/50)' or 'AUC 0.9123 (20 clips)' or '-'."""
    metric = accuracy.get("metric")
    if metric == "top1" or (metric is None and accuracy.get("top1") is not None):
        if number(accuracy.get("top1")) is None:
            return MISSING
        correct, total = accuracy.get("correct"), accuracy.get("total")
        tally = f" ({correct}/{total})" if correct is not None and total is not None else ""
        return f"top-1 {percent(accuracy.get('top1'))}{tally}"
    if metric == "auc" or accuracy.get("auc") is not None:
        if number(accuracy.get("auc")) is None:
            return MISSING
        total = accuracy.get("total")
        return f"AUC {fixed(accuracy.get('auc'), 4)}" + (f" ({total} clips)" if total else "")
    return MISSING


def mismatches_text(check: dict[str, Any]) -> str:
    """'0 of 50' (mismatches of compared outputs), or '-' when nothing was compared."""
    compared = number(check.get("compared"))
    mismatches = number(check.get("mismatches"))
    if compared is None or mismatches is None or compared == 0:
        return MISSING
    return f"{round(mismatches)} of {round(compared)}"
