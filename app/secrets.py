"""The secrets that `routing_rules/` names by environment variable, and the session key.

This is the one module that reads those variables. In development a missing secret is generated
once under `<var_dir>/secrets/` (its location is logged, its value never); in production a missing
secret is an error naming the variable, so a start with a missing secret stops.
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
        if not value:
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
        self.directory.mkdir(parents=True, exist_ok=True)
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
