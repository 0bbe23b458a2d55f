// The admin console: one screen per kind of thing an admin manages, each reading live (listeners) and
// writing what firestore.rules lets an admin write (or calling the backend where the rules cannot decide).

import type { ReactNode } from 'react';

import { orgHref } from '../../lib/route';
import { useSession } from '../../lib/session';
import { MetricDefinitions } from '../DefinedKpis';
import { AccountsScreen } from './Accounts';
import { AlertRulesScreen } from './AlertRules';
import { ChannelsScreen } from './Channels';
import { EntitiesScreen } from './Entities';
import { FxRatesScreen } from './FxRates';
import { MembersScreen } from './Members';
import { OrgSettingsScreen } from './OrgSettings';
import { PeriodsScreen } from './Periods';
import { PlansScreen } from './Plans';
import { SchedulesScreen } from './Schedules';

interface Screen { key: string; label: string; render: () => ReactNode }

const SCREENS: Screen[] = [
  { key: 'members', label: 'Members & invitations', render: () => <MembersScreen /> },
  { key: 'organisation', label: 'Organisation & dimensions', render: () => <OrgSettingsScreen /> },
  { key: 'entities', label: 'Entities', render: () => <EntitiesScreen /> },
  { key: 'accounts', label: 'Chart of accounts', render: () => <AccountsScreen /> },
  { key: 'periods', label: 'Periods & close', render: () => <PeriodsScreen /> },
  { key: 'fx', label: 'FX rates', render: () => <FxRatesScreen /> },
  { key: 'plans', label: 'Budget & forecast', render: () => <PlansScreen /> },
  { key: 'metrics', label: 'KPI definitions', render: () => <MetricDefinitions /> },
  { key: 'alerts', label: 'Alert rules', render: () => <AlertRulesScreen /> },
  { key: 'channels', label: 'Notification channels', render: () => <ChannelsScreen /> },
  { key: 'schedules', label: 'Report schedules', render: () => <SchedulesScreen /> },
];

export function AdminConsole({ screen }: { screen: string }) {
  const { orgId } = useSession();
  const current = SCREENS.find((s) => s.key === screen) ?? SCREENS[0];
  return (
    <div className="admin-console" data-screen={current.key}>
      <nav className="admin-nav" aria-label="Admin screens">
        {SCREENS.map((s) => (
          <a key={s.key} href={orgHref(orgId, `admin/${s.key}`)} aria-current={s.key === current.key ? 'page' : undefined}>{s.label}</a>
        ))}
      </nav>
      <div className="admin-screen">{current.render()}</div>
    </div>
  );
}
