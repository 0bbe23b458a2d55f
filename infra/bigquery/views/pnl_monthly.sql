-- pnl_monthly: the P&L the dashboards show, per org, entity (and '_all' consolidated), period and scenario.
-- Amounts are in the org's reporting currency; margins are percentages with 4 decimals, NULL
-- when there is no revenue.
WITH by_type AS (
  SELECT org_id, entity_id, period, scenario, reporting_currency, account_type, SUM(reporting_amount) AS amount
  FROM `${project}.${dataset}.financial_records_latest`
  GROUP BY org_id, entity_id, period, scenario, reporting_currency, account_type
  UNION ALL
  SELECT org_id, '_all' AS entity_id, period, scenario, reporting_currency, account_type, SUM(reporting_amount) AS amount
  FROM `${project}.${dataset}.financial_records_latest`
  GROUP BY org_id, period, scenario, reporting_currency, account_type
),
pivoted AS (
  SELECT
    org_id, entity_id, period, scenario, reporting_currency,
    SUM(IF(account_type = 'revenue', amount, 0)) AS revenue,
    SUM(IF(account_type = 'cogs', amount, 0)) AS cogs,
    SUM(IF(account_type = 'opex', amount, 0)) AS opex,
    SUM(IF(account_type = 'other_income', amount, 0)) AS other_income,
    SUM(IF(account_type = 'other_expense', amount, 0)) AS other_expense,
    SUM(IF(account_type = 'tax', amount, 0)) AS tax
  FROM by_type
  GROUP BY org_id, entity_id, period, scenario, reporting_currency
)
SELECT
  org_id, entity_id, period, scenario, reporting_currency,
  revenue, cogs,
  revenue - cogs AS gross_profit,
  ROUND(SAFE_DIVIDE(revenue - cogs, revenue) * 100, 4) AS gross_margin_pct,
  opex,
  revenue - cogs - opex AS ebitda,
  ROUND(SAFE_DIVIDE(revenue - cogs - opex, revenue) * 100, 4) AS ebitda_margin_pct,
  other_income, other_expense, tax,
  revenue - cogs - opex + other_income - other_expense - tax AS net_income,
  ROUND(SAFE_DIVIDE(revenue - cogs - opex + other_income - other_expense - tax, revenue) * 100, 4) AS net_margin_pct
FROM pivoted
