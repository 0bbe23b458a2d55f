-- account_trends: monthly actuals per org, entity (and '_all' consolidated) and account, with
-- month-over-month and year-over-year growth and a 3-month moving average.
-- Windows range over a month index, so a missing month yields NULL instead of comparing with
-- the wrong month: previous_month / same_month_last_year are NULL when that month has no
-- records of the account, and moving_avg_3m is NULL unless all three months have some.
-- Growth percentages are relative to the absolute earlier value, with 4 decimals rounded half to
-- even (NULL when the earlier value is missing or zero), like budget_variance; the moving average
-- is rounded half to even at 2 decimals.
WITH per_entity AS (
  SELECT
    org_id, entity_id, account_id, account_type, period,
    SUM(reporting_amount) AS amount
  FROM `${project}.${dataset}.financial_records_latest`
  WHERE scenario = 'actual'
  GROUP BY org_id, entity_id, account_id, account_type, period
),
monthly AS (
  SELECT *, EXTRACT(YEAR FROM period) * 12 + EXTRACT(MONTH FROM period) AS month_index
  FROM (
    SELECT * FROM per_entity
    UNION ALL
    SELECT org_id, '_all' AS entity_id, account_id, account_type, period, SUM(amount) AS amount
    FROM per_entity
    GROUP BY org_id, account_id, account_type, period
  )
),
windowed AS (
  SELECT
    *,
    SUM(amount) OVER (PARTITION BY org_id, entity_id, account_id ORDER BY month_index
                      RANGE BETWEEN 1 PRECEDING AND 1 PRECEDING) AS previous_month,
    SUM(amount) OVER (PARTITION BY org_id, entity_id, account_id ORDER BY month_index
                      RANGE BETWEEN 12 PRECEDING AND 12 PRECEDING) AS same_month_last_year,
    SUM(amount) OVER (PARTITION BY org_id, entity_id, account_id ORDER BY month_index
                      RANGE BETWEEN 2 PRECEDING AND CURRENT ROW) AS sum_3m,
    COUNT(*) OVER (PARTITION BY org_id, entity_id, account_id ORDER BY month_index
                   RANGE BETWEEN 2 PRECEDING AND CURRENT ROW) AS months_in_average
  FROM monthly
),
ratios AS (
  SELECT
    *,
    SAFE_DIVIDE((amount - previous_month) * 100, IF(previous_month < 0, -previous_month, previous_month)) * 10000 AS mom_x4,
    SAFE_DIVIDE((amount - same_month_last_year) * 100,
                IF(same_month_last_year < 0, -same_month_last_year, same_month_last_year)) * 10000 AS yoy_x4,
    IF(months_in_average = 3, sum_3m * 100 / NUMERIC '3', NULL) AS moving_avg_x2
  FROM windowed
)
SELECT
  org_id, entity_id, account_id, account_type, period, amount,
  previous_month,
  (CASE WHEN ABS(mom_x4 - TRUNC(mom_x4)) = 0.5 AND MOD(CAST(TRUNC(mom_x4) AS INT64), 2) = 0
        THEN TRUNC(mom_x4) ELSE ROUND(mom_x4) END) / NUMERIC '10000' AS mom_growth_pct,
  same_month_last_year,
  (CASE WHEN ABS(yoy_x4 - TRUNC(yoy_x4)) = 0.5 AND MOD(CAST(TRUNC(yoy_x4) AS INT64), 2) = 0
        THEN TRUNC(yoy_x4) ELSE ROUND(yoy_x4) END) / NUMERIC '10000' AS yoy_growth_pct,
  (CASE WHEN ABS(moving_avg_x2 - TRUNC(moving_avg_x2)) = 0.5 AND MOD(CAST(TRUNC(moving_avg_x2) AS INT64), 2) = 0
        THEN TRUNC(moving_avg_x2) ELSE ROUND(moving_avg_x2) END) / NUMERIC '100' AS moving_avg_3m
FROM ratios
