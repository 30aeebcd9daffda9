/**
 * The link to FreeSWITCH is watched: handshake timeout, idle probe (`api status`), drop and reconnect with
 * backoff, /health says `stale` while a quiet link is being checked. Every peer here is a real TCP server
 * written in the test, speaking bytes cut from the FreeSWITCH 1.10.12 captures in fixtures/freeswitch.
 */
import { readFileSync } from 'node:fs';
import { connect, createServer, Server, Socket } from 'node:net';
import { spawn } from 'node:child_process';
import { fixturePath, loadFixtureEvents } from '../src/esl/fixtures';
import { EslConnection, EslConnectionOptions, EslLink } from '../src/esl/connection';
import { loadConfig } from '../src/config';
import { startTelefonist, Telefonist } from '../src/app';
import { Logger } from '../src/log';
import { freshDatabase, waitFor } from './helpers';

/** Each frame of a capture as the exact bytes FreeSWITCH sent (headers, blank line, Content-Length body). */
function rawFrames(name: string): Buffer[] {
  const bytes = readFileSync(fixturePath(name));
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const end = bytes.indexOf('\n\n', pos);
    if (end < 0) throw new Error(`unterminated header block in ${name}`);
    const cl = /^Content-Length: (\d+)$/m.exec(bytes.toString('utf8', pos, end));
    const next = end + 2 + (cl ? Number(cl[1]) : 0);
    out.push(bytes.subarray(pos, next));
    pos = next;
  }
  return out;
}

const capture = rawFrames('01_auth_api_bgapi');
const type = (f: Buffer) => /^Content-Type: (.+)$/m.exec(f.toString('utf8', 0, f.indexOf('\n\n')))?.[1];
const GREETING = capture[0];
const AUTH_OK = capture[1];
const SUBSCRIBED = capture[2];
const apiReplies = capture.filter((f) => type(f) === 'api/response');
/** `api status` → `UP 0 years, … is ready …` (the first api/response of capture 01). */
const STATUS_REPLY = apiReplies[0];
/** `api show channels as json` on an idle switch → `{"row_count": 0}\n`. */
const NO_ROWS_REPLY = apiReplies.find((f) => f.toString().endsWith('{"row_count": 0}\n'))!;
const HEARTBEAT = loadFixtureEvents('03_click_to_call').find((e) => e.event.name === 'HEARTBEAT')!.raw;
/** The API event FreeSWITCH fired for `api status`: cut in half, its Content-Length promises more than follows. */
const API_EVENT = loadFixtureEvents('01_auth_api_bgapi').find((e) => e.event.name === 'API')!.raw;

