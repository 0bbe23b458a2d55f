"""Trends and forecasts: organizations/{org}/trends/* kept current from change events, debounced."""
