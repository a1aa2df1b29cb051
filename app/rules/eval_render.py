"""The text form of a `webcare rules eval` report: for clear-cut, ambiguous and all mentions, the
accuracy, priority and category accuracy, a table per department, the confusion matrix and each
miss as `PATH:LINE: expected X, got Y (rule R | default)`."""

from __future__ import annotations

from app.rules.evaluation import EvalReport, Scores, Share

TEXT_PREVIEW = 100
CORNER = "expected \\ got"


def render_report(report: EvalReport, *, path: str, minimum: float | None) -> str:
    """The whole report; the verdict on `minimum` (clear-cut accuracy) comes last."""
    parts = [_group("clear-cut", report.clear_cut, path),
             _group("ambiguous", report.ambiguous, path),
             _summary("all", report.overall)]
    if minimum is not None:
        verdict = "pass" if report.passes(minimum) else "FAIL"
        parts.append(f"{verdict}: clear-cut accuracy {_rate(report.clear_cut.accuracy)}, minimum {minimum:.1%}")
    return "\n\n".join(parts)


def _summary(name: str, scores: Scores) -> str:
    lines = [f"{name}: {_share(scores.accuracy)} routed to the expected department"]
    for label, share in (("priority", scores.priority), ("category", scores.category)):
        if share.total:
            lines.append(f"  {label}: {_share(share)} right")
    return "\n".join(lines)


def _group(name: str, scores: Scores, path: str) -> str:
    if not scores.accuracy.total:
        return f"{name}: no mentions"
    lines = [_summary(name, scores), "", *_departments(scores), "", *_confusion(scores)]
    if scores.misses:
        lines += ["", f"  misses ({len(scores.misses)}):"]
        for miss in scores.misses:
            rule = f"rule {miss.deciding_rule}" if miss.deciding_rule else "default"
            note = f"  # {miss.note}" if miss.note else ""
            lines.append(f"    {path}:{miss.line}: expected {miss.expected}, got {miss.got} ({rule}): "
                         f"{_preview(miss.text)}{note}")
    return "\n".join(lines)


def _departments(scores: Scores) -> list[str]:
    width = max(len("department"), *(len(d.department) for d in scores.departments))
    lines = [f"  {'department':<{width}}  mentions  right  recall  precision"]
    for d in scores.departments:
        lines.append(f"  {d.department:<{width}}  {d.recall.total:>8}  {d.recall.right:>5}  "
                     f"{_rate(d.recall):>6}  {_rate(d.precision):>9}")
    return lines


def _confusion(scores: Scores) -> list[str]:
    names = [d.department for d in scores.departments]
    width = max(len(CORNER), *(len(n) for n in names))
    cols = [max(len(n), 3) for n in names]
    header = f"  {CORNER:<{width}}  " + "  ".join(f"{n:>{c}}" for n, c in zip(names, cols, strict=True))
    lines = [header]
    for expected in names:
        row = scores.confusion.get(expected, {})
        cells = "  ".join(f"{row.get(got, 0) or '.':>{c}}" for got, c in zip(names, cols, strict=True))
        lines.append(f"  {expected:<{width}}  {cells}")
    return lines


def _share(share: Share) -> str:
    return f"{share.right}/{share.total} ({_rate(share)})"


def _rate(share: Share) -> str:
    rate = share.rate
    return "-" if rate is None else f"{rate:.1%}"


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= TEXT_PREVIEW else flat[:TEXT_PREVIEW - 1] + "…")
