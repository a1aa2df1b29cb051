"""Language detection on short Dutch and English customer posts: accuracy and cost per mention.

Run: `.venv/bin/python bench/language.py` (the optional candidates are measured when installed:
`pip install py3langid langdetect`). The figures and the choice are in bench/README.md.
Every candidate ships its model inside the package; nothing is downloaded at run time.
"""

from __future__ import annotations

import gc
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

# Short posts as customers write them to a Dutch telco: typos, slang, hashtags, handles, emoji.
DUTCH = [
    "Al 3 uur storing bij jullie!!", "Geen internet sinds vanochtend", "waarom is mijn factuur zo hoog",
    "Mijn wifi doet het weer niet", "Hoe laat zijn jullie open?", "Bedankt voor de snelle hulp!",
    "tv valt steeds weg, wat is er aan de hand", "Ik wil mijn abonnement opzeggen",
    "Wanneer komt de monteur nou eindelijk?", "storing in Utrecht?", "Nog steeds geen bereik hier",
    "Ik word al twee keer afgeschreven deze maand", "Kan ik mijn nummer meenemen naar jullie?",
    "Jullie klantenservice is echt waardeloos", "De storing is opgelost, bedankt!",
    "Mijn modem knippert oranje", "heb geen signaal op mijn telefoon", "Wat kost een extra simkaart?",
    "Waarom duurt het zo lang voordat ik antwoord krijg", "Top service, dank jullie wel",
    "@telco internet ligt eruit in heel Amsterdam", "geen tv en geen internet #storing",
    "Ik heb een nieuwe router nodig", "Mijn bestelling is nog niet binnen", "Is er een storing in Zwolle?",
    "wtf alweer geen internet", "Ik betaal te veel, klopt dit wel?", "Graag een terugbelverzoek",
    "Hoe verander ik mijn wachtwoord?", "De app werkt niet meer na de update",
    "Mijn moeder kan niet bellen, het zorgalarm werkt niet", "Kunnen jullie me helpen met mijn factuur?",
    "Het glasvezel is nog steeds niet aangesloten", "Dank voor het meedenken!",
    "Sinds gisteren erg traag internet", "ik snap mijn rekening niet", "Waar blijft mijn nieuwe telefoon?",
    "Slecht bereik in huis, wat kan ik doen?", "Ik wil graag overstappen naar een goedkoper abonnement",
    "Er staat een verkeerd bedrag op mijn factuur", "Niks werkt meer, ik ben er klaar mee",
    "Fijn dat het zo snel geregeld is", "Kan iemand mij even bellen?", "De verbinding valt steeds weg",
    "Hoeveel data heb ik nog over?", "Mijn contract loopt af, wat nu?", "Geen bereik in de trein",
    "Waarom is mijn bundel al op?", "Ik krijg steeds een foutmelding", "Hallo, ik heb een vraag",
    "nog steeds storing", "Lekker bezig weer", "jullie zijn echt de slechtste", "goedemorgen",
    "Dank je!", "Wanneer is het opgelost?", "Hoezo kosten voor roaming?", "Monteur is niet gekomen",
    "Mijn pakket is kwijt", "Kan ik een afspraak maken?",
]
ENGLISH = [
    "No internet since this morning", "Why is my bill so high", "My wifi is down again",
    "What time do you open?", "Thanks for the quick help!", "TV keeps cutting out, what's going on",
    "I want to cancel my subscription", "When is the engineer finally coming?", "outage in Utrecht?",
    "Still no signal here", "I've been charged twice this month", "Can I keep my number if I switch?",
    "Your customer service is useless", "The outage is fixed, thanks!", "My modem is blinking orange",
    "no signal on my phone", "How much is an extra SIM card?", "Why does it take so long to get an answer",
    "Great service, thank you", "@telco internet is down across Amsterdam", "no tv and no internet #outage",
    "I need a new router", "My order hasn't arrived yet", "Is there an outage in Zwolle?",
    "wtf no internet again", "I'm paying too much, is this right?", "Please call me back",
    "How do I change my password?", "The app stopped working after the update",
    "My mother can't call, her care alarm is down", "Can you help me with my bill?",
    "The fibre still isn't connected", "Thanks for thinking along!", "Very slow internet since yesterday",
    "I don't understand my invoice", "Where is my new phone?", "Bad reception at home, what can I do?",
    "I'd like to switch to a cheaper plan", "There's a wrong amount on my bill", "Nothing works anymore, I'm done",
    "Glad it was sorted so quickly", "Can someone give me a call?", "The connection keeps dropping",
    "How much data do I have left?", "My contract ends soon, what now?", "No coverage on the train",
    "Why is my bundle used up already?", "I keep getting an error message", "Hello, I have a question",
    "still down", "Well done again", "you guys are the worst", "good morning", "Thank you!",
    "When will it be fixed?", "Why am I paying roaming fees?", "The engineer never showed up",
    "My package is lost", "Can I book an appointment?", "Internet down for 3 hours now!!",
]


sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))


def candidates() -> dict[str, Callable[[], Callable[[str], str | None]]]:
    """Each candidate's set-up (timed as load cost), returning a `text -> language code` function."""
    found: dict[str, Callable[[], Callable[[str], str | None]]] = {}

    def chosen() -> Callable[[str], str | None]:
        from app.mentions.language import LanguageDetector

        return LanguageDetector().detect

    found["chosen: py3langid, 12 languages, p ≥ 0.5, noise stripped (app.mentions.language)"] = chosen
    try:
        import lingua

        def lingua_restricted_set() -> Callable[[str], str | None]:
            names = ("DUTCH", "ENGLISH", "GERMAN", "FRENCH", "SPANISH", "ITALIAN", "PORTUGUESE", "TURKISH",
                     "POLISH", "ARABIC", "ROMANIAN", "UKRAINIAN")
            detector = (lingua.LanguageDetectorBuilder.from_languages(*[getattr(lingua.Language, n) for n in names])
                        .with_preloaded_language_models().build())

            def detect(text: str) -> str | None:
                language = detector.detect_language_of(text)
                return language.iso_code_639_1.name.lower() if language else None

            return detect

        found["lingua (same 12 languages)"] = lingua_restricted_set

        def lingua_all() -> Callable[[str], str | None]:
            detector = lingua.LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()

            def detect(text: str) -> str | None:
                language = detector.detect_language_of(text)
                return language.iso_code_639_1.name.lower() if language else None

            return detect

        found["lingua (all 75 languages, low-accuracy mode)"] = lingua_all
    except ImportError:
        pass
    try:
        import py3langid  # type: ignore[import-not-found]

        def langid_all() -> Callable[[str], str | None]:
            return lambda text: str(py3langid.classify(text)[0])

        found["py3langid (97 languages)"] = langid_all
    except ImportError:
        pass
    try:
        import langdetect  # type: ignore[import-not-found]

        def langdetect_all() -> Callable[[str], str | None]:
            langdetect.DetectorFactory.seed = 0

            def detect(text: str) -> str | None:
                try:
                    return str(langdetect.detect(text))
                except langdetect.LangDetectException:
                    return None

            return detect

        found["langdetect (55 languages)"] = langdetect_all
    except ImportError:
        pass
    try:
        import py3langid  # type: ignore[import-not-found]
        from py3langid.langid import _load_identifier  # type: ignore[import-not-found]

        def langid_restricted() -> Callable[[str], str | None]:
            identifier = _load_identifier()
            identifier.set_languages(["nl", "en", "de", "fr", "es", "it", "pt", "tr", "pl", "ar", "ro", "uk"])
            return lambda text: str(identifier.classify(text)[0])

        found["py3langid (project set, 12 languages)"] = langid_restricted
    except ImportError:
        pass
    return found


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure(name: str, setup: Callable[[], Callable[[str], str | None]]) -> dict[str, float | str]:
    gc.collect()
    before = _rss_mb()
    started = time.perf_counter()
    detect = setup()
    detect("warm up the model")
    load = time.perf_counter() - started
    grown = _rss_mb() - before
    correct = {"nl": 0, "en": 0}
    unknown = 0
    wrong = 0
    samples = [(t, "nl") for t in DUTCH] + [(t, "en") for t in ENGLISH]
    timings: list[float] = []
    for _ in range(3):
        for text, expected in samples:
            started = time.perf_counter()
            got = detect(text)
            timings.append(time.perf_counter() - started)
            if _ == 0:
                correct[expected] += got == expected
                unknown += got is None
                wrong += got is not None and got != expected
    return {"name": name, "nl": correct["nl"] / len(DUTCH), "en": correct["en"] / len(ENGLISH),
            "all": (correct["nl"] + correct["en"]) / len(samples), "unknown": unknown, "wrong": wrong,
            "median_us": statistics.median(timings) * 1e6, "p95_us": sorted(timings)[int(len(timings) * .95)] * 1e6,
            "load_s": load, "rss_mb": grown}


def main() -> None:
    if len(sys.argv) > 1:  # one candidate per process, so the memory figure is its own
        r = measure(sys.argv[1], candidates()[sys.argv[1]])
        print(f"| {r['name']} | {r['nl']:.1%} | {r['en']:.1%} | {r['all']:.1%} | {r['wrong']} | {r['unknown']} | "
              f"{r['median_us']:.0f} µs | {r['p95_us']:.0f} µs | {r['load_s']:.2f} s | {r['rss_mb']:.0f} MB |")
        return
    median = statistics.median(len(t) for t in DUTCH + ENGLISH)
    print(f"{len(DUTCH)} Dutch and {len(ENGLISH)} English posts, median {median} characters")
    print("| detector | Dutch right | English right | both | wrong | no answer | median per mention | p95 | load "
          "| memory (RSS growth) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in candidates():
        subprocess.run([sys.executable, __file__, name], check=True)


if __name__ == "__main__":
    main()
