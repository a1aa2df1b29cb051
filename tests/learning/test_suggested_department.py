"""The suggested department learns from where earlier default cases ended: with more labelled
history it suggests the right department with higher confidence on texts it never saw, and it
stays silent without enough history or confidence."""

from __future__ import annotations

import random
from statistics import mean

from app.learning.history import CaseRecord, move_event, outcomes_of, rule_event
from app.learning.naive_bayes import DepartmentModel, posteriors, suggest_department, train, training_examples
from tests.learning.test_report import T0, case

WORDS = {
    "network": ["wifi", "modem", "bereik", "signaal", "traag", "valt weg", "router", "glasvezel", "dekking",
                "verbinding", "4g", "buitenlamp"],
    "billing": ["betaald", "incasso", "bedrag", "afschrift", "teruggave", "creditnota", "maandbedrag",
                "aanmaning", "iban", "kosten", "termijn", "afgeschreven"],
    "sales": ["verhuizen", "upgrade", "nieuw abonnement", "aanbieding", "bundel", "overstappen", "toestel",
              "korting", "verlengen", "sim only", "tv pakket", "extra lijn"],
    "webcare": ["bedankt", "top", "compliment", "vraagje", "hallo", "leuk", "reclame", "groetjes", "fijn",
                "geweldig", "snel geholpen", "dankjewel"],
}
FILLER = ["ik", "mijn", "de", "het", "een", "is", "niet", "wel", "al", "sinds", "gisteren", "jullie", "nog",
          "waarom", "hoe", "kan", "graag", "!!", "?", "help", "zo", "echt"]


def texts(rng: random.Random, department: str, n: int) -> list[str]:
    """`n` mentions for `department`: two of its words among four to six common ones."""
    out = []
    for _ in range(n):
        parts = rng.sample(WORDS[department], 2) + rng.choices(FILLER, k=rng.randint(4, 6))
        rng.shuffle(parts)
        out.append(" ".join(parts))
    return out


def history(n_per_department: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [(text, d) for d in WORDS for text in texts(rng, d, n_per_department)]


HELD_OUT = [(text, d) for d in ("network", "billing", "sales") for text in texts(random.Random(99), d, 20)]


def scores(model: DepartmentModel) -> tuple[float, float]:
    """On the held-out texts: the share suggested right, and the mean confidence of right ones."""
    right = []
    for text, department in HELD_OUT:
        s = suggest_department(model, text, current="webcare")
        if s is not None and s.department == department:
            right.append(s.confidence)
    return len(right) / len(HELD_OUT), mean(right) if right else 0.0


def test_more_history_gives_more_right_suggestions_with_higher_confidence() -> None:
    small, large = train(history(8, seed=1)), train(history(100, seed=2))
    assert (small.examples, large.examples) == (32, 400)
    small_right, small_confidence = scores(small)
    large_right, large_confidence = scores(large)
    assert large_right >= 0.9
    assert large_right > small_right
    assert large_confidence > small_confidence


def test_silent_without_enough_history_or_confidence() -> None:
    few = train(history(7, seed=3))  # 28 cases: below the minimum of 30
    assert few.examples == 28
    assert all(suggest_department(few, text, current="webcare") is None for text, _ in HELD_OUT)
    enough = train(history(100, seed=4))
    assert suggest_department(enough, "ik mijn het een", current="webcare") is None  # nothing telling
    assert suggest_department(enough, "", current="webcare") is None
    assert suggest_department(None, "wifi modem", current="webcare") is None
    # the department the case is with already, or a department with too few cases: nothing
    assert suggest_department(enough, "wifi modem traag", current="network") is None
    # one privacy case, its words alone: likely privacy, but one case is too few to say so
    lopsided = train([*history(100, seed=5), ("avg inzage persoonsgegevens", "privacy")])
    assert posteriors(lopsided, "avg inzage persoonsgegevens")[0][0] == "privacy"
    assert suggest_department(lopsided, "avg inzage persoonsgegevens", current="webcare") is None


def test_webcare_cases_that_stay_teach_it_to_keep_quiet() -> None:
    model = train(history(100, seed=6))
    assert posteriors(model, "bedankt, snel geholpen")[0][0] == "webcare"
    assert suggest_department(model, "bedankt, snel geholpen", current="webcare") is None


def test_the_training_cases_are_the_answered_default_cases() -> None:
    records = [
        case(1, rule_event("webcare", None), move_event("network")),          # handed on: network
        case(2, rule_event("webcare", None)),                                 # open, unanswered: left out
        case(3, rule_event("billing", "billing"), move_event("network")),     # a rule decided: left out
    ]
    closed = CaseRecord("WC-000004", T0, "bedankt", (rule_event("webcare", None),), status="resolved")
    assert training_examples(outcomes_of([*records, closed])) == [("text 1", "network"), ("bedankt", "webcare")]
    model = train(history(100, seed=7))
    assert DepartmentModel.from_json(model.to_json()) == model
