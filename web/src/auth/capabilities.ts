// What each role may do in the dashboard. The server decides (403 otherwise);
// this only hides or disables what would be refused, and says which role is needed.

export type Capability =
  | 'alerts.act' // acknowledge / resolve
  | 'models.train'
  | 'models.manage' // promote / roll back
  | 'forecast.settings'
  | 'alerts.rules'
  | 'accounts.manage' // users and API keys
  | 'reports.run'; // performance reports and their CSV / PDF

const ALLOWED: Record<Capability, readonly string[]> = {
  'alerts.act': ['analyst', 'admin'],
  'models.train': ['analyst', 'admin'],
  'models.manage': ['admin'],
  'forecast.settings': ['admin'],
  'alerts.rules': ['admin'],
  'accounts.manage': ['admin'],
  'reports.run': ['analyst', 'admin'],
};

export const CAPABILITIES = Object.keys(ALLOWED) as Capability[];

export function can(role: string | null | undefined, capability: Capability): boolean {
  return role != null && ALLOWED[capability].includes(role);
}

/** Every capability of `role` (none for null, unknown roles and the machine role "api"). */
export function capabilitiesOf(role: string | null | undefined): ReadonlySet<Capability> {
  return new Set(CAPABILITIES.filter((c) => can(role, c)));
}

/** The tooltip of a control the role may not use: "Needs the analyst or admin role". */
export function requirement(capability: Capability): string {
  const roles = ALLOWED[capability];
  const list = roles.length === 1 ? roles[0] : `${roles.slice(0, -1).join(', ')} or ${roles[roles.length - 1]}`;
  return `Needs the ${list} role`;
}
