-- budget_variance: actual vs budget per org, entity (and '_all'), period and account.
-- variance = actual - budget; variance_pct relative to the absolute budget (NULL when the budget
-- is zero); favourable follows the account type: more revenue, other income, assets or equity is
-- good news, more of any cost is not.
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
)
SELECT
  org_id, entity_id, period, account_id, account_type, actual, budget,
  actual - budget AS variance,
  ROUND(SAFE_DIVIDE(actual - budget, ABS(budget)) * 100, 4) AS variance_pct,
  IF(account_type IN ('revenue', 'other_income', 'asset', 'equity'), actual >= budget, actual <= budget) AS favourable
FROM with_consolidated
