-- pnl_daily: the P&L of dated records per org, entity (and '_all' consolidated), booking day and scenario.
-- Only records with a booking date (record.date) count here; the days of a month add up to the
-- month's dated part, and records without a date count in pnl_monthly only. Amounts are NUMERIC
-- in the org's reporting currency, exactly what the dashboards read from the `days` of
-- aggregates/{entity}__{period}__{scenario}. No margins: a day's revenue is often zero.
WITH per_entity AS (
  SELECT org_id, entity_id, booking_date, period, scenario, reporting_currency, account_type,
    SUM(reporting_amount) AS amount, COUNT(*) AS records
  FROM `${project}.${dataset}.financial_records_latest`
  WHERE booking_date IS NOT NULL
  GROUP BY org_id, entity_id, booking_date, period, scenario, reporting_currency, account_type
),
by_type AS (
  SELECT * FROM per_entity
  UNION ALL
  SELECT org_id, '_all' AS entity_id, booking_date, period, scenario, reporting_currency, account_type,
    SUM(amount) AS amount, SUM(records) AS records
  FROM per_entity
  GROUP BY org_id, booking_date, period, scenario, reporting_currency, account_type
)
SELECT
  org_id, entity_id, booking_date, period, scenario, reporting_currency,
  SUM(IF(account_type = 'revenue', amount, 0)) AS revenue,
  SUM(IF(account_type = 'cogs', amount, 0)) AS cogs,
  SUM(IF(account_type = 'revenue', amount, 0)) - SUM(IF(account_type = 'cogs', amount, 0)) AS gross_profit,
  SUM(IF(account_type = 'opex', amount, 0)) AS opex,
  SUM(IF(account_type = 'revenue', amount, 0)) - SUM(IF(account_type = 'cogs', amount, 0))
    - SUM(IF(account_type = 'opex', amount, 0)) AS ebitda,
  SUM(IF(account_type = 'other_income', amount, 0)) AS other_income,
  SUM(IF(account_type = 'other_expense', amount, 0)) AS other_expense,
  SUM(IF(account_type = 'tax', amount, 0)) AS tax,
  SUM(IF(account_type = 'revenue', amount, 0)) - SUM(IF(account_type = 'cogs', amount, 0))
    - SUM(IF(account_type = 'opex', amount, 0)) + SUM(IF(account_type = 'other_income', amount, 0))
    - SUM(IF(account_type = 'other_expense', amount, 0)) - SUM(IF(account_type = 'tax', amount, 0)) AS net_income,
  SUM(records) AS record_count
FROM by_type
GROUP BY org_id, entity_id, booking_date, period, scenario, reporting_currency
