"""Analytics sink: every applied record change streamed into BigQuery `financial_facts`, dead letters, replay."""
