-- budget_variance: actual vs budget per org, entity (and '_all' consolidated), period and account,
-- the same lines as the dashboards' variance documents (accounts with nothing booked and nothing
-- planned are left out).
-- variance = actual - budget (positive: more than planned, whatever the account type);
-- variance_pct = variance * 100 / |budget| with 4 decimals rounded half to even (NULL when the
-- budget is zero), so the sign still means "above plan" when the plan is negative;
-- favourable follows the account type: more revenue, other income, assets or equity is good
-- news, more of any cost or liability is not; a line exactly on plan is favourable.
WITH per_entity AS (
  SELECT org_id, entity_id, period, account_id, account_type,
    SUM(IF(scenario = 'actual', reporting_amount, 0)) AS actual,
    SUM(IF(scenario = 'budget', reporting_amount, 0)) AS budget
  FROM `${project}.${dataset}.financial_records_latest`
  WHERE scenario IN ('actual', 'budget')
  GROUP BY org_id, entity_id, period, account_id, account_type
),
with_consolidated AS (
  SELECT * FROM per_entity
  UNION ALL
  SELECT org_id, '_all' AS entity_id, period, account_id, account_type, SUM(actual) AS actual, SUM(budget) AS budget
  FROM per_entity
  GROUP BY org_id, period, account_id, account_type
),
ratios AS (
  SELECT
    *,
    actual - budget AS variance,
    -- |budget| written as IF(...) rather than ABS(): see pnl_monthly.sql on emulator-safe SQL.
    SAFE_DIVIDE((actual - budget) * 100, IF(budget < 0, -budget, budget)) * 10000 AS variance_x4
  FROM with_consolidated
  WHERE actual != 0 OR budget != 0
)
SELECT
  org_id, entity_id, period, account_id, account_type, actual, budget, variance,
  (CASE WHEN ABS(variance_x4 - TRUNC(variance_x4)) = 0.5 AND MOD(CAST(TRUNC(variance_x4) AS INT64), 2) = 0
        THEN TRUNC(variance_x4) ELSE ROUND(variance_x4) END) / NUMERIC '10000' AS variance_pct,
  IF(account_type IN ('revenue', 'other_income', 'asset', 'equity'), actual >= budget, actual <= budget) AS favourable
FROM ratios