test('the bytes come from the captures', () => {
  expect(GREETING.toString()).toBe('Content-Type: auth/request\n\n');
  expect(AUTH_OK.toString()).toBe('Content-Type: command/reply\nReply-Text: +OK accepted\n\n');
  expect(SUBSCRIBED.toString()).toBe('Content-Type: command/reply\nReply-Text: +OK event listener enabled json\n\n');
  expect(STATUS_REPLY.toString()).toMatch(/^Content-Type: api\/response\nContent-Length: 369\n\nUP 0 years/);
  expect(NO_ROWS_REPLY).toBeDefined();
  expect(HEARTBEAT.toString()).toMatch(/^Content-Length: \d+\nContent-Type: text\/event-json\n\n\{"Event-Name":"HEARTBEAT"/);
});

interface Peer {
  socket: Socket;
  at: number;
  commands: string[];
  /** Stop answering anything (the peer went away without a FIN). */
  mute: boolean;
}

/**
 * A FreeSWITCH stand-in whose behaviour per connection the test decides. `greet` false: accept and say
 * nothing. Otherwise: greeting, `+OK accepted`, `+OK event listener enabled json`, then `onReady`;
 * `api status` and `api show … as json` are answered with the captured bytes unless the peer is muted.
 */
class FakeFreeSwitch {
  private server: Server | null = null;
  readonly peers: Peer[] = [];
  port = 0;
  greet = true;
  answerProbes = true;
  onReady: (p: Peer, index: number) => void = () => undefined;
  onAccept: (p: Peer, index: number) => void = () => undefined;

  async listen(): Promise<void> {
    this.server = createServer((socket) => this.accept(socket));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as { port: number }).port;
  }

  get commands(): string[] {
    return this.peers.flatMap((p) => p.commands);
  }

  get current(): Peer {
    return this.peers[this.peers.length - 1];
  }

  private accept(socket: Socket): void {
    const peer: Peer = { socket, at: Date.now(), commands: [], mute: false };
    const index = this.peers.push(peer) - 1;
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    this.onAccept(peer, index);
    if (!this.greet) return;
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const cmd = buf.slice(0, i);
        buf = buf.slice(i + 2);
        peer.commands.push(cmd);
        if (peer.mute || socket.destroyed) continue;
        if (cmd.startsWith('auth ')) socket.write(AUTH_OK);
        else if (cmd.startsWith('event json ')) {
          socket.write(SUBSCRIBED);
          this.onReady(peer, index);
        } else if (cmd === 'api status') {
          if (this.answerProbes) socket.write(STATUS_REPLY);
        } else if (cmd.startsWith('api show ')) socket.write(NO_ROWS_REPLY);
      }
    });
    socket.write(GREETING);
  }

  async close(): Promise<void> {
    for (const p of this.peers) p.socket.destroy();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = null;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ESL link watch against real TCP peers', () => {
  let fs: FakeFreeSwitch;
  let conn: EslConnection | null = null;
  const open = (o: Partial<EslConnectionOptions>) => {
    conn = new EslConnection({ host: '127.0.0.1', port: fs.port, password: 'ClueCon', events: ['CHANNEL_CREATE', 'CUSTOM', 'sofia::register'], ...o });
    return conn;
  };
  beforeEach(async () => {
    fs = new FakeFreeSwitch();
    await fs.listen();
  });
  afterEach(async () => {
    await conn?.close();
    conn = null;
    await fs.close();
  });

  test('(a) accepts and never greets: gives up after the handshake timeout, reconnects with growing backoff, then recovers', async () => {
    fs.greet = false;
    const c = open({ handshakeTimeoutMs: 150, initialBackoffMs: 100, maxBackoffMs: 2000 });
    const states: string[] = [];
    const attempts: number[] = [];
    c.on('state', (s) => {
      states.push(s);
      if (s === 'connecting') attempts.push(Date.now());
    });
    c.start();
    await waitFor(() => fs.peers.length >= 4, 'four connection attempts');
    expect(c.stats.handshakeTimeouts).toBeGreaterThanOrEqual(3);
    expect(c.stats.lastError).toMatch(/accepted but sent no auth\/request greeting within 150 ms/);
    expect(states).not.toContain('ready');
    expect(c.link).toBe('down');
    // Each attempt waits the handshake timeout, then a backoff that doubles (100, 200, 400 ms, ± 20 % jitter).
    // Timers only ever fire late, so these are lower bounds.
    const gaps = attempts.slice(1, 4).map((t, i) => t - attempts[i]);
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(150 + 0.8 * 100 * 2 ** i - 2));
    // The peer never saw a command: nothing is sent before the greeting.
    expect(fs.commands).toEqual([]);

    fs.greet = true;
    await waitFor(() => c.state === 'ready', 'ready once the peer greets', 5000);
    expect(c.link).toBe('live');
    expect(fs.current.commands).toEqual(['auth ClueCon', 'event json HEARTBEAT CHANNEL_CREATE CUSTOM sofia::register']);
  });

  test('a greeting but no reply to auth is a handshake timeout too', async () => {
    // The first peer greets, then answers nothing: `auth` goes unanswered (the command timeout is longer).
    fs.onAccept = (p, i) => (p.mute = i === 0);
    const c = open({ handshakeTimeoutMs: 150, initialBackoffMs: 20, commandTimeoutMs: 60_000 });
    c.start();
    await waitFor(() => c.stats.handshakeTimeouts === 1, 'handshake timeout');
    expect(c.stats.lastError).toMatch(/auth and event subscription not completed within 150 ms/);
    await waitFor(() => c.state === 'ready', 'ready on the second, answering connection');
    expect(c.stats.connects).toBe(1);
  });

  test('(b) a partial frame then silence: the probe gets no answer, the link is dropped and comes back on a good peer', async () => {
    const half = API_EVENT.subarray(0, Math.floor(API_EVENT.length / 2));
    fs.onReady = (p, i) => {
      if (i > 0) return;
      // First connection: one whole heartbeat, then half an event, then nothing at all.
      p.socket.write(HEARTBEAT);
      setTimeout(() => {
        p.socket.write(half);
        p.mute = true;
      }, 50);
    };
    const c = open({ idleProbeMs: 200, probeTimeoutMs: 300, initialBackoffMs: 30 });
    const links: EslLink[] = [];
    let atStale: (typeof c.stats & { state: string }) | null = null;
    c.on('link', (l) => {
      links.push(l);
      if (l === 'stale' && !atStale) atStale = { ...c.stats, state: c.state };
    });
    const reasons: string[] = [];
    c.on('disconnected', (r) => reasons.push(r));
    c.start();

    await waitFor(() => c.stats.connects === 2 && c.state === 'ready', 'dropped, reconnected and ready again', 5000);
    expect(links.slice(0, 4)).toEqual(['live', 'stale', 'down', 'live']);
    // When the probe went out: still 'ready', one whole heartbeat read, and bytes (the half frame) after it.
    expect(atStale).toMatchObject({ state: 'ready', heartbeats: 1, probes: 1, connects: 1 });
    expect(atStale!.lastByteAt).toBeGreaterThan(atStale!.lastFrameAt);
    expect(fs.peers[0].commands).toContain('api status');
    expect(c.stats.probeFailures).toBe(1);
    expect(reasons[0]).toMatch(/^link dead: no reply to "api status" within 300 ms \(probe sent after \d+ s of silence\)$/);
    // The good peer answers commands and probes.
    expect(await c.api('status')).toMatch(/^UP 0 years/);
  });

  test('(c) a quiet, healthy peer that answers `api status` stays connected across several probe intervals', async () => {
    const c = open({ idleProbeMs: 80, probeTimeoutMs: 2000 });
    let disconnects = 0;
    c.on('disconnected', () => disconnects++);
    const answered: number[] = [];
    c.on('probeAnswered', (sentAt: number) => answered.push(sentAt));
    c.start();
    await waitFor(() => c.state === 'ready', 'ready');
    const readyAt = Date.now();
    await sleep(1000);
    // Each answered probe tells the call tracker when it was sent (our clock): FreeSWITCH was alive after it.
    expect(answered.length).toBeGreaterThanOrEqual(3);
    expect(answered).toEqual([...answered].sort((a, b) => a - b));
    expect(answered[0]).toBeGreaterThanOrEqual(readyAt - 5);
    expect(answered[answered.length - 1]).toBeLessThanOrEqual(Date.now());
    const probes = fs.current.commands.filter((x) => x === 'api status').length;
    expect(probes).toBeGreaterThanOrEqual(4);
    expect(c.stats.probes - probes).toBeLessThanOrEqual(1); // one may still be on its way
    expect(c.stats.probeFailures).toBe(0);
    expect(disconnects).toBe(0);
    expect(c.stats.connects).toBe(1);
    expect(fs.peers).toHaveLength(1);
    expect(c.state).toBe('ready');
    // Probes are spaced by the idle window, not fired back to back.
    expect(probes).toBeLessThanOrEqual(13);
  });

  test('a busy link is never probed; heartbeats we added count as traffic and are not passed on', async () => {
    let timer: NodeJS.Timeout | undefined;
    fs.onReady = (p) => {
      timer = setInterval(() => p.socket.write(HEARTBEAT), 25);
    };
    // 25 ms heartbeats against a 1 s idle window: a stalled event loop on a loaded machine cannot open a 1 s gap.
    const c = open({ idleProbeMs: 1000, probeTimeoutMs: 1000 });
    const events: string[] = [];
    c.on('event', (e) => events.push(e.name));
    const beats: number[] = [];
    c.on('heartbeat', (fsMs: number) => beats.push(fsMs));
    c.start();
    try {
      await waitFor(() => c.state === 'ready', 'ready');
      await sleep(2000);
      expect(fs.current.commands.filter((x) => x === 'api status')).toEqual([]);
      expect(c.stats.probes).toBe(0);
      expect(c.stats.heartbeats).toBeGreaterThan(5);
      expect(c.stats.lastHeartbeatAt).toBeGreaterThan(0);
      expect(events).toEqual([]);
      expect(c.stats.events).toBe(0);
      // ...but each is told, at its Event-Date-Timestamp in ms (FreeSWITCH's clock): the link's proof of life.
      expect(beats.length).toBe(c.stats.heartbeats);
      expect(new Set(beats)).toEqual(new Set([1795476497160]));
    } finally {
      clearInterval(timer);
    }
  });

  test('an owner that asks for ALL gets the subscription it asked for and its heartbeats', async () => {
    fs.onReady = (p) => p.socket.write(HEARTBEAT);
    const c = open({ events: ['ALL'] });
    const events: string[] = [];
    c.on('event', (e) => events.push(e.name));
    c.start();
    await waitFor(() => events.length === 1, 'the heartbeat');
    expect(events).toEqual(['HEARTBEAT']);
    expect(fs.current.commands[1]).toBe('event json ALL');
    expect(c.stats.heartbeats).toBe(1);
  });

  test('a SYN that never completes: the connect attempt is given up after the handshake timeout', async () => {
    // A listener whose accept queue is full: another process listens with a backlog of 1 and never accepts
    // (its event loop is blocked), two fillers take the queue, and the kernel drops further SYNs.
    const child = spawn(process.execPath, ['-e', `
      const s = require('node:net').createServer();
      s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
        process.stdout.write(s.address().port + '\\n');
        setTimeout(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000), 20);
      });`], { stdio: ['ignore', 'pipe', 'ignore'] });
    const fillers: Socket[] = [];
    try {
      const port = await new Promise<number>((r) => child.stdout!.once('data', (d) => r(Number(String(d).trim()))));
      await sleep(100);
      for (let i = 0; i < 2; i++) fillers.push(connect(port, '127.0.0.1').on('error', () => undefined));
      await sleep(100);
      const check = connect(port, '127.0.0.1').on('error', () => undefined);
      fillers.push(check);
      await sleep(200);
      // A kernel that refuses instead of dropping (tcp_abort_on_overflow) can't show this; nothing to test then.
      if (!check.connecting) return;

      const c = new EslConnection({ host: '127.0.0.1', port, password: 'ClueCon', events: ['CHANNEL_CREATE'], handshakeTimeoutMs: 150, initialBackoffMs: 20 });
      conn = c;
      const states: string[] = [];
      c.on('state', (st) => states.push(st));
      c.start();
      await waitFor(() => c.stats.handshakeTimeouts >= 2, 'two connect timeouts');
      expect(c.stats.lastError).toBe(`TCP connect to 127.0.0.1:${port} did not complete within 150 ms`);
      expect(states).not.toContain('authenticating');
      expect(c.link).toBe('down');
    } finally {
      for (const f of fillers) f.destroy();
      child.kill('SIGKILL');
    }
  });

  test('close() during a handshake and during a probe leaves no timer behind', async () => {
    fs.greet = false;
    const a = open({ handshakeTimeoutMs: 60_000 });
    a.start();
    await waitFor(() => fs.peers.length === 1, 'connected');
    await a.close();
    expect(a.state).toBe('closed');

    fs.greet = true;
    fs.answerProbes = false;
    const b = open({ idleProbeMs: 30, probeTimeoutMs: 60_000 });
    b.start();
    await waitFor(() => b.link === 'stale', 'probe out');
    await b.close();
    expect(b.link).toBe('down');
    // Jest's open-handle check (and this file finishing at all) shows nothing was left running.
  });
});

