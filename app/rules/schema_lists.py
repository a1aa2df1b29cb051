"""`lists/*.yaml`: keyword lists, their includes (cycles are errors) and their compiled matchers."""

from __future__ import annotations

from dataclasses import dataclass

from yaml.nodes import Node

from app.rules.matching import MODES, Item, ItemMatcher, Mode, make_item
from app.rules.model import KeywordList
from app.rules.refs import Refs, ident
from app.rules.shapes import LIST_FILE
from app.rules.yamlnodes import Place, YamlFile, entries, integer, string, strings


@dataclass
class _Draft:
    name: str
    mode: Mode
    weight: int | None
    items: list[str]
    places: list[Place]
    include: list[tuple[str, Node]]
    f: YamlFile


class ListBook:
    """Every list of the folder. Matchers are built once; a `cased` matcher (items as written) is
    built the first time a cased condition asks for it."""

    def __init__(self) -> None:
        self._drafts: dict[str, _Draft] = {}
        self.lists: dict[str, KeywordList] = {}
        self._cased: dict[str, ItemMatcher] = {}

    def read(self, f: YamlFile, refs: Refs) -> None:
        """Read one list file (one list per file)."""
        if f.root is None:
            f.empty("empty file: expected a list (keys list, items)")
            return
        keys = entries(f, f.root, "list", required=LIST_FILE.required_keys,
                       optional=LIST_FILE.optional_keys)
        if keys is None or "list" not in keys:
            return
        name = ident(f, keys["list"][1], string(f, keys["list"][1], "list name"), "list name")
        if name is None or not refs.define("list", name, f, keys["list"][1]):
            return
        mode: Mode = "word"
        if "match" in keys:
            written = string(f, keys["match"][1], f"list '{name}': match")
            if written is not None and written not in MODES:
                f.error(keys["match"][1], f"list '{name}': match must be word, prefix or substring")
            elif written is not None:
                mode = written
        weight = integer(f, keys["weight"][1], f"list '{name}': weight") if "weight" in keys else None
        items: list[str] = []
        places: list[Place] = []
        for text, node in strings(f, keys["items"][1], f"list '{name}': items") if "items" in keys else []:
            if make_item(text, mode, name) is None:
                f.error(node, f"list '{name}': item '{text}' has nothing left to match after folding")
            else:
                items.append(text)
                places.append(f.place(node))
        include = strings(f, keys["include"][1], f"list '{name}': include") if "include" in keys else []
        for other, node in include:
            refs.need("list", other, f, node)
        self._drafts[name] = _Draft(name, mode, weight, items, places, include, f)

    def build(self) -> None:
        """Report include cycles and compile every list (call once, after all files are read)."""
        self._report_cycles()
        for name, draft in self._drafts.items():
            own = [i for i in (make_item(t, draft.mode, name) for t in draft.items) if i is not None]
            closure = [i for n in self.closure_names(name) for i in self._items(n, cased=False)]
            self.lists[name] = KeywordList(
                name=name, mode=draft.mode, weight=draft.weight, items=tuple(draft.items),
                include=tuple(n for n, _ in draft.include), file=draft.f.relpath,
                own=ItemMatcher(own), closure=ItemMatcher(closure))

    def closure_names(self, name: str) -> list[str]:
        """The list and every list it includes, transitively, each once (cycles cut)."""
        out: list[str] = []
        stack = [name]
        while stack:
            current = stack.pop()
            if current in out or current not in self._drafts:
                continue
            out.append(current)
            stack.extend(reversed([n for n, _ in self._drafts[current].include]))
        return out

    def matcher(self, name: str, *, cased: bool) -> ItemMatcher:
        """The closure matcher of a list; an empty matcher for an unknown name (already reported)."""
        if not cased:
            known = self.lists.get(name)
            return known.closure if known else ItemMatcher(())
        if name not in self._cased:
            items = [i for n in self.closure_names(name) for i in self._items(n, cased=True)]
            self._cased[name] = ItemMatcher(items)
        return self._cased[name]

    def written_items(self) -> dict[str, list[tuple[str, Place]]]:
        """Each list's own items as written, with their places (for lints)."""
        return {name: list(zip(d.items, d.places, strict=True)) for name, d in self._drafts.items()}

    def weights(self) -> dict[str, int]:
        """The weight of every weighted list (for sentiment)."""
        return {kl.name: kl.weight for kl in self.lists.values() if kl.weight}

    def _items(self, name: str, *, cased: bool) -> list[Item]:
        draft = self._drafts[name]
        made = (make_item(t, draft.mode, name, cased=cased) for t in draft.items)
        return [i for i in made if i is not None]

    def _report_cycles(self) -> None:
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done
        path: list[str] = []

        def visit(name: str) -> None:
            state[name] = 1
            path.append(name)
            draft = self._drafts[name]
            for other, node in draft.include:
                if other not in self._drafts:
                    continue
                if state.get(other) == 1:
                    cycle = [*path[path.index(other):], other]
                    draft.f.error(node, f"list '{name}': include cycle {' -> '.join(cycle)}")
                elif other not in state:
                    visit(other)
            path.pop()
            state[name] = 2

        for name in self._drafts:
            if name not in state:
                visit(name)
