import { describe, expect, it } from 'vitest';
import { can, CAPABILITIES, capabilitiesOf, requirement } from './capabilities';

describe('role capabilities', () => {
  it('lets a viewer (and the machine role, and nobody) change nothing', () => {
    for (const role of ['viewer', 'api', null, undefined, 'root', '']) expect(capabilitiesOf(role).size).toBe(0);
  });

  it('lets an analyst act on alerts, retrain and run reports, but not manage models, settings, rules or accounts', () => {
    expect([...capabilitiesOf('analyst')].sort()).toEqual(['alerts.act', 'models.train', 'reports.run']);
    expect(can('analyst', 'models.manage')).toBe(false);
    expect(can('analyst', 'alerts.rules')).toBe(false);
  });

  it('lets an admin do everything', () => {
    expect(capabilitiesOf('admin').size).toBe(CAPABILITIES.length);
  });

  it('names the roles needed in the tooltip', () => {
    expect(requirement('alerts.act')).toBe('Needs the analyst or admin role');
    expect(requirement('models.manage')).toBe('Needs the admin role');
    expect(requirement('reports.run')).toBe('Needs the analyst or admin role');
  });
});