describe('/health through a real HTTP request', () => {
  let fs: FakeFreeSwitch;
  let app: Telefonist;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    fs = new FakeFreeSwitch();
    await fs.listen();
    fs.onReady = (p) => p.socket.write(HEARTBEAT);
    const db = await freshDatabase('sqlite');
    drop = db.drop;
    const config = loadConfig(
      {
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: db.url,
        FREESWITCH_ESL_HOST: '127.0.0.1',
        FREESWITCH_ESL_PORT: String(fs.port),
        LOG_LEVEL: 'error',
      },
      { dotenv: false },
    );
    app = await startTelefonist(config, new Logger('error'), { esl: { idleProbeMs: 300, probeTimeoutMs: 1500, initialBackoffMs: 30 } });
    await waitFor(() => app.calls.stats.resyncs > 0, 'first resync');
  });
  afterAll(async () => {
    await app?.close();
    await fs.close();
    await drop?.();
  });

  const health = async () => {
    const r = await fetch(`http://127.0.0.1:${app.port}/api/v1/health`);
    return { status: r.status, body: (await r.json()) as any };
  };

  test('(d) live, then stale while a quiet link is probed, then dropped, reconnected and live again', async () => {
    // A healthy quiet link is probed every 300 ms here and reads 'stale' for the probe's round trip: ask again then.
    let h = await health();
    await waitFor(async () => (h = await health()).body.status === 'ok', 'status ok');
    expect(h.status).toBe(200);
    expect(h.body.freeswitch).toMatchObject({ connected: true, state: 'ready', link: 'live', connects: 1, probeFailures: 0 });
    expect(h.body.freeswitch.lastEventAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(h.body.freeswitch.lastHeartbeatAt).toBe(h.body.freeswitch.lastEventAt);

    // The peer goes away without a FIN: it stops answering anything.
    const peer = fs.current;
    const seen = peer.commands.length;
    peer.mute = true;
    await waitFor(() => peer.commands.slice(seen).includes('api status'), 'the idle probe', 5000);
    h = await health();
    expect(h.status).toBe(200);
    expect(h.body.status).toBe('degraded');
    expect(h.body.freeswitch).toMatchObject({ connected: true, state: 'ready', link: 'stale' });
    expect(h.body.freeswitch.probes).toBeGreaterThanOrEqual(1);
    expect(Date.parse(h.body.freeswitch.lastByteAt)).toBeLessThanOrEqual(Date.now() - 300);

    await waitFor(() => app.calls.esl.stats.connects === 2 && app.calls.esl.link === 'live', 'reconnected', 5000);
    await waitFor(() => app.calls.stats.resyncs >= 2, 'resync after the reconnect');
    h = await health();
    expect(h.body.status).toBe('ok');
    expect(h.body.freeswitch).toMatchObject({ link: 'live', connects: 2, probeFailures: 1 });
    expect(h.body.freeswitch.lastError).toMatch(/^link dead: no reply to "api status" within 1500 ms/);
  });
});
