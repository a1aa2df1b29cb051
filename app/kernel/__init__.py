"""The shared kernel: the few words every feature package uses, defined once.

`ids` (the primary-key column type), `clock` (the current instant, for the imperative shell only),
`vocabulary` (priorities, case statuses, department event types), `timefmt` (ISO 8601 with `Z`) and
`errors` (domain errors; `app.web.problems` alone turns them into problem JSON). Each module stands
alone: importing one does not import the others, so pure code can use `vocabulary`, `timefmt` and
`errors` without pulling in a database library.
"""
