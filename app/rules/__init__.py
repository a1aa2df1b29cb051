"""The rule engine: loading, validating, compiling and evaluating `routing_rules/` (SPEC §1).

Everything but `load_ruleset` / `check_ruleset` is pure.
"""

from app.rules.decision import Decision, Explanation, RuleTestResult, RuleTrace, Span
from app.rules.evaluate import classify
from app.rules.explain import explain
from app.rules.loader import check_ruleset, load_ruleset
from app.rules.model import (
    Actions,
    Connector,
    Defaults,
    Department,
    Expect,
    KeywordList,
    Rule,
    RuleSet,
    RuleTest,
    Webhook,
)
from app.rules.problems import Problem, RuleSetError
from app.rules.testing import run_rule_tests

__all__ = [
    "Actions",
    "Connector",
    "Decision",
    "Defaults",
    "Department",
    "Expect",
    "Explanation",
    "KeywordList",
    "Problem",
    "Rule",
    "RuleSet",
    "RuleSetError",
    "RuleTest",
    "RuleTestResult",
    "RuleTrace",
    "Span",
    "Webhook",
    "check_ruleset",
    "classify",
    "explain",
    "load_ruleset",
    "run_rule_tests",
]
