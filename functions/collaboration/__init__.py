"""Collaboration: presence on dashboards and comments on the numbers (counts kept on their targets)."""
