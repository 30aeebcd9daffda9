import { connect, Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChaosSwitch, CallTemplate, loadTemplates } from '../src/esl/chaos-switch';
import { EslFrame, FrameParser } from '../src/esl/frame';
import { FIXTURES_DIR } from '../src/esl/fixtures';

/** The chaos stand-in alone (bench/chaos.ts runs it against the server): protocol, live table, cuts. */

class RawClient {
  readonly frames: EslFrame[] = [];
  private replies: EslFrame[] = [];
  private readonly parser = new FrameParser();
  ended = false;
  private constructor(readonly socket: Socket) {}

  static async open(port: number): Promise<RawClient> {
    const c = new RawClient(connect(port, '127.0.0.1'));
    c.socket.on('data', (d) => {
      for (const f of c.parser.push(d)) {
        c.frames.push(f);
        const ct = f.headers['Content-Type'];
        if (ct === 'api/response' || ct === 'command/reply' || ct === 'text/disconnect-notice') c.replies.push(f);
      }
    });
    c.socket.on('end', () => (c.ended = true));
    c.socket.on('close', () => (c.ended = true));
    c.socket.on('error', () => undefined);
    await until(() => c.frames.length > 0, 'greeting');
    return c;
  }

  /** Bytes received that do not make a whole frame. */
  get partial(): number {
    return this.parser.buffered;
  }

  send(cmd: string): void {
    this.socket.write(`${cmd}\n\n`);
  }

  async reply(): Promise<EslFrame> {
    await until(() => this.replies.length > 0, 'a reply');
    return this.replies.shift()!;
  }

  async command(cmd: string): Promise<EslFrame> {
    this.send(cmd);
    return this.reply();
  }

  async login(events = 'CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_BRIDGE CHANNEL_HOLD CHANNEL_UNHOLD CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE CHANNEL_DESTROY'): Promise<void> {
    expect((await this.command('auth ClueCon')).headers['Reply-Text']).toBe('+OK accepted');
    expect((await this.command(`event json ${events}`)).headers['Reply-Text']).toBe('+OK event listener enabled json');
  }

  events(): Array<Record<string, any>> {
    return this.frames.filter((f) => f.headers['Content-Type'] === 'text/event-json').map((f) => JSON.parse(f.body!));
  }

  close(): void {
    this.socket.destroy();
  }
}

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const templates = loadTemplates();
const tpl = (name: string): CallTemplate => templates.find((t) => t.name === name)!;

