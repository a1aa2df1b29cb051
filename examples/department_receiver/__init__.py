"""A sample department system for Webcare Router (see README.md beside this file)."""
