"""Learning from how people re-route cases: the routing-quality report, list suggestions for the
rule folder and the suggested department of cases no rule decided. Reads cases; never routes."""