describe('chaos stand-in', () => {
  let sw: ChaosSwitch;
  const clients: RawClient[] = [];
  const open = async () => {
    const c = await RawClient.open(sw.port);
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    sw = new ChaosSwitch({ seed: 7, speed: 5 });
    await sw.listen(0);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await sw.close();
  });

  test('templates: one call each, expected status from the CDR', () => {
    const expected = Object.fromEntries(templates.map((t) => [t.name, t.expected]));
    expect(expected).toEqual({
      '02-internal': 'answered',
      '09-answered': 'answered',
      '10-abandoned': 'abandoned',
      '11-busy': 'busy',
      '12-blind-transfer': 'answered',
      '13-click-to-call': 'answered',
      '14-hold': 'answered',
      '15-outbound': 'answered',
      '16-no-answer': 'missed',
      '17a-c2c-busy': 'busy',
      '17b-c2c-not-registered': 'failed',
      '17c-c2c-no-such-user': 'failed',
      '17d-c2c-internal': 'answered',
    });
    expect(tpl('12-blind-transfer').legs).toHaveLength(3);
    expect(tpl('17b-c2c-not-registered').legs).toHaveLength(0);
  });

  test('speaks the captured protocol: greeting, auth, errors, idle show replies', async () => {
    const c = await open();
    expect(c.frames[0].headers['Content-Type']).toBe('auth/request');
    expect((await c.command('api status')).headers['Reply-Text']).toBe('-ERR command not found');
    await c.login();
    expect((await c.command('api status')).body).toMatch(/^UP /);
    expect((await c.command('api nosuchcommand foo')).body).toBe('-ERR nosuchcommand Command not found!\n');
    expect((await c.command('api show channels as json')).body).toBe('{"row_count": 0}\n');
    expect((await c.command('api show calls as json')).body).toBe('{"row_count": 0}\n');
    expect((await c.command('api uuid_dump 00000000-0000-0000-0000-000000000000 json')).body).toBe('-ERR No such channel!\n');
    const bad = await open();
    expect((await bad.command('auth WrongPassword')).headers['Reply-Text']).toBe('-ERR invalid');
    expect((await bad.reply()).headers['Content-Type']).toBe('text/disconnect-notice');
    await until(() => bad.ended, 'close after a wrong password');
  });

  test('a call: fresh ids, one Core-UUID and sequence, and show channels/calls mid-call match the live channels', async () => {
    const c = await open();
    await c.login();
    const t0 = Date.now();
    const inst = sw.addCall(tpl('09-answered'), t0 + 50);
    const [a, b] = inst.tpl.legs.map((i) => inst.uuids[i]);
    await until(() => c.events().some((e) => e['Event-Name'] === 'CHANNEL_BRIDGE'), 'the bridge');
    const evs = c.events();
    expect(evs[0]['Event-Name']).toBe('CHANNEL_CREATE');
    expect(evs[0]['Unique-ID']).toBe(a);
    expect(inst.id).toBe(a);
    expect(new Set(evs.map((e) => e['Core-UUID']))).toEqual(new Set([sw.coreUuid]));
    const seqs = evs.map((e) => Number(e['Event-Sequence']));
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(Math.abs(Number(evs[0]['Event-Date-Timestamp']) / 1000 - (t0 + 50))).toBeLessThan(5);
    expect(JSON.stringify(evs)).not.toContain('0d9a032a-f54b-494d-870b-f513566b0ed8'); // the capture's A-leg

    const channels = JSON.parse((await c.command('api show channels as json')).body!);
    const captured = JSON.parse(readFileSync(join(FIXTURES_DIR, '02_show_channels_midcall.json'), 'utf8'));
    expect(channels.row_count).toBe(2);
    expect(channels.rows.map((r: any) => r.uuid).sort()).toEqual([a, b].sort());
    for (const r of channels.rows) {
      expect(Object.keys(r)).toEqual(Object.keys(captured.rows[0]));
      expect(r.callstate).toBe('ACTIVE');
    }
    expect(channels.rows.find((r: any) => r.uuid === b).call_uuid).toBe(a);

    const calls = JSON.parse((await c.command('api show calls as json')).body!);
    const capturedCalls = JSON.parse(readFileSync(join(FIXTURES_DIR, '02_show_calls_midcall.json'), 'utf8'));
    expect(calls.row_count).toBe(1);
    expect(Object.keys(calls.rows[0])).toEqual(Object.keys(capturedCalls.rows[0]));
    expect([calls.rows[0].uuid, calls.rows[0].b_uuid]).toEqual([a, b]);

    const dump = JSON.parse((await c.command(`api uuid_dump ${a} json`)).body!);
    expect(dump['Event-Name']).toBe('CHANNEL_DATA');
    expect(dump['Unique-ID']).toBe(a);
    expect(dump['Channel-Call-State']).toBe('ACTIVE');

    await sw.idle();
    expect((await c.command('api show channels as json')).body).toBe('{"row_count": 0}\n');
    const truth = inst.truth();
    expect(truth).toMatchObject({ id: a, status: 'answered', allDelivered: true, invisible: false });
    expect(truth.answeredAt! - truth.startedAt).toBeGreaterThan(250); // 1.5 s of ringing at ×5
    expect(truth.endedAt).toBeGreaterThan(truth.answeredAt!);
  });

  test('the switch keeps its channels while the client is away; show channels after a reconnect lists them; events resume', async () => {
    // This test's switch runs ×2 (hold at 1.78 s, unhold at 3.3 s): 1.5 s to reconnect after the hold on a loaded machine.
    await sw.close();
    sw = new ChaosSwitch({ seed: 7, speed: 2 });
    await sw.listen(0);
    let c = await open();
    await c.login();
    const inst = sw.addCall(tpl('14-hold'), Date.now() + 20);
    const [a, b] = inst.tpl.legs.map((i) => inst.uuids[i]);
    await until(() => c.events().some((e) => e['Event-Name'] === 'CHANNEL_ANSWER'), 'the answer', 10_000);
    c.close();
    // The hold happens while nobody listens: wait on the switch's own table, not a fixed sleep.
    const held = () => (JSON.parse(sw.showChannels()).rows ?? []).some((r: any) => r.uuid === a && r.callstate === 'HELD');
    await until(held, 'the hold while away', 10_000);
    expect(sw.liveChannels().sort()).toEqual([a, b].sort());
    c = await open();
    await c.login();
    const rows = JSON.parse((await c.command('api show channels as json')).body!).rows;
    expect(rows.map((r: any) => r.uuid).sort()).toEqual([a, b].sort());
    expect(rows.find((r: any) => r.uuid === a).callstate).toBe('HELD');
    expect(JSON.parse((await c.command('api show calls as json')).body!).rows[0]).toMatchObject({ uuid: a, b_uuid: b, callstate: 'HELD' });
    await until(() => c.events().filter((e) => e['Event-Name'] === 'CHANNEL_DESTROY').length === 2, 'the end of the call', 10_000);
    const names = c.events().map((e) => e['Event-Name']);
    expect(names).toContain('CHANNEL_UNHOLD');
    expect(names).not.toContain('CHANNEL_HOLD');
    expect((await c.command('api show channels as json')).body).toBe('{"row_count": 0}\n');
    await sw.idle();
    const truth = inst.truth();
    expect(truth.allDelivered).toBe(false);
    expect(truth.delivered).toBeGreaterThan(0);
    expect(truth.snapshots).toBe(1);
    expect(Object.keys(truth.missed).join()).toMatch(/no client|offline/);
    expect(truth.status).toBe('answered');
  });

  test('cuts: after auth, mid-frame, in the middle of the show channels reply, between the resync replies', async () => {
    sw.forceNextCut('after-auth');
    let c = await open();
    expect((await c.command('auth ClueCon')).headers['Reply-Text']).toBe('+OK accepted');
    await until(() => c.ended, 'the cut after auth');

    sw.forceNextCut('mid-frame', 0);
    c = await open();
    await c.login('ALL');
    const inst = sw.addCall(tpl('02-internal'), Date.now());
    await until(() => c.ended, 'the mid-frame cut');
    expect(c.partial).toBeGreaterThan(0);
    expect(c.events()).toHaveLength(0);

    sw.forceNextCut('resync-mid-reply');
    c = await open();
    await c.login();
    c.send('api show channels as json');
    await until(() => c.ended, 'the cut in the show channels reply');
    expect(c.partial).toBeGreaterThan(0);
    expect(c.frames.filter((f) => f.headers['Content-Type'] === 'api/response')).toHaveLength(0);

    sw.forceNextCut('resync-between');
    c = await open();
    await c.login();
    const channels = await c.command('api show channels as json');
    expect(JSON.parse(channels.body!).rows.length).toBeGreaterThan(0);
    c.send('api show calls as json');
    await until(() => c.ended, 'the cut before show calls');
    expect(c.frames.filter((f) => f.headers['Content-Type'] === 'api/response')).toHaveLength(1);

    expect(sw.stats.cuts).toEqual({ 'mid-frame': 1, 'after-auth': 1, 'resync-mid-reply': 1, 'resync-between': 1 });
    await sw.idle();
    expect(inst.truth().allDelivered).toBe(false);
    expect(inst.truth().missed['cut mid-frame']).toBe(1);
  });
});
