"""Alerts: rule evaluation on change events, alert lifecycle, notification grouping, escalation and channels."""
