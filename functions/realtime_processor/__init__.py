"""Realtime processor: a record written -> exact aggregate deltas -> readable aggregates, KPIs, variance
-> change event."""
