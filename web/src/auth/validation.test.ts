import { describe, expect, it } from 'vitest';
import { ApiError } from '../api';
import { keyNameProblem, passwordProblem, serverErrors, usernameProblem, validateNewUser } from './validation';

describe('usernameProblem (server: 1-64 of [A-Za-z0-9._@-])', () => {
  it('accepts the allowed characters up to 64', () => {
    for (const name of ['a', 'ops.team_1@city-a', 'x'.repeat(64)]) expect(usernameProblem(name)).toBeNull();
  });

  it('refuses empty, too long and other characters', () => {
    expect(usernameProblem('')).toMatch(/Enter/);
    expect(usernameProblem('x'.repeat(65))).toMatch(/64/);
    for (const name of ['a b', 'ada ', 'ünïcode', "o'neil", 'a/b', 'a;drop']) expect(usernameProblem(name)).toMatch(/Only/);
  });
});

describe('passwordProblem (server: 12-256 characters)', () => {
  it('checks the length bounds', () => {
    expect(passwordProblem('')).toMatch(/Enter/);
    expect(passwordProblem('x'.repeat(11))).toBe('At least 12 characters (11 so far).');
    expect(passwordProblem('x'.repeat(12))).toBeNull();
    expect(passwordProblem('x'.repeat(256))).toBeNull();
    expect(passwordProblem('x'.repeat(257))).toMatch(/256/);
  });

  it('counts characters as the server does, not UTF-16 units', () => {
    // 12 emoji = 24 UTF-16 units, but 12 characters.
    expect(passwordProblem('🔑'.repeat(12))).toBeNull();
    expect(passwordProblem('🔑'.repeat(11))).toMatch(/11 so far/);
    expect(passwordProblem('🔑'.repeat(129))).toBeNull(); // 258 units, 129 characters
  });
});

describe('keyNameProblem', () => {
  it('wants a non-blank name of at most 100 characters without control characters', () => {
    expect(keyNameProblem('  ')).toMatch(/Name/);
    expect(keyNameProblem('x'.repeat(101))).toMatch(/100/);
    expect(keyNameProblem('a\u0007b')).toMatch(/control/);
    expect(keyNameProblem(' detectors ')).toBeNull();
  });
});

describe('validateNewUser', () => {
  it('reports every field at once', () => {
    expect(validateNewUser({ username: 'a b', password: 'short', role: '', tier: 'standard' })).toEqual({
      username: expect.stringMatching(/Only/),
      password: expect.stringMatching(/12/),
      role: 'Choose a role.',
    });
    expect(validateNewUser({ username: 'ada', password: 'a'.repeat(12), role: 'viewer', tier: 'standard' })).toEqual({});
  });
});

describe('serverErrors', () => {
  const fields = ['username', 'password', 'role', 'tier'] as const;

  it('puts a 422 field problem on its field', () => {
    const error = new ApiError(422, 'validation_error', 'invalid request', undefined, [
      { field: 'password', reason: 'must be 12-256 characters' },
      { field: 'body.username', reason: 'bad' },
    ]);
    expect(serverErrors(error, fields, 'username')).toEqual({ password: 'must be 12-256 characters', username: 'bad' });
  });

  it('keeps problems of fields the form does not have under form', () => {
    const error = new ApiError(422, 'validation_error', 'invalid', undefined, [{ field: 'extra', reason: 'unexpected' }]);
    expect(serverErrors(error, fields)).toEqual({ form: 'extra: unexpected' });
  });

  it('puts a 409 on the conflicting field, with the server message', () => {
    const error = new ApiError(409, 'conflict', "user 'ada' exists already", undefined, [{ field: 'username', reason: 'taken' }]);
    expect(serverErrors(error, fields, 'username')).toEqual({ username: "user 'ada' exists already" });
  });

  it('shows a 403 or anything else as a form message', () => {
    expect(serverErrors(new ApiError(403, 'forbidden', 'needs the admin role'), fields, 'username')).toEqual({
      form: 'needs the admin role',
    });
    expect(serverErrors(new TypeError('Failed to fetch'), fields)).toEqual({ form: 'Failed to fetch' });
  });
});
