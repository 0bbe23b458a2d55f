-- alerts_latest: the latest state of every alert (the alerts table keeps every state change).
SELECT * EXCEPT (rank_in_alert)
FROM (
  SELECT a.*, ROW_NUMBER() OVER (PARTITION BY org_id, alert_id ORDER BY changed_at DESC, change_id) AS rank_in_alert
  FROM `${project}.${dataset}.alerts` AS a
)
WHERE rank_in_alert = 1
