-- account_trends: monthly actuals per org, entity and account with month-over-month and
-- year-over-year growth and a 3-month moving average. Windows range over a month index, so a
-- missing month yields NULL growth instead of comparing with the wrong month.
WITH monthly AS (
  SELECT
    org_id, entity_id, account_id, account_type, period,
    EXTRACT(YEAR FROM period) * 12 + EXTRACT(MONTH FROM period) AS month_index,
    SUM(reporting_amount) AS amount
  FROM `${project}.${dataset}.financial_records_latest`
  WHERE scenario = 'actual'
  GROUP BY org_id, entity_id, account_id, account_type, period
),
windowed AS (
  SELECT
    *,
    SUM(amount) OVER (PARTITION BY org_id, entity_id, account_id ORDER BY month_index
                      RANGE BETWEEN 1 PRECEDING AND 1 PRECEDING) AS previous_month,
    SUM(amount) OVER (PARTITION BY org_id, entity_id, account_id ORDER BY month_index
                      RANGE BETWEEN 12 PRECEDING AND 12 PRECEDING) AS same_month_last_year,
    AVG(amount) OVER (PARTITION BY org_id, entity_id, account_id ORDER BY month_index
                      RANGE BETWEEN 2 PRECEDING AND CURRENT ROW) AS moving_avg_3m,
    COUNT(*) OVER (PARTITION BY org_id, entity_id, account_id ORDER BY month_index
                   RANGE BETWEEN 2 PRECEDING AND CURRENT ROW) AS months_in_average
  FROM monthly
)
SELECT
  org_id, entity_id, account_id, account_type, period, amount,
  previous_month,
  ROUND(SAFE_DIVIDE(amount - previous_month, ABS(previous_month)) * 100, 4) AS mom_growth_pct,
  same_month_last_year,
  ROUND(SAFE_DIVIDE(amount - same_month_last_year, ABS(same_month_last_year)) * 100, 4) AS yoy_growth_pct,
  IF(months_in_average = 3, ROUND(moving_avg_3m, 2), NULL) AS moving_avg_3m
FROM windowed
