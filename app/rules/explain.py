"""Explanations: the decision plus, rule by rule, matched / first failing condition / not evaluated."""

from __future__ import annotations

from datetime import datetime

from app.mentions.model import Mention
from app.rules.decision import Explanation
from app.rules.evaluate import evaluate
from app.rules.model import RuleSet


def explain(ruleset: RuleSet, mention: Mention, now: datetime, *, connector: str | None = None) -> Explanation:
    """The same decision `classify` gives, with one trace per rule in evaluation order. Pure."""
    decision, traces = evaluate(ruleset, mention, now, connector=connector, trace=True)
    return Explanation(decision, traces)


def render_text(explanation: Explanation, text: str) -> str:
    """A human-readable explanation (for `webcare rules explain`)."""
    d = explanation.decision
    lines = [
        f"department:   {d.department}",
        f"category:     {d.category}",
        f"priority:     {d.priority}",
        f"sla_policy:   {d.sla_policy}",
        f"tags:         {', '.join(d.tags) or '-'}",
        f"notify:       {', '.join(d.notify) or '-'}",
        f"sentiment:    {d.sentiment}",
        f"deciding:     {d.deciding_rule or '(defaults)'}",
        f"ruleset:      {d.ruleset_version}",
    ]
    for span in d.spans:
        lines.append(f"span:         {span.rule_id} [{span.start}, {span.end}) {text[span.start:span.end]!r}")
    lines.append("rules:")
    width = max((len(r.id) for r in explanation.rules), default=0)
    for r in explanation.rules:
        lines.append(f"  {r.result:<13} {r.id:<{width}}  {r.reason}")
    return "\n".join(lines)
