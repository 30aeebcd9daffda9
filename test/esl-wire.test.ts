/** The ESL wire: framing of the real captures, the connection's auth, resilience to bad frames, command safety. */
import { readFileSync } from 'node:fs';
import { FrameParser, EslProtocolError } from '../src/esl/frame';
import { decodeEvent, decodePlainEvent, header, isEventFrame } from '../src/esl/event';
import { fixturePath, loadFixtureEvents, CALL_SCENARIOS } from '../src/esl/fixtures';
import { EslConnection, EslCommandError } from '../src/esl/connection';
import { FreeSwitchSimulator } from '../src/esl/simulator';
import { CallTracker } from '../src/calls/tracker';
import { waitFor } from './helpers';

function framesOf(bytes: Buffer, chunk: (i: number) => number) {
  const p = new FrameParser();
  const out = [];
  for (let i = 0; i < bytes.length; ) {
    const n = Math.max(1, chunk(i));
    out.push(...p.push(bytes.subarray(i, i + n)));
    i += n;
  }
  expect(p.buffered).toBe(0);
  return out;
}

describe('framing of real FreeSWITCH captures', () => {
  test.each([...CALL_SCENARIOS, '01_auth_api_bgapi', '01b_bgapi_plain', '02b_inbound_call_bridge_plain', '08b_auth_failure', '08c_command_before_auth'])(
    '%s frames identically however the bytes are split',
    (name) => {
      const bytes = readFileSync(fixturePath(name));
      const whole = new FrameParser().push(bytes);
      expect(whole.length).toBeGreaterThan(2);
      expect(whole[0].headers['Content-Type']).toBe('auth/request');
      expect(whole[whole.length - 1].headers['Content-Type']).toBe('text/disconnect-notice');
      let seed = name.length;
      const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
      expect(framesOf(bytes, () => Math.floor(rnd() * 3000))).toEqual(whole);
      if (bytes.length < 200_000) expect(framesOf(bytes, () => 1)).toEqual(whole);
      for (const f of whole.filter(isEventFrame)) expect(decodeEvent(f).name).toMatch(/^[A-Z_]+$/);
    },
  );

  test('JSON events: arrays stay arrays, _body becomes the event body, bodies without trailing newline', () => {
    const bytes = readFileSync(fixturePath('01_auth_api_bgapi'));
    const frames = new FrameParser().push(bytes);
    const jobs = frames.filter(isEventFrame).map(decodeEvent).filter((e) => e.name === 'BACKGROUND_JOB');
    expect(jobs).toHaveLength(3);
    expect(jobs.find((j) => header(j, 'Job-UUID') === '11111111-2222-3333-4444-555555555555')?.body).toMatch(/^FreeSWITCH Version 1\.10\.12/);
    const withArray = loadFixtureEvents('02_inbound_call_bridge').map((e) => e.event).find((e) => Array.isArray(e.headers['variable_DP_MATCH']));
    expect(withArray).toBeDefined();
  });

  test('plain events: URL-decoded headers, ARRAY:: values, inner Content-Length body', () => {
    const events = new FrameParser().push(readFileSync(fixturePath('01b_bgapi_plain'))).filter(isEventFrame).map(decodeEvent);
    const failed = events.find((e) => e.name === 'BACKGROUND_JOB' && e.body?.startsWith('-ERR'));
    expect(failed?.body).toBe('-ERR SUBSCRIBER_ABSENT\n');
    expect(header(failed!, 'Job-Command-Arg')).toBe('user/9999 &park');
    const plainCall = loadFixtureEvents('02b_inbound_call_bridge_plain').map((e) => e.event);
    expect(plainCall.some((e) => Array.isArray(e.headers['variable_DP_MATCH']))).toBe(true);
    expect(decodePlainEvent('Event-Name: X\nBad: %E0%A4%A\n\n').headers.Bad).toBe('%E0%A4%A');
  });

  test('plain and JSON captures of the same call give the same call', () => {
    const run = (name: string) => {
      const t = new CallTracker();
      const calls = new Map<string, any>();
      for (const e of loadFixtureEvents(name)) for (const c of t.apply(e.event).calls) calls.set(c.id, c);
      return [...calls.values()].map((c) => ({ status: c.status, direction: c.direction, employees: c.employees, caller: c.callerNumber, dest: c.destinationNumber }));
    };
    const json = run('02_inbound_call_bridge');
    expect(json).toEqual([{ status: 'answered', direction: 'internal', employees: { '1000': { role: 'caller', answered: true }, '1001': { role: 'callee', answered: true } }, caller: '1000', dest: '1001' }]);
    expect(run('02b_inbound_call_bridge_plain')).toEqual(json);
    expect(run('02c_inbound_call_filtered')).toEqual(json);
  });

  test('a corrupt Content-Length is a protocol error, not a crash', () => {
    expect(() => new FrameParser().push(Buffer.from('Content-Length: 12x\nContent-Type: text/event-json\n\n{}'))).toThrow(EslProtocolError);
    expect(() => new FrameParser().push(Buffer.from('Content-Length: 99999999999\n\n'))).toThrow(EslProtocolError);
  });
});

