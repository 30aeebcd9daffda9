/**
 * Recordings over real HTTP from a replayed stereo-recording call: the real WAV from the capture, byte
 * ranges as an audio player asks for them, and who may hear what.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRange, RecordingFiles } from '../src/recordings/recording-files';
import { api, playAndSettle, Stack, startStack } from './helpers';

const WAV = join(__dirname, '..', 'fixtures', 'freeswitch', '07_stereo.wav');
const FS_DIR = '/var/lib/freeswitch/recordings';
const json = (body: unknown) => ({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

async function raw(stack: Stack, url: string, token: string, headers: Record<string, string> = {}, method = 'GET') {
  const res = await fetch(`${stack.base.replace(/\/api\/v1$/, '')}${url}`, { method, headers: { Authorization: `Bearer ${token}`, ...headers } });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

describe('recordings (sqlite)', () => {
  let stack: Stack;
  let dir: string;
  let call: any;
  const wav = readFileSync(WAV);
  const ADMIN = 'test-admin-token-0123456789abcdef';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'telefonist-rec-'));
    copyFileSync(WAV, join(dir, '07_stereo.wav'));
    stack = await startStack('sqlite', {
      env: { TELEFONIST_RECORDINGS_DIR: dir, TELEFONIST_RECORDINGS_FS_DIR: FS_DIR, TELEFONIST_INTEGRATION_RECORDINGS: 'none' },
    });
    await playAndSettle(stack, '07_stereo_recording', { rewrite: true });
    const list = (await api(stack, '/calls?hasRecording=true')).body.items;
    expect(list).toHaveLength(1);
    call = (await api(stack, `/calls/${list[0].id}`)).body;
  });
  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the call lists its stereo recording with a URL; the whole file streams with type and length', async () => {
    expect(call.recordings).toHaveLength(1);
    const rec = call.recordings[0];
    expect(rec).toMatchObject({ url: `/api/v1/calls/${call.id}/recordings/0`, path: `${FS_DIR}/07_stereo.wav`, stereo: true });
    const r = await raw(stack, rec.url, ADMIN);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('audio/wav');
    expect(r.headers.get('content-length')).toBe(String(wav.length));
    expect(r.headers.get('accept-ranges')).toBe('bytes');
    expect(r.body.equals(wav)).toBe(true);
    const head = await raw(stack, rec.url, ADMIN, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(wav.length));
    expect(head.body.length).toBe(0);
  });

  test('byte ranges: 206 with Content-Range, the exact bytes; beyond the end 416', async () => {
    const url = call.recordings[0].url;
    const cases: Array<[string, number, number]> = [
      ['bytes=0-43', 0, 43],
      ['bytes=44-', 44, wav.length - 1],
      ['bytes=-100', wav.length - 100, wav.length - 1],
      [`bytes=1000-${wav.length + 500}`, 1000, wav.length - 1],
    ];
    for (const [range, start, end] of cases) {
      const r = await raw(stack, url, ADMIN, { Range: range });
      expect({ range, status: r.status }).toEqual({ range, status: 206 });
      expect(r.headers.get('content-range')).toBe(`bytes ${start}-${end}/${wav.length}`);
      expect(r.headers.get('content-length')).toBe(String(end - start + 1));
      expect(r.body.equals(wav.subarray(start, end + 1))).toBe(true);
    }
    expect(call.recordings[0]).toBeDefined();
    const beyond = await raw(stack, url, ADMIN, { Range: `bytes=${wav.length}-` });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${wav.length}`);
    expect(JSON.parse(beyond.body.toString()).error.field).toBe('Range');
    const other = await raw(stack, url, ADMIN, { Range: 'items=0-1' });
    expect(other.status).toBe(200);
    expect((await raw(stack, `/api/v1/calls/${call.id}/recordings/1`, ADMIN)).status).toBe(404);
    expect((await raw(stack, `/api/v1/calls/${call.id}/recordings/x`, ADMIN)).status).toBe(400);
  });

  test('who hears: operators on the call and supervisors yes; other operators and (here) 1C no, and no paths leak', async () => {
    const employees: string[] = call.employees;
    expect(employees.length).toBeGreaterThan(0);
    const mk = async (body: unknown) => (await api(stack, '/tokens', json(body))).body.token as string;
    const onCall = await mk({ name: 'на звонке', role: 'operator', employee: employees[0] });
    const stranger = await mk({ name: 'чужой', role: 'operator', employee: '1099' });
    const supervisor = await mk({ name: 'старший', role: 'supervisor' });
    const integration = await mk({ name: '1C', role: 'integration' });
    const url = call.recordings[0].url;
    expect((await raw(stack, url, onCall)).status).toBe(200);
    expect((await raw(stack, url, supervisor)).status).toBe(200);
    expect((await raw(stack, url, stranger)).status).toBe(403);
    expect((await raw(stack, url, integration)).status).toBe(403);
    // An <audio> element cannot send headers: the token may come as access_token.
    const viaQuery = await fetch(`${stack.base.replace(/\/api\/v1$/, '')}${url}?access_token=${supervisor}`);
    expect(viaQuery.status).toBe(200);
    // Listings: the stranger does not see the call; 1C sees it without recordings.
    expect((await api(stack, '/calls?hasRecording=true', { token: stranger })).body.items).toEqual([]);
    expect((await api(stack, `/calls/${call.id}`, { token: stranger })).status).toBe(403);
    const seenBy1C = (await api(stack, `/calls/${call.id}`, { token: integration })).body;
    expect(seenBy1C.recordings).toEqual([]);
    expect(JSON.stringify(seenBy1C)).not.toContain('07_stereo.wav');
  });
});

describe('recording files stay inside their directory', () => {
  test('.., symlinks out, other directories and missing files are refused as absent', async () => {
    const base = mkdtempSync(join(tmpdir(), 'telefonist-recdir-'));
    const dir = join(base, 'recordings');
    mkdirSync(join(dir, '2026'), { recursive: true });
    writeFileSync(join(dir, '2026', 'a.wav'), 'RIFF');
    writeFileSync(join(base, 'secret.txt'), 'secret');
    symlinkSync(join(base, 'secret.txt'), join(dir, 'link.wav'));
    try {
      const files = new RecordingFiles({ dir, fsDir: FS_DIR });
      expect(await files.open(`${FS_DIR}/2026/a.wav`)).toMatchObject({ size: 4, contentType: 'audio/wav' });
      for (const bad of [`${FS_DIR}/../secret.txt`, `${FS_DIR}/2026/../../secret.txt`, `${FS_DIR}/link.wav`, '/etc/passwd', `${FS_DIR}/nope.wav`,
        `${FS_DIR}/2026`, 'relative/a.wav', `${FS_DIR}/2026/a.wav\0.mp3`, FS_DIR]) {
        expect({ bad, file: await files.open(bad) }).toEqual({ bad, file: null });
      }
      expect(await new RecordingFiles({}).open(`${FS_DIR}/2026/a.wav`)).toBeNull();
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  test('Range header parsing', () => {
    expect(parseRange(undefined, 100)).toBeNull();
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-1000', 100)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=50-500', 100)).toEqual({ start: 50, end: 99 });
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=9-3', 100)).toBeNull();
    expect(parseRange('bytes=0-1,5-6', 100)).toBeNull();
    expect(parseRange('bytes=0-', 0)).toBe('unsatisfiable');
  });
});
