import { describe, expect, it } from 'vitest';
import { parseServerFrame, parseServerMessage } from './messages';

describe('parseServerMessage', () => {
  it('parses a traffic event', () => {
    const message = parseServerMessage(
      JSON.stringify({
        type: 'traffic_event',
        segment_id: 'S0001',
        data: { timestamp: '2012-03-01T08:05:00Z', speed: 58, volume: 12, occupancy: 6.1, level_of_service: 'B' },
      }),
    );
    expect(message?.type).toBe('traffic_event');
  });

  it('parses subscribed and error messages', () => {
    expect(parseServerMessage('{"type":"subscribed","segment_ids":["*"]}')?.type).toBe('subscribed');
    expect(parseServerMessage('{"type":"error","error":{"code":"bad","message":"no"}}')?.type).toBe('error');
  });

  it.each([
    'not json',
    'null',
    '42',
    '{"type":"mystery","segment_id":"S1","data":{}}',
    '{"type":"traffic_event","data":{}}',
    '{"type":"traffic_event","segment_id":"S1"}',
    '{"type":"subscribed"}',
  ])('ignores %s', (text) => {
    expect(parseServerMessage(text)).toBeNull();
  });
});

describe('parseServerFrame', () => {
  it('reads a batch frame of several messages and skips the unusable ones', () => {
    const frame = JSON.stringify([
      { type: 'traffic_event', segment_id: 'A', data: { timestamp: 't', speed: 50 } },
      { type: 'mystery', segment_id: 'B', data: {} },
      { type: 'window', segment_id: 'C', data: { window_minutes: 5 } },
      [1, 2],
    ]);
    const messages = parseServerFrame(frame);
    expect(messages.map((m) => m.type)).toEqual(['traffic_event', 'window']);
  });

  it('reads a single-message frame and rejects bad JSON', () => {
    expect(parseServerFrame('{"type":"subscribed","segment_ids":["*"]}')).toHaveLength(1);
    expect(parseServerFrame('{nope')).toEqual([]);
  });
});
