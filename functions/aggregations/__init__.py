"""Aggregations: sharded exact aggregates, derived KPI/variance documents, and reconciliation."""
