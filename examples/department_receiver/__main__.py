"""`python -m examples.department_receiver`: run the sample department system (README.md beside this)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import uvicorn

from examples.department_receiver.app import ReceiverConfig, create_receiver

PORTS = {"billing": 8801, "network": 8802, "privacy": 8803}  # where the example departments.yaml points


def secret_for(department: str, var_dir: Path) -> str:
    """The webhook secret: from <DEPARTMENT>_WEBHOOK_SECRET, else the one the service generated in
    development under var/secrets/ (the example departments.yaml names these variables)."""
    name = f"{department.upper()}_WEBHOOK_SECRET"
    if value := os.environ.get(name):
        return value
    path = var_dir / "secrets" / name
    if path.exists():
        return path.read_text().strip()
    raise SystemExit(f"set {name} (the department's whsec_... secret), or start `webcare serve` once so "
                     f"that it generates {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--department", default="billing")
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    parser.add_argument("--port", type=int, default=None, help="default: where departments.yaml points")
    parser.add_argument("--webcare-url", default=os.environ.get("WEBCARE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--var-dir", type=Path, default=Path(os.environ.get("WEBCARE_VAR_DIR", "var")))
    args = parser.parse_args()
    token = os.environ.get("WEBCARE_TOKEN")
    if not token:
        raise SystemExit(f"set WEBCARE_TOKEN to a department token: webcare tokens create --department "
                         f"{args.department}")
    config = ReceiverConfig(secret=secret_for(args.department, args.var_dir), token=token,
                            webcare_url=args.webcare_url, department=args.department)
    uvicorn.run(create_receiver(config), host=args.host, port=args.port or PORTS.get(args.department, 8801))


if __name__ == "__main__":
    main()
