"""Whether a mention counts for an incident watch (`incidents.yaml`)."""

from __future__ import annotations

from app.rules.folding import fold
from app.rules.model import RuleSet
from app.storms.config import IncidentWatch


def watch_matches(ruleset: RuleSet, watch: IncidentWatch, text: str, category: str | None) -> bool:
    """True when `category` (the mention's routing decision) is one of the watch's categories, or
    the text contains an item of one of its lists (included lists too), matched as rules match
    lists: folded (case and accents ignored), each item with its list's mode."""
    if category is not None and category in watch.categories:
        return True
    if not watch.lists:
        return False
    folded = fold(text)
    return any(ruleset.lists[name].closure.found(folded) for name in watch.lists if name in ruleset.lists)
