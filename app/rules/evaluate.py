"""Classification (SPEC §1 "Evaluation"): pure, no I/O, no clock; `now` is when the mention was
received."""

from __future__ import annotations

from datetime import datetime

from app.kernel.vocabulary import PRIORITIES
from app.mentions.model import Mention
from app.rules.conditions import Cond
from app.rules.context import Context
from app.rules.decision import Decision, RuleTrace, Span
from app.rules.folding import FoldedText
from app.rules.model import Actions, Rule, RuleSet


def classify(ruleset: RuleSet, mention: Mention, now: datetime, *, connector: str | None = None) -> Decision:
    """The routing decision for a mention received at `now` (aware) through `connector`.

    Rules run in order; matching `continue` rules add tags, notifies and raises; the first other
    matching rule decides and stops evaluation; `defaults` fill what it leaves out (or decide when
    no rule does); the priority is finally raised, never lowered, to the highest `raise_to`.

    Only the rules the lexicon's hits allow are looked at (`app.rules.compiled`): keyword rules are
    decided by the scan itself, the others evaluated. The result equals `evaluate`'s, which
    evaluates every rule.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    compiled = ruleset.compiled
    text = FoldedText(mention.text)
    scan = compiled.scan(text.folded)
    ctx: Context | None = None
    matched: list[Rule] = []
    spans: list[Span] = []
    deciding: Rule | None = None
    keyword = compiled.keyword
    for position in compiled.candidates(scan):
        rule = ruleset.rules[position]
        found: list[tuple[int, int]]
        if keyword[position]:
            found = [text.to_original(s, e) for s, e in scan.folded_spans(position)]
        else:
            if ctx is None:
                ctx = Context(mention, now, connector, text, scan.occurrences(), scan.sentiment)
            found = []
            if rule.when.test(ctx, found) is not None:
                continue
        matched.append(rule)
        spans.extend(Span(rule.id, s, e) for s, e in sorted(set(found)) if s < e)
        if not rule.continue_:
            deciding = rule
            break
    return _decide(ruleset, matched, deciding, spans, scan.sentiment)


def evaluate(ruleset: RuleSet, mention: Mention, now: datetime, *, connector: str | None,
             trace: bool = True) -> tuple[Decision, tuple[RuleTrace, ...]]:
    """The decision and, when `trace`, one `RuleTrace` per rule in evaluation order: the plain
    evaluator, every rule tested against the plain `ItemMatcher` scan of the lexicon (what
    `explain` shows, and what `classify` is tested against)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    ctx = Context.scanned(mention, now, connector, ruleset.lexicon, ruleset.weights)
    matched: list[Rule] = []
    spans: list[Span] = []
    traces: list[RuleTrace] = []
    deciding: Rule | None = None
    for rule in ruleset.rules:
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
    then = deciding.then if deciding is not None else _NO_ACTIONS
    priority = then.priority or d.priority
    tags: dict[str, None] = {}
    notify: dict[str, None] = {}
    for rule in matched:  # plain loops: this runs for every mention
        actions = rule.then
        if actions.tags:
            tags.update(dict.fromkeys(actions.tags))
        if actions.notify:
            notify.update(dict.fromkeys(actions.notify))
        if actions.raise_to and _RANK[actions.raise_to] < _RANK[priority]:
            priority = actions.raise_to
    return Decision(
        department=then.department or d.department,
        category=then.category or d.category,
        priority=priority,
        sla_policy=then.sla_policy or d.sla_policy,
        tags=tuple(tags),
        notify=tuple(notify),
        matched_rules=tuple([r.id for r in matched]),
        deciding_rule=deciding.id if deciding else None,
        spans=tuple(spans),
        sentiment=sentiment_value,
        ruleset_version=ruleset.version,
    )


_NO_ACTIONS = Actions()
_RANK = {p: i for i, p in enumerate(PRIORITIES)}


def _matched_reason(rule: Rule, found: list[tuple[int, int]], text: str) -> str:
    role = "continue" if rule.continue_ else "decides"
    pieces = [f"{text[s:e]!r} at {s}-{e}" for s, e in sorted(set(found)) if s < e]
    return f"all conditions hold ({role})" + (": " + ", ".join(pieces) if pieces else "")
