"""Storm detection, pure: the watches of `incidents.yaml` (`config`), the detection over counted
mentions (`detect`) and the series tests that replay it (`series`). No database, no clock.

The rule set (`app.rules`) loads and tests the watches; `app.incidents` stores the incidents this
detects and acts on their cases.
"""
