"""Replies to customers sent through their platform after the `respond` action commits."""
