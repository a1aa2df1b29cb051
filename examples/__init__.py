"""Runnable examples beside the service (not installed with it)."""
