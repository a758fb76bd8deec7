// Users and API keys (admin only): src/trafficcast/api/routes/accounts.py.
import { getJson, sendJson } from '../../api';
import type { ApiKeyRecord, CreatedApiKey, UserRecord } from '../../auth/types';

export function fetchUsers(signal?: AbortSignal): Promise<{ users: UserRecord[] }> {
  return getJson<{ users: UserRecord[] }>('/api/users', signal);
}

export function createUser(user: { username: string; password: string; role: string; tier: string }): Promise<UserRecord> {
  return sendJson<UserRecord>('POST', '/api/users', user);
}

export interface UserChange {
  role?: string;
  tier?: string;
  disabled?: boolean;
  password?: string;
}

export function changeUser(username: string, change: UserChange): Promise<UserRecord> {
  return sendJson<UserRecord>('PATCH', `/api/users/${encodeURIComponent(username)}`, change);
}

export function fetchKeys(signal?: AbortSignal): Promise<{ keys: ApiKeyRecord[] }> {
  return getJson<{ keys: ApiKeyRecord[] }>('/api/keys', signal);
}

export function createKey(key: { name: string; role: string; tier: string }): Promise<CreatedApiKey> {
  return sendJson<CreatedApiKey>('POST', '/api/keys', key);
}

export function revokeKey(prefix: string): Promise<ApiKeyRecord> {
  return sendJson<ApiKeyRecord>('DELETE', `/api/keys/${encodeURIComponent(prefix)}`);
}
