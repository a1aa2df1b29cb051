"""The shape of `app/`, computed from the source with `ast` (nothing is imported):

- the package import graph (module-level and function-level imports; the entry points — `routes*`,
  `*_routes`, `cli`, `deps` and `app/web/` — left out) has no cycle, and `cases` depends on none of
  the packages that react to its changes;
- the pure modules (named one by one: the test fails if one goes missing) import no I/O library —
  no database, HTTP, web framework, clock or environment — not even through the app modules they
  import;
- each shared word (priorities, statuses, event types, ISO-Z time formatting, the id column type,
  the clock, the stored mention, the queue filters) is defined once.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"

EXPECTED_PACKAGES = {"auth", "cases", "delivery", "feedback", "ingest", "jobs", "kernel", "learning", "mentions",
                     "privacy", "replies", "reports", "rules", "sla", "storms", "timekeeping", "ui"}
MIN_EDGES = 50  # 68 package edges when this was written; far fewer means the scan went blind

PURE_MODULES = [
    # rule evaluation, conditions, matching and folding
    "app.rules.evaluate", "app.rules.evaluation", "app.rules.conditions", "app.rules.compiled",
    "app.rules.matching", "app.rules.folding", "app.rules.decision", "app.rules.context",
    # business time, calendars and the SLA clock
    "app.timekeeping.calendar", "app.timekeeping.policy", "app.timekeeping.businesstime",
    "app.timekeeping.clock",
    # the case life cycle and its events
    "app.cases.lifecycle", "app.cases.events",
    # signing and verifying webhooks
    "app.delivery.signing", "app.ingest.verification",
    # the platform adapters and the `standard` parser
    "app.ingest.adapters.common", "app.ingest.adapters.meta", "app.ingest.adapters.whatsapp",
    "app.ingest.adapters.x", "app.ingest.adapters.telegram", "app.ingest.standard",
    # storm detection
    "app.storms.config", "app.storms.detect", "app.storms.series",
    # the retry schedule and the shared words
    "app.jobs.retry", "app.kernel.vocabulary", "app.kernel.timefmt", "app.kernel.errors",
]

# Libraries (and app modules) that do I/O or read the clock or the environment.
IMPURE_IMPORTS = ("sqlalchemy", "httpx", "fastapi", "starlette", "psycopg", "requests", "urllib.request",
                  "socket", "uvicorn", "asyncio", "subprocess", "app.db", "app.web", "app.settings",
                  "app.secrets", "app.kernel.clock", "app.kernel.ids")
IMPURE_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
                ("time", "time"), ("time", "monotonic"), ("os", "getenv"), ("os", "environ")}


def is_entry_point(path: Path) -> bool:
    rel = path.relative_to(APP)
    name = rel.stem
    return rel.parts[0] == "web" or name.startswith("routes") or name.endswith("_routes") or name in ("cli", "deps")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imports_of(path: Path) -> Iterator[tuple[str, int]]:
    """Every module `path` imports, at any depth of the file (function-level imports too), with
    its line; `from a import b` yields `a` and `a.b` (b may be a module)."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(parsed(path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target, node.lineno
            for alias in node.names:
                yield f"{target}.{alias.name}", node.lineno


def packages() -> set[str]:
    return {p.name for p in APP.iterdir() if p.is_dir() and (p / "__init__.py").exists()}


def package_graph() -> dict[tuple[str, str], list[str]]:
    """(from package, to package) -> where, for every import between two packages of app/."""
    known = packages()
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(APP.rglob("*.py")):
        rel = path.relative_to(APP)
        if len(rel.parts) < 2 or is_entry_point(path):
            continue
        source = rel.parts[0]
        for target, line in imports_of(path):
            parts = target.split(".")
            if len(parts) >= 2 and parts[0] == "app" and parts[1] in known and parts[1] != source:
                edges.setdefault((source, parts[1]), []).append(f"app/{rel}:{line} imports {target}")
    return edges


