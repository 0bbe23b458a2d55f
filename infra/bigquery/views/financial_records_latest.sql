-- financial_records_latest: the current state of every financial record, exactly once.
-- financial_facts is an append-only changelog written at least once per change: the streaming
-- path may repeat a row (a redelivered message, a re-driven dead letter), a replay writes rows
-- the stream already wrote, and insertId de-duplication is best effort only. The view is exact
-- by construction: per record the highest version wins; at equal versions a delete outranks the
-- upsert it removed; rows still tied are copies of one change and collapse to one. Deleted
-- records disappear. `booking_date` is the record's booking date (NULL when it has none). `dimensions` holds the record's declared dimensions as (name, value) pairs.
SELECT
  event_id, org_id, record_id, version, entity_id, account_id, account_type, period, booking_date, scenario,
  amount, currency, reporting_amount, reporting_currency, source, occurred_at, ingested_at, dimensions
FROM (
  -- The columns are listed rather than f.*: the local BigQuery emulator cannot bind a view on
  -- this one (pnl_monthly, budget_variance) when f.* brings the REPEATED dimensions column along.
  SELECT
    event_id, org_id, record_id, version, op, entity_id, account_id, account_type, period, booking_date, scenario,
    amount, currency, reporting_amount, reporting_currency, source, occurred_at, ingested_at, dimensions,
    ROW_NUMBER() OVER (
      PARTITION BY org_id, record_id
      ORDER BY version DESC, IF(op = 'delete', 1, 0) DESC, ingested_at DESC, event_id DESC
    ) AS rank_in_record
  FROM `${project}.${dataset}.financial_facts` AS f
)
WHERE rank_in_record = 1 AND op = 'upsert'
