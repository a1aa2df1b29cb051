"""Classification (SPEC §1 "Evaluation"): pure, no I/O, no clock; `now` is when the mention was
received."""

from __future__ import annotations

from datetime import datetime

from app.kernel.vocabulary import PRIORITIES
from app.mentions.model import Mention
from app.rules.conditions import Cond
from app.rules.context import Context
from app.rules.decision import Decision, RuleTrace, Span
from app.rules.model import Rule, RuleSet


def classify(ruleset: RuleSet, mention: Mention, now: datetime, *, connector: str | None = None) -> Decision:
    """The routing decision for a mention received at `now` (aware) through `connector`.

    Rules run in order; matching `continue` rules add tags, notifies and raises; the first other
    matching rule decides and stops evaluation; `defaults` fill what it leaves out (or decide when
    no rule does); the priority is finally raised, never lowered, to the highest `raise_to`.
    """
    decision, _ = evaluate(ruleset, mention, now, connector=connector, trace=False)
    return decision


def evaluate(ruleset: RuleSet, mention: Mention, now: datetime, *, connector: str | None,
             trace: bool) -> tuple[Decision, tuple[RuleTrace, ...]]:
    """The decision and, when `trace`, one `RuleTrace` per rule in evaluation order."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    ctx = Context(mention, now, connector, ruleset.lexicon, ruleset.weights)
    matched: list[Rule] = []
    spans: list[Span] = []
    traces: list[RuleTrace] = []
    deciding: Rule | None = None
    # A trace accounts for every rule; a decision needs only the rules the keyword hits allow.
    rules = ruleset.rules if trace else [ruleset.rules[i] for i in ruleset.index.candidates(ctx.text_hits)]
    for rule in rules:
        if deciding is not None:
            if not trace:
                break
            traces.append(RuleTrace(rule.id, "not_evaluated", f"after deciding rule {deciding.id}"))
            continue
        found: list[tuple[int, int]] = []
        failed: Cond | None = rule.when.test(ctx, found)
        if failed is not None:
            if trace:
                traces.append(RuleTrace(rule.id, "failed", failed.reason(ctx)))
            continue
        matched.append(rule)
        spans.extend(Span(rule.id, s, e) for s, e in sorted(set(found)) if s < e)
        if trace:
            traces.append(RuleTrace(rule.id, "matched", _matched_reason(rule, found, mention.text)))
        if not rule.continue_:
            deciding = rule
    return _decide(ruleset, matched, deciding, spans, ctx.sentiment), tuple(traces)


def _decide(ruleset: RuleSet, matched: list[Rule], deciding: Rule | None, spans: list[Span],
            sentiment_value: int) -> Decision:
    d = ruleset.defaults
    then = deciding.then if deciding is not None else None
    priority = (then.priority if then else None) or d.priority
    raises = [r.then.raise_to for r in matched if r.then.raise_to]
    priority = min([priority, *raises], key=PRIORITIES.index)
    return Decision(
        department=(then.department if then else None) or d.department,
        category=(then.category if then else None) or d.category,
        priority=priority,
        sla_policy=(then.sla_policy if then else None) or d.sla_policy,
        tags=tuple(dict.fromkeys(t for r in matched for t in r.then.tags)),
        notify=tuple(dict.fromkeys(n for r in matched for n in r.then.notify)),
        matched_rules=tuple(r.id for r in matched),
        deciding_rule=deciding.id if deciding else None,
        spans=tuple(spans),
        sentiment=sentiment_value,
        ruleset_version=ruleset.version,
    )


def _matched_reason(rule: Rule, found: list[tuple[int, int]], text: str) -> str:
    role = "continue" if rule.continue_ else "decides"
    pieces = [f"{text[s:e]!r} at {s}-{e}" for s, e in sorted(set(found)) if s < e]
    return f"all conditions hold ({role})" + (": " + ", ".join(pieces) if pieces else "")