def find_cycle(edges: set[tuple[str, str]]) -> list[str] | None:
    """One cycle of the directed graph, as the packages along it, or None."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle_and_passes_a_tree() -> None:
    assert find_cycle({("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")}) == ["a", "b", "c", "a"]
    assert find_cycle({("a", "b"), ("b", "c"), ("a", "c")}) is None


def test_the_package_graph_is_measured_over_every_package() -> None:
    edges = package_graph()
    nodes = {a for a, _ in edges} | {b for _, b in edges}
    assert nodes >= EXPECTED_PACKAGES, f"packages missing from the graph: {EXPECTED_PACKAGES - nodes}"
    assert len(edges) >= MIN_EDGES, f"only {len(edges)} package edges found"
    # a known edge of each kind is seen: module level, function level, relative-free `from app import`
    assert ("sla", "cases") in edges and ("delivery", "cases") in edges and ("rules", "timekeeping") in edges


def test_the_package_graph_has_no_cycle() -> None:
    edges = package_graph()
    cycle = find_cycle(set(edges))
    if cycle is not None:
        where = [line for a, b in itertools.pairwise(cycle) for line in edges[(a, b)][:3]]
        pytest.fail("package import cycle " + " -> ".join(cycle) + "\n" + "\n".join(where))


@pytest.mark.parametrize("lower, higher", [
    ("cases", "sla"), ("cases", "delivery"), ("cases", "replies"), ("cases", "ingest"), ("rules", "sla"),
    ("rules", "cases"), ("rules", "incidents"), ("kernel", "cases"), ("mentions", "ingest"), ("jobs", "delivery"),
])
def test_lower_packages_do_not_import_higher_ones(lower: str, higher: str) -> None:
    assert (lower, higher) not in package_graph(), package_graph()[(lower, higher)]


def module_path(module: str) -> Path | None:
    base = APP.parent.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def app_closure(module: str) -> dict[str, Path]:
    """The app modules that importing `module` runs: itself, the app modules it imports (at any
    depth of their files), and every package `__init__` on the way, transitively."""
    seen: dict[str, Path] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(2, len(parts) + 1):  # app.rules.model runs app/rules/__init__.py first
            prefix = ".".join(parts[:i])
            path = module_path(prefix)
            if path is None or prefix in seen:
                continue
            seen[prefix] = path
            todo.extend(target for target, _ in imports_of(path) if target.startswith("app."))
    return seen


def impurities(path: Path) -> list[str]:
    found = []
    for target, line in imports_of(path):
        if any(target == bad or target.startswith(bad + ".") for bad in IMPURE_IMPORTS):
            found.append(f"{path.relative_to(APP.parent)}:{line} imports {target}")
    for node in ast.walk(parsed(path)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and (node.value.id, node.attr) in IMPURE_CALLS:
            found.append(f"{path.relative_to(APP.parent)}:{node.lineno} uses {node.value.id}.{node.attr}")
    return found


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_modules_do_no_io_even_through_what_they_import(module: str) -> None:
    path = module_path(module)
    assert path is not None, f"{module} is named as pure but does not exist (moved? update the list)"
    problems = [problem for name, p in sorted(app_closure(module).items()) for problem in impurities(p)]
    assert problems == []


def test_the_purity_check_sees_io() -> None:
    impure = [p for m in ("app.cases.changes", "app.kernel.clock", "app.secrets") for p in impurities(module_path(m))]
    assert any("sqlalchemy" in p for p in impure) and any("datetime.now" in p for p in impure)
    assert any("os.environ" in p for p in impure)


def literal_strings(node: ast.AST) -> set[str]:
    """The string constants of a tuple, list, set or `Literal[...]` literal."""
    if isinstance(node, ast.Subscript):
        node = node.slice
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return set()


def definitions_listing(words: set[str], at_least: int) -> list[str]:
    """Where a literal collection names at least `at_least` of `words`, outside app/kernel."""
    found = []
    for path in sorted(APP.rglob("*.py")):
        if path.relative_to(APP).parts[0] == "kernel":
            continue
        for node in ast.walk(parsed(path)):
            if len(literal_strings(node) & words) >= at_least:
                found.append(f"{path.relative_to(APP.parent)}:{node.lineno}")
    return found


def test_priorities_statuses_and_event_types_are_listed_only_in_the_kernel() -> None:
    from app.kernel.vocabulary import EVENT_TYPES, PRIORITIES, STATUSES

    assert definitions_listing(set(PRIORITIES), 3) == []
    assert definitions_listing(set(STATUSES), 3) == []
    assert definitions_listing(set(EVENT_TYPES), 3) == []


def test_the_listing_check_finds_a_list() -> None:
    tree = ast.parse('X = ("P1", "P2", "P3", "P4")\nY: Literal["open", "closed", "resolved"]')
    lines = {node.lineno for node in ast.walk(tree)
             if literal_strings(node) >= {"P1", "P4"} or literal_strings(node) >= {"open", "closed"}}
    assert lines == {1, 2}


def sources() -> Iterator[tuple[Path, str]]:
    for path in sorted(APP.rglob("*.py")):
        yield path, path.read_text(encoding="utf-8")


@pytest.mark.parametrize("pattern, home", [
    ('.replace("+00:00", "Z")', "app/kernel/timefmt.py"),  # ISO 8601 with a Z: iso_z
    ("def utc_now(", "app/kernel/clock.py"),
    ("ID = BigInteger()", "app/kernel/ids.py"),
    ("class StoredMention(", "app/mentions/stored.py"),
    ('REF_PREFIX = "', "app/kernel/refs.py"),
    ("def record_event(", "app/cases/changes.py"),
    ("def set_owner(", "app/cases/changes.py"),
])
def test_each_shared_piece_is_defined_once(pattern: str, home: str) -> None:
    homes = [str(path.relative_to(APP.parent)) for path, text in sources() if pattern in text]
    assert homes == [home]


def test_iso_z_is_not_written_by_hand() -> None:
    """`%SZ` formats or a `+ "Z"` glued to an isoformat() are ISO-Z formatting outside the kernel."""
    stray = [str(path.relative_to(APP.parent)) for path, text in sources()
             if ("%SZ" in text or 'isoformat() + "Z"' in text) and "kernel" not in path.parts]
    assert stray == []


def test_status_transitions_are_written_only_by_the_life_cycle() -> None:
    """`case.status = ...` appears once: where `apply_changes` writes a life-cycle state."""
    writes = [f"{path.relative_to(APP.parent)}:{node.lineno}" for path in sorted(APP.rglob("*.py"))
              for node in ast.walk(parsed(path)) if isinstance(node, ast.Assign | ast.AugAssign)
              for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
              for t in (target.elts if isinstance(target, ast.Tuple) else [target])
              if isinstance(t, ast.Attribute) and t.attr == "status" and isinstance(t.value, ast.Name)
              and t.value.id == "case"]
    assert [w.rsplit(":", 1)[0] for w in writes] == ["app/cases/changes.py"]


COMPOSITION = {"main.py", "server.py", "__main__.py", "cli.py", "workers.py"}  # top-level entry points


def test_only_the_web_layer_turns_domain_errors_into_problem_json() -> None:
    """Services raise `app.kernel.errors`; only routes (and the app that installs the handlers)
    and the UI, which renders a problem's text on its pages (`app/ui/bulk.py`), know the HTTP
    problem classes."""
    importers = sorted({str(path.relative_to(APP.parent)) for path in APP.rglob("*.py")
                        if not is_entry_point(path) and not (path.parent == APP and path.name in COMPOSITION)
                        and path.relative_to(APP).parts[0] != "ui"
                        for target, _ in imports_of(path) if target.startswith("app.web.problems")})
    assert importers == []
