"""Storm -> incident: when matching mentions come in much faster than usual for the hour of the
week, an incident groups their cases so that one reply can answer them all.

`config` and `detect` are pure (the rule folder's loader reads `incidents.yaml` into `config`'s
values and runs the folder's series tests through `series`); `service`, `worker` and `routes` are
the database, the worker loop and the HTTP API. Nothing in `app.cases` imports this package.
"""
