-- dimension_totals: the totals per declared dimension value, per org, dimension, value, entity (and '_all'
-- consolidated), period, scenario and account; what the dashboards read from
-- dimension_aggregates/{dimension}__{value}__{entity}__{period}__{scenario} (accounts, record_count).
-- A record counts once under every dimension it carries; records without a dimension are not in
-- its rows. Amounts are NUMERIC in the org's reporting currency; group further by account_type
-- for P&L lines per value (e.g. revenue per region).
WITH per_entity AS (
  SELECT org_id, d.name AS dimension, d.value AS dimension_value, entity_id, period, scenario,
    reporting_currency, account_id, account_type,
    SUM(reporting_amount) AS amount, COUNT(*) AS record_count
  FROM `${project}.${dataset}.financial_records_latest`, UNNEST(dimensions) AS d
  GROUP BY org_id, d.name, d.value, entity_id, period, scenario, reporting_currency, account_id, account_type
)
SELECT * FROM per_entity
UNION ALL
SELECT org_id, dimension, dimension_value, '_all' AS entity_id, period, scenario, reporting_currency, account_id,
  account_type, SUM(amount) AS amount, SUM(record_count) AS record_count
FROM per_entity
GROUP BY org_id, dimension, dimension_value, period, scenario, reporting_currency, account_id, account_type