describe('ESL connection against the simulator', () => {
  let sim: FreeSwitchSimulator;
  beforeEach(async () => {
    sim = new FreeSwitchSimulator('ClueCon');
    await sim.listen(0);
  });
  afterEach(async () => {
    await sim.close();
  });

  test('api and bgapi with Job-UUID correlation', async () => {
    const c = new EslConnection({ host: '127.0.0.1', port: sim.port, password: 'ClueCon', events: ['BACKGROUND_JOB'] });
    c.start();
    await new Promise((r) => c.once('ready', r));
    expect(await c.api('version')).toMatch(/^FreeSWITCH Version 1\.10\.12/);
    expect((await c.api('show channels as json')).trim()).toBe('{"row_count": 0}');
    const [a, b] = await Promise.all([c.bgapi('status'), c.bgapi('originate user/9999 &park')]);
    expect(a.body).toMatch(/^UP /);
    expect(b.body).toBe('-ERR SUBSCRIBER_ABSENT\n');
    await expect(c.apiOk('nosuchcommand')).rejects.toThrow(/Command not found/);
    await c.close();
  });

  test('a line break in a command is refused before it reaches FreeSWITCH', async () => {
    const c = new EslConnection({ host: '127.0.0.1', port: sim.port, password: 'ClueCon', events: ['CHANNEL_CREATE'] });
    c.start();
    await new Promise((r) => c.once('ready', r));
    const before = sim.commands.length;
    await expect(c.api('uuid_kill x\n\napi hupall')).rejects.toThrow(EslCommandError);
    await expect(c.bgapi('status\r\nexit')).rejects.toThrow(EslCommandError);
    expect(sim.commands.length).toBe(before);
    await c.close();
  });

  test('a wrong password is reported and retried with backoff, never "ready"', async () => {
    const c = new EslConnection({ host: '127.0.0.1', port: sim.port, password: 'WrongPassword', events: ['CHANNEL_CREATE'], initialBackoffMs: 20, maxBackoffMs: 40 });
    let ready = false;
    c.on('ready', () => (ready = true));
    c.start();
    await waitFor(() => c.stats.authFailures >= 3, 'three auth attempts');
    expect(ready).toBe(false);
    expect(c.stats.lastError).toMatch(/-ERR invalid/);
    expect(sim.commands.filter((x) => x === 'auth WrongPassword').length).toBeGreaterThanOrEqual(3);
    await c.close();
  });

  test('malformed frames: a bad event body is skipped, a corrupt frame drops and reconnects', async () => {
    const c = new EslConnection({ host: '127.0.0.1', port: sim.port, password: 'ClueCon', events: ['ALL'], initialBackoffMs: 20 });
    const names: string[] = [];
    c.on('event', (e) => names.push(e.name));
    c.start();
    await new Promise((r) => c.once('ready', r));
    sim.sendRaw('Content-Length: 9\nContent-Type: text/event-json\n\n{"broken"');
    sim.sendRaw('Content-Length: 2\nContent-Type: text/event-json\n\n[]');
    await sim.play('02c_inbound_call_filtered');
    await waitFor(() => names.filter((n) => n === 'CHANNEL_DESTROY').length === 2, 'events after the bad ones');
    expect(c.stats.malformed).toBe(2);
    expect(c.state).toBe('ready');
    sim.sendRaw('Content-Length: banana\n\n');
    await waitFor(() => c.stats.connects === 2, 'reconnect after a corrupt frame');
    expect(await c.api('version')).toMatch(/FreeSWITCH/);
    await c.close();
  });

  test('connection refused at first: keeps retrying until FreeSWITCH is there', async () => {
    const port = sim.port;
    await sim.close();
    const c = new EslConnection({ host: '127.0.0.1', port, password: 'ClueCon', events: ['CHANNEL_CREATE'], initialBackoffMs: 20, maxBackoffMs: 50 });
    c.start();
    await new Promise((r) => setTimeout(r, 200));
    expect(c.state).not.toBe('ready');
    sim = new FreeSwitchSimulator('ClueCon');
    await sim.listen(port);
    await new Promise((r) => c.once('ready', r));
    expect(c.state).toBe('ready');
    await c.close();
  });
});
