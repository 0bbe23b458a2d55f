// Shapes of the Firestore documents the dashboard reads (docs/dashboard-clients.md, contract v1).
import type { Timestamp } from 'firebase/firestore';

import type { MetricDescription, MetricUnit } from './metrics';
import { STANDARD_METRICS, type AccountType } from './standardMetrics';

export type Role = 'viewer' | 'editor' | 'admin';

export interface Member { role: Role; uid: string; display_name?: string; email?: string; joined_at?: Timestamp }

/** organizations/{org}/invitations/{id}: written by admins, answered by the backend (status, delivery, accepted_*). */
export interface InvitationDoc {
  email: string; role: Role; invited_by: string; created_at?: Timestamp; expires_at?: Timestamp; display_name?: string;
  status?: 'issued' | 'sent' | 'send_failed' | 'accepted';
  delivery?: { attempts?: number; delivered_at?: Timestamp | null; last_error?: string | null };
  accepted_by?: string; accepted_at?: Timestamp;
}
export interface Org {
  name: string; reporting_currency: string; fiscal_year_start_month: number; current_period?: string;
  /** Declared record dimensions (docs/kpis.md#dimensions): name -> label and optional closed list of values. */
  dimensions?: Record<string, { label?: string; values?: string[] }>;
}
export interface Entity { name: string; currency: string; parent_id?: string | null }
export interface Account { name: string; type: AccountType; parent_id?: string | null }
export interface PeriodDoc { status: 'open' | 'closed' }

/** Labels of the standard metrics, from the core's definitions (standardMetrics.ts, generated). */
export const METRIC_LABELS: Record<string, string> = Object.fromEntries(
  Object.entries(STANDARD_METRICS).map(([metric, description]) => [metric, description.label]),
);

export interface Kpi {
  value: number | null;
  previous: number | null;
  change: number | null;
  change_pct: number | null;
  budget: number | null;
  vs_budget_pct: number | null;
  series: { period: string; value: number | null }[];
  /** True for the org's own metric definitions (metric_definitions), absent on the built-in ones. */
  defined?: boolean;
  /** 'cash_forecast' on burn and runway (net_burn, runway_months): the live 13-week forecast's, not a month's. */
  basis?: 'cash_forecast';
  status?: CashRunway['status'];
  as_of?: string | null;
}

/** Burn and runway of the 13-week cash forecast, as the backend computed them (finance_core.cash.CashRunway):
 * `kpis/current.cash` and `trends/cash__forecast.runway`. Shown as they are: no formula of its own here. */
export interface CashRunway {
  status: 'burning' | 'not_burning' | 'no_history' | 'no_cash_accounts';
  as_of: string | null;
  cash_minor: number | null;
  burn_weekly_minor: number | null;
  burn_monthly_minor: number | null;
  runway_weeks: number | null;
  /** Exact text with one decimal ("4.8"), null unless burning. */
  runway_months: string | null;
  definition: string;
}

export interface KpisDoc {
  period: string; previous_period: string; currency: string; kpis: Record<string, Kpi>; comment_count?: number;
  /** How to show each metric beyond the headline ones: label, unit, direction, decimals, expression. */
  definitions?: Record<string, MetricDescription>;
  cash?: CashRunway;
  /** The month's consolidated actual aggregate and its variance, as their own documents have them
   *  (null before the month has any actual): the overview reads its month from here (hooks/liveMonth.ts). */
  month_actual?: AggregateDoc | null;
  month_variance?: Omit<VarianceDoc, 'id'> | null;
}

/** organizations/{org}/metric_definitions/{id}: written by admins, answered by the backend (status, error). */
export interface MetricDefinitionDoc {
  label: string; expression: string; unit?: MetricUnit; direction?: string; decimals?: number; description?: string;
  enabled?: boolean; source?: string;
  status?: 'active' | 'invalid' | 'disabled'; error?: { path: string; message: string } | null;
  active_expression?: string | null; warnings?: string[];
}

export interface AggregateDoc {
  entity_id: string;
  period: string;
  scenario: string;
  accounts: Record<string, number>;
  rollups: Record<string, number>;
  metrics: Record<string, number | null>;
  record_count: number;
  currency: string;
  comment_count?: number;
}

export interface VarianceLine {
  account_id: string; account_name: string; account_type: AccountType;
  actual_minor: number; comparison_minor: number; variance_minor: number; variance_pct: number | null; favourable: boolean;
}
export interface MetricVarianceLine {
  label: string; unit: 'minor' | 'points' | 'ratio' | 'days' | 'months' | 'count'; actual: number; comparison: number;
  variance: number; variance_pct: number | null;
  /** null for a defined metric whose direction is neutral. */
  favourable: boolean | null;
  /** true for the org's own metrics (metric_definitions). */
  defined?: boolean;
}
export interface VarianceSection { top: VarianceLine[]; metrics: Record<string, MetricVarianceLine>; line_count: number }
export interface VarianceDoc { entity_id: string; period: string; currency: string; vs_budget: VarianceSection; vs_forecast?: VarianceSection; top: VarianceLine[] }

export interface TrendDoc {
  name: string; pattern: string; growth_rate_pct: number | null; r_squared: number | null;
  series: { period: string; value_minor: number }[];
  forecast: { period: string; value_minor: number; lower_minor: number; upper_minor: number }[];
}

export interface AlertDoc {
  rule_id: string; severity: 'info' | 'warning' | 'critical'; title: string; description?: string;
  status: 'active' | 'acknowledged' | 'resolved'; count: number; first_seen?: Timestamp; last_seen?: Timestamp;
  escalation_level?: number; acknowledged_by?: string; acknowledged_at?: Timestamp; period?: string; entity_id?: string;
  comment_count?: number;
}

export interface DataQualityDoc {
  counts?: Record<string, number>; total?: number; rejected_by_reason?: Record<string, number>;
  last_event_at?: Timestamp; [key: string]: unknown;
}

export interface IngestionErrorDoc { reason: string; code: string; event_id: string; received_at?: Timestamp; raw?: string }

export interface ManualEntryDoc {
  record_id: string; entity_id: string; account_id: string; period: string; scenario: string; amount: string;
  currency: string; memo?: string; created_by: string; created_at?: Timestamp;
  status?: 'accepted' | 'rejected'; reason?: string; outcome?: string;
}

export interface PresenceDoc { dashboard_id: string; display_name: string; last_seen?: Timestamp; expires_at: Timestamp }
export interface CommentDoc { target_path: string; uid: string; text: string; created_at?: Timestamp; edited_at?: Timestamp }
