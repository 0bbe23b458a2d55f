-- pnl_weekly: the P&L of dated records per org, entity (and '_all'), ISO 8601 week (Monday to
-- Sunday) and scenario. `iso_week` reads 'YYYY-Www' with the ISO year (2026-12-31 is in 2026-W53);
-- `week_start` is its Monday. A week that spans two months adds the days of both, as the
-- dashboards' weekly figures do (finance_core.days). It reads financial_records_latest, not pnl_daily:
-- Terraform creates two levels of views (infra/terraform/bigquery.tf).
-- The week is computed with plain date arithmetic (the Monday on or before the day, 2000-01-03
-- being a Monday; the ISO year and week of that week's Thursday) rather than ISOWEEK/ISOYEAR,
-- so the same SQL runs on the local emulator.
WITH dated AS (
  SELECT *,
    DATE_SUB(booking_date, INTERVAL MOD(MOD(DATE_DIFF(booking_date, DATE '2000-01-03', DAY), 7) + 7, 7) DAY)
      AS week_start
  FROM `${project}.${dataset}.financial_records_latest`
  WHERE booking_date IS NOT NULL
),
weeks AS (
  SELECT *, DATE_ADD(week_start, INTERVAL 3 DAY) AS thursday FROM dated
),
per_entity AS (
  SELECT org_id, entity_id,
    FORMAT('%04d-W%02d', EXTRACT(YEAR FROM thursday),
      DIV(DATE_DIFF(thursday, DATE_TRUNC(thursday, YEAR), DAY), 7) + 1) AS iso_week,
    week_start, scenario, reporting_currency, account_type,
    SUM(reporting_amount) AS amount, COUNT(*) AS records
  FROM weeks
  GROUP BY org_id, entity_id, iso_week, week_start, scenario, reporting_currency, account_type
),
by_type AS (
  SELECT * FROM per_entity
  UNION ALL
  SELECT org_id, '_all' AS entity_id, iso_week, week_start, scenario, reporting_currency, account_type,
    SUM(amount) AS amount, SUM(records) AS records
  FROM per_entity
  GROUP BY org_id, iso_week, week_start, scenario, reporting_currency, account_type
)
SELECT
  org_id, entity_id, iso_week, week_start, scenario, reporting_currency,
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
GROUP BY org_id, entity_id, iso_week, week_start, scenario, reporting_currency
