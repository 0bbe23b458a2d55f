-- metrics_latest: every metric (the built-in P&L metrics and the org's own definitions) per org,
-- entity (and '_all' consolidated), scenario and period, equal to the backend's metric series
-- (metric_series documents, kpis/current). metric_values keeps one row per changed value of a
-- series document, stamped with the document's version: the newest row of a cell is its value;
-- a cell whose newest row is a delete (a disabled metric) is left out. value is NUMERIC: money in
-- the reporting currency, percent in points, ratio, days and months at their decimals; NULL is
-- undefined (a division by zero, a window reaching before the first period).
SELECT * EXCEPT (rank_in_cell, op, row_id)
FROM (
  SELECT v.*, ROW_NUMBER() OVER (
    PARTITION BY org_id, entity_id, scenario, metric_id, period
    ORDER BY series_version DESC, computed_at DESC, row_id DESC
  ) AS rank_in_cell
  FROM `${project}.${dataset}.metric_values` AS v
)
WHERE rank_in_cell = 1 AND op = 'set'
