"""Drill-down: the history of a record (its rows in BigQuery) and exports of what a dashboard shows."""
