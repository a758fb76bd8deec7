import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RULE,
  formFromRule,
  parseList,
  serverFieldErrors,
  targetProblem,
  validateRuleForm,
  type RuleForm,
} from './ruleForm';

const base = formFromRule(DEFAULT_RULE);
const known = new Set(['s1', 's2', 's3']);
const check = (changes: Partial<RuleForm>) => validateRuleForm({ ...base, ...changes }, (id) => known.has(id));

describe('formFromRule / validateRuleForm', () => {
  it('shows ratios as percent and round-trips the rule exactly', () => {
    expect(base).toMatchObject({ openPercent: '50', resolvePercent: '65', majorPercent: '30', openMinutes: '15' });
    expect(check({}).rule).toEqual(DEFAULT_RULE);
    const odd = { ...DEFAULT_RULE, open_ratio: 0.455, resolve_ratio: 1.5, major_ratio: 0.07 };
    expect(validateRuleForm(formFromRule(odd)).rule).toEqual(odd);
  });

  it('builds the scope and the targets from their lists', () => {
    const { rule, errors } = check({
      scopeAll: false,
      scopeIds: 's1, s2\n\n s3 ',
      notify: 'dashboard\n webhook:https://hooks.example.com/x \nemail:ops@example.com\n',
      enabled: false,
    });
    expect(errors).toEqual({});
    expect(rule?.scope.segment_ids).toEqual(['s1', 's2', 's3']);
    expect(rule?.notify).toEqual(['dashboard', 'webhook:https://hooks.example.com/x', 'email:ops@example.com']);
    expect(rule?.enabled).toBe(false);
  });

  it.each<[Partial<RuleForm>, string, RegExp]>([
    [{ openPercent: 'abc' }, 'openPercent', /number/],
    [{ openPercent: '0' }, 'openPercent', /Above 0/],
    [{ openPercent: '-5' }, 'openPercent', /number/],
    [{ majorPercent: '50' }, 'majorPercent', /Below the open threshold \(50 %\)/],
    [{ openPercent: '70' }, 'resolvePercent', /Above the open threshold \(70 %\)/],
    [{ resolvePercent: '151' }, 'resolvePercent', /At most 150/],
    [{ openMinutes: '12' }, 'openMinutes', /multiple of 5/],
    [{ openMinutes: '0' }, 'openMinutes', /5 to 1440/],
    [{ resolveMinutes: '1445' }, 'resolveMinutes', /5 to 1440/],
    [{ resolveMinutes: '7.5' }, 'resolveMinutes', /Whole minutes/],
    [{ scopeAll: false, scopeIds: ' ' }, 'scope', /at least one/],
    [{ scopeAll: false, scopeIds: 's1\ns1' }, 'scope', /twice: s1/],
    [{ scopeAll: false, scopeIds: 's1\nghost\nx\ny\nz' }, 'scope', /Unknown segments: ghost, x, y and 1 more/],
    [{ notify: 'dashboard\nsms:123' }, 'notify', /Line 2/],
    [{ notify: 'dashboard\ndashboard' }, 'notify', /twice/],
    [{ notify: Array.from({ length: 21 }, (_, i) => `email:o${i}@example.com`).join('\n') }, 'notify', /At most 20/],
  ])('%o → %s', (changes, field, reason) => {
    const { rule, errors } = check(changes);
    expect(rule).toBeNull();
    expect(errors[field as keyof typeof errors]).toMatch(reason);
  });

  it('accepts the edges the server accepts', () => {
    expect(check({ majorPercent: '1', openPercent: '2', resolvePercent: '150', openMinutes: '5', resolveMinutes: '1440' }).errors).toEqual({});
    expect(check({ notify: '' }).rule?.notify).toEqual([]);
  });

  it('skips the segment check until the network is known', () => {
    expect(validateRuleForm({ ...base, scopeAll: false, scopeIds: 'anything' }).errors).toEqual({});
  });
});

describe('targets', () => {
  it.each([
    ['dashboard', null],
    ['webhook:https://hooks.example.com/a?b=1', null],
    ['webhook:http://10.0.0.1:8080/x', null],
    ['email:first.last+tag@city.gov.uk', null],
    ['webhook:ftp://x.org', /http/],
    ['webhook:not a url', /spaces/],
    ['webhook:javascript:alert(1)', /http/],
    ['email:a@b', /e-mail/],
    ['Dashboard', /use dashboard/],
    ['pager:1', /use dashboard/],
  ])('%s', (target, problem) => {
    const found = targetProblem(target);
    if (problem === null) expect(found).toBeNull();
    else expect(found).toMatch(problem);
  });

  it('splits lists on lines (and commas for ids)', () => {
    expect(parseList('a, b\nc\n\n')).toEqual(['a', 'b', 'c']);
    expect(parseList('webhook:https://x.org/?a=1,2', false)).toEqual(['webhook:https://x.org/?a=1,2']);
  });
});

describe('serverFieldErrors', () => {
  it('puts the server’s field errors on the form’s fields', () => {
    expect(
      serverFieldErrors([
        { field: 'major_ratio', reason: 'must be below open_ratio (0.5)' },
        { field: 'scope.segment_ids.3', reason: "unknown segment 'x'" },
        { field: 'notify.1', reason: 'not an e-mail address' },
        { field: 'notify.2', reason: 'duplicate target' },
        { field: 'surprise', reason: 'Extra inputs are not permitted' },
      ]),
    ).toEqual({
      majorPercent: 'must be below open_ratio (0.5)',
      scope: "Line 4: unknown segment 'x'",
      notify: 'Line 2: not an e-mail address; Line 3: duplicate target',
      form: 'surprise: Extra inputs are not permitted',
    });
  });
});
