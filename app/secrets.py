"""The secrets that `routing_rules/` names by environment variable, and the session key.

This is the one module that reads those variables. In development a missing secret is generated
once under `<var_dir>/secrets/` (its location is logged, its value never); in production a missing
secret is an error naming the variable, so a start with a missing secret stops, and so does one
in the wrong form (`secret_problem`). Development files are readable by their owner only.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets as random
from collections.abc import Mapping
from pathlib import Path

from app.observability import register_secret

log = logging.getLogger(__name__)

WEBHOOK_SECRET_SUFFIX = ("WEBHOOK_SECRET", "WEBHOOK_SECRET_OLD")


class MissingSecret(RuntimeError):
    """A secret the configuration needs is not set (production)."""

    def __init__(self, name: str):
        super().__init__(f"environment variable {name} is not set (it holds a secret the service needs)")
        self.name = name


class InvalidSecret(RuntimeError):
    """A secret is set but cannot be right (production): too short, or not in its required form."""

    def __init__(self, name: str, problem: str):
        super().__init__(f"environment variable {name} {problem}")
        self.name = name


MIN_SECRET_LENGTH = 16
WEBHOOK_SECRET_BYTES = (24, 64)


def secret_problem(value: str, *, webhook: bool) -> str | None:
    """What is wrong with a secret's value (None: nothing). A Standard Webhooks secret is `whsec_` +
    base64 of 24-64 random bytes; any other secret has at least `MIN_SECRET_LENGTH` characters."""
    if webhook:
        encoded = value.removeprefix("whsec_")
        if encoded == value:
            return "must start with whsec_ (whsec_ + base64 of 24-64 random bytes)"
        try:
            raw = base64.b64decode(encoded, validate=True)
        except ValueError:
            return "must be whsec_ + base64 (the part after whsec_ is not base64)"
        low, high = WEBHOOK_SECRET_BYTES
        if not low <= len(raw) <= high:
            return f"must hold {low}-{high} random bytes after whsec_ (it holds {len(raw)})"
        return None
    if len(value) < MIN_SECRET_LENGTH:
        return f"is too short: at least {MIN_SECRET_LENGTH} characters"
    return None


class SecretStore:
    """Reads named secrets from the environment, generating development ones on first use."""

    def __init__(self, *, production: bool, var_dir: Path, environ: Mapping[str, str] | None = None):
        self.production = production
        self.directory = var_dir / "secrets"
        self._environ = os.environ if environ is None else environ

    def get(self, name: str, *, webhook: bool = False) -> str:
        """The value of `name`. `webhook=True` marks a Standard Webhooks secret (`whsec_` form).
        Every value handed out is masked in the logs from then on."""
        value = self._environ.get(name)
        if value:
            # In production a malformed secret stops the start instead of failing every request.
            if self.production and (problem := secret_problem(value, webhook=webhook)):
                raise InvalidSecret(name, problem)
        else:
            if self.production:
                raise MissingSecret(name)
            value = self._development_secret(name, webhook=webhook)
        register_secret(value)
        return value

    def optional(self, name: str | None) -> str | None:
        """The value of `name` when it is set in the environment; never generated (e.g. an old key
        kept during a rotation). Masked in the logs like `get`'s."""
        value = self._environ.get(name) or None if name else None
        register_secret(value)
        return value

    def _development_secret(self, name: str, *, webhook: bool) -> str:
        path = self.directory / name
        if path.exists():
            return path.read_text().strip()
        private_directory(self.directory)
        value = ("whsec_" + base64.b64encode(random.token_bytes(32)).decode()) if webhook \
            else random.token_urlsafe(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process generated it first: use theirs
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(value + "\n")
        log.warning("generated development secret %s in %s", name, path)
        return value


def private_directory(path: Path) -> None:
    """Create `path` (and missing parents) readable by its owner only (0700); an existing directory
    is narrowed to 0700 too: it holds secrets and the development database."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
