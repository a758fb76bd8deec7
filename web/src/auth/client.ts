// The dashboard's one auth client, wired to the API helpers and the live socket.
import { setTransport } from '../api';
import { trafficSocketUrl } from '../ws';
import { AuthClient } from './session';

export const authClient = new AuthClient();

// Every helper in ../api (and so every page's API call) goes out signed.
setTransport(authClient.fetch);

/**
 * The live socket's URL at each (re)connect, with an access token renewed if due.
 * After two failed attempts in a row the token itself is checked (a 401 renews it,
 * or ends a session revoked elsewhere), since a browser never sees why a WebSocket
 * handshake was refused.
 */
export async function authSocketUrl(attempt: number): Promise<string> {
  if (attempt >= 2 && authClient.getState().session) {
    await authClient.fetch('/auth/me', { headers: { Accept: 'application/json' } }).catch(() => undefined);
  }
  return trafficSocketUrl(window.location, await authClient.accessToken());
}
