import { useMemo, useState } from 'react';

import { dataOf, useQuery, type Live } from '../hooks/live';
import { LiveMonthContext } from '../hooks/liveMonth';
import { metricAccountTypes } from '../lib/metrics';
import { periodInProgress } from '../lib/periods';
import { canEdit, orgPath, useSession } from '../lib/session';
import { STANDARD_METRICS } from '../lib/standardMetrics';
import { METRIC_LABELS, type Account, type Entity, type KpisDoc, type Member, type PeriodDoc } from '../lib/types';
import { Alerts } from './Alerts';
import { CommentsProvider } from './Comments';
import { DataQuality } from './DataQuality';
import { CashSection, RevenueSection } from './DaysSection';
import { DefinedKpis } from './DefinedKpis';
import { DrillDown, type DrillTarget } from './DrillDown';
import { ManualEntryForm, UploadForm } from './EditorTools';
import { KpiCards } from './KpiCards';
import { leafAccounts, TopVariances } from './PnlSection';
import { PnlStatement } from './PnlStatement';
import { Presence } from './Presence';
import { TrendSection } from './TrendSection';

export function Dashboard({ kpisLive }: { kpisLive: Live<KpisDoc & { id: string }> }) {
  const { services, orgId, org, role } = useSession();
  const db = services.db;
  const entities = dataOf(useQuery<Entity>(db, orgPath(orgId, 'entities'), [], 'all')) ?? [];
  const accounts = dataOf(useQuery<Account>(db, orgPath(orgId, 'accounts'), [], 'all')) ?? [];
  const periodDocs = dataOf(useQuery<PeriodDoc>(db, orgPath(orgId, 'periods'), [], 'all')) ?? [];
  const members = dataOf(useQuery<Member>(db, orgPath(orgId, 'members'), [], 'all')) ?? [];
  const kpis = dataOf(kpisLive);
  const inProgress = periodInProgress(org.current_period);
  const periods = periodDocs.map((p) => p.id).sort();
  const [entityId, setEntityId] = useState('_all');
  const [chosenPeriod, setPeriod] = useState<string | null>(null);
  const period = chosenPeriod ?? kpis?.period ?? inProgress;
  const memberNames = useMemo(() => new Map(members.map((m) => [m.id, m.display_name ?? m.email ?? m.id])), [members]);
  const entityName = entityId === '_all' ? 'Consolidated' : entities.find((e) => e.id === entityId)?.name ?? entityId;
  const openPeriods = periodDocs.filter((p) => p.status !== 'closed').map((p) => p.id).sort();
  const [drill, setDrill] = useState<DrillTarget | null>(null);

  return (
    <LiveMonthContext.Provider value={kpisLive}>
    <CommentsProvider members={memberNames}>
      <div className="toolbar" role="group" aria-label="What to show">
        <h2 className="org-name">{org.name}</h2>
        <label>Entity
          <select value={entityId} onChange={(e) => setEntityId(e.target.value)} data-testid="entity-picker">
            <option value="_all">Consolidated</option>
            {entities.map((e) => <option key={e.id} value={e.id}>{e.name}</option>)}
          </select>
        </label>
        <label>Period
          <select value={period} onChange={(e) => setPeriod(e.target.value)} data-testid="period-picker">
            {(periods.includes(period) ? periods : [...periods, period].sort()).map((p) => <option key={p} value={p}>{p}</option>)}
          </select>
        </label>
        <Presence />
      </div>
      <KpiCards inProgress={inProgress} live={kpisLive} onDrill={(metric, kpiPeriod) => setDrill({
        // The headline KPIs are the consolidated actuals: their records are those of every entity.
        label: METRIC_LABELS[metric] ?? metric, entityId: '_all', period: kpiPeriod, scenario: 'actual',
        // The accounts the backend resolved the metric's definition to (kpis/current.definitions), as for the
        // org's own KPIs; before a document carries them, the account types of its standard definition.
        accountIds: kpis?.definitions?.[metric]?.accounts ?? leafAccounts(accounts, metricAccountTypes(metric, STANDARD_METRICS)),
      })} />
      <DefinedKpis live={kpisLive} onDrill={setDrill} />
      <div className="columns">
        <div className="main-column">
          <TrendSection />
          <RevenueSection />
          <CashSection />
          {drill
            ? <DrillDown target={drill} entities={entities} onClose={() => setDrill(null)} />
            : <>
                <PnlStatement entityId={entityId} period={period} inProgress={inProgress} entityName={entityName} onDrill={setDrill} />
                <TopVariances entityId={entityId} period={period} inProgress={inProgress} onDrill={setDrill} />
              </>}
        </div>
        <div className="side-column">
          <Alerts members={memberNames} />
          <DataQuality />
        </div>
      </div>
      {canEdit(role) && entities.length > 0 && accounts.length > 0 && (
        <div className="columns">
          <div className="main-column">
            <ManualEntryForm entities={entities} accounts={accounts} periods={openPeriods.length ? openPeriods : periods}
                             defaultPeriod={openPeriods.includes(inProgress) ? inProgress : (openPeriods[0] ?? inProgress)} />
          </div>
          <div className="side-column"><UploadForm /></div>
        </div>
      )}
    </CommentsProvider>
    </LiveMonthContext.Provider>
  );
}
