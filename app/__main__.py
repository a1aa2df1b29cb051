"""`python -m app` is `webcare`."""

from app.cli import main

main()
