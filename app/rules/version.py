"""The rule-set version of SPEC §1 "Version"."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def ruleset_version(files: Iterable[tuple[str, bytes]]) -> str:
    """`rs-` + the first 12 hex digits of SHA-256 over, per file sorted bytewise by relative POSIX
    path: the UTF-8 path, NUL, the file's bytes, NUL."""
    digest = hashlib.sha256()
    for path, data in sorted(files, key=lambda item: item[0].encode("utf-8")):
        digest.update(path.encode("utf-8"))
        digest.update(b"\0")
        digest.update(data)
        digest.update(b"\0")
    return "rs-" + digest.hexdigest()[:12]
