"""Storm -> incident: when matching mentions come in much faster than usual for the hour of the
week, an incident groups their cases so that one reply can answer them all.

The pure core (the watches, the detection, the series tests) is `app.storms`, which the rule
folder's loader uses without depending on this package; `service`, `worker` and `routes` are the
database, the worker loop and the HTTP API. Nothing in `app.cases` imports this package.
"""
