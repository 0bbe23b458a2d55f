-- pnl_monthly: the P&L the dashboards show, per org, entity (and '_all' consolidated), period and scenario.
-- Amounts are NUMERIC in the org's reporting currency. Margins are percentages of revenue with
-- 4 decimals rounded half to even, like the backend's metrics (NULL when revenue is zero):
-- x4 is the margin times 10^4; a value exactly halfway between two integers goes to the even one.
-- (Written out with TRUNC/ROUND/MOD instead of ROUND(x, 4, 'ROUND_HALF_EVEN') so the same SQL is
-- exact on the local emulator, whose ROUND_HALF_EVEN goes through binary floating point.)
WITH per_entity AS (
  SELECT org_id, entity_id, period, scenario, reporting_currency, account_type,
    SUM(reporting_amount) AS amount, COUNT(*) AS records
  FROM `${project}.${dataset}.financial_records_latest`
  GROUP BY org_id, entity_id, period, scenario, reporting_currency, account_type
),
by_type AS (
  SELECT * FROM per_entity
  UNION ALL
  SELECT org_id, '_all' AS entity_id, period, scenario, reporting_currency, account_type,
    SUM(amount) AS amount, SUM(records) AS records
  FROM per_entity
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
    SUM(IF(account_type = 'tax', amount, 0)) AS tax,
    SUM(records) AS record_count
  FROM by_type
  GROUP BY org_id, entity_id, period, scenario, reporting_currency
),
metrics AS (
  SELECT
    *,
    revenue - cogs AS gross_profit,
    revenue - cogs - opex AS ebitda,
    revenue - cogs - opex + other_income - other_expense - tax AS net_income
  FROM pivoted
),
ratios AS (
  SELECT
    *,
    SAFE_DIVIDE(gross_profit * 100, revenue) * 10000 AS gross_margin_x4,
    SAFE_DIVIDE(ebitda * 100, revenue) * 10000 AS ebitda_margin_x4,
    SAFE_DIVIDE(net_income * 100, revenue) * 10000 AS net_margin_x4
  FROM metrics
)
SELECT
  org_id, entity_id, period, scenario, reporting_currency,
  revenue, cogs, gross_profit,
  (CASE WHEN ABS(gross_margin_x4 - TRUNC(gross_margin_x4)) = 0.5 AND MOD(CAST(TRUNC(gross_margin_x4) AS INT64), 2) = 0
        THEN TRUNC(gross_margin_x4) ELSE ROUND(gross_margin_x4) END) / NUMERIC '10000' AS gross_margin_pct,
  opex, ebitda,
  (CASE WHEN ABS(ebitda_margin_x4 - TRUNC(ebitda_margin_x4)) = 0.5 AND MOD(CAST(TRUNC(ebitda_margin_x4) AS INT64), 2) = 0
        THEN TRUNC(ebitda_margin_x4) ELSE ROUND(ebitda_margin_x4) END) / NUMERIC '10000' AS ebitda_margin_pct,
  other_income, other_expense, tax, net_income,
  (CASE WHEN ABS(net_margin_x4 - TRUNC(net_margin_x4)) = 0.5 AND MOD(CAST(TRUNC(net_margin_x4) AS INT64), 2) = 0
        THEN TRUNC(net_margin_x4) ELSE ROUND(net_margin_x4) END) / NUMERIC '10000' AS net_margin_pct,
  record_count
FROM ratios
