-- financial_records_latest: the current state of every financial record, exactly once.
-- financial_facts is an append-only changelog written at least once per change (streaming
-- retries may repeat a row). Per record, the highest version wins; on equal versions a delete
-- outranks the upsert it removed; repeated rows of the same change collapse to one. Deleted
-- records disappear.
SELECT
  event_id, org_id, record_id, version, entity_id, account_id, account_type, period, scenario,
  amount, currency, reporting_amount, reporting_currency, source, occurred_at, ingested_at
FROM (
  SELECT
    f.*,
    ROW_NUMBER() OVER (
      PARTITION BY org_id, record_id
      ORDER BY version DESC, IF(op = 'delete', 1, 0) DESC, ingested_at DESC, event_id
    ) AS rank_in_record
  FROM `${project}.${dataset}.financial_facts` AS f
)
WHERE rank_in_record = 1 AND op = 'upsert'
