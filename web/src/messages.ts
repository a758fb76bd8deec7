// Parsing of WebSocket text frames into typed server messages.
import type { ServerMessage } from './types';

const KNOWN_TYPES = new Set(['subscribed', 'traffic_event', 'window', 'prediction', 'alert', 'error']);

/**
 * Returns the message, or null for anything we cannot use (bad JSON, unknown type,
 * missing segment id). A newer server may add message types: ignoring them keeps
 * an old page working instead of throwing on every frame.
 */
export function parseServerMessage(text: string): ServerMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return toServerMessage(value);
}

/**
 * All usable messages of one frame. In batch format (which this page asks for)
 * a frame is a JSON array of messages, so thousands of segments cost one frame.
 */
export function parseServerFrame(text: string): ServerMessage[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return [];
  }
  const items: unknown[] = Array.isArray(value) ? value : [value];
  const messages: ServerMessage[] = [];
  for (const item of items) {
    const message = toServerMessage(item);
    if (message) messages.push(message);
  }
  return messages;
}

function toServerMessage(value: unknown): ServerMessage | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  const type = record.type;
  if (typeof type !== 'string' || !KNOWN_TYPES.has(type)) return null;
  if (type === 'subscribed') return Array.isArray(record.segment_ids) ? (value as ServerMessage) : null;
  if (type === 'error') return typeof record.error === 'object' && record.error !== null ? (value as ServerMessage) : null;
  if (typeof record.segment_id !== 'string') return null;
  if (typeof record.data !== 'object' || record.data === null) return null;
  return value as ServerMessage;
}
