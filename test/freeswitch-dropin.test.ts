import { EventEmitter } from 'node:events';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { DROPIN_FILES, DROPIN_SOURCE, planInstall, renderDropinFile } from '../src/freeswitch/dropin';
import { unifiedDiff } from '../src/freeswitch/unified-diff';
import { attachDirectoryWriter, DirectoryEmployee, renderDirectoryXml, writeDirectory } from '../src/freeswitch/directory-writer';
import { formatReport, REQUIRED_EXTENSIONS, runDoctor } from '../src/freeswitch/doctor';
import { confProblem, main as installMain } from '../scripts/install-freeswitch-dropin';
import { parseDoctorArgs } from '../scripts/doctor';
import { FreeSwitchSimulator } from '../src/esl/simulator';
import { loadConfig } from '../src/config';

// ---- a small reading of FreeSWITCH's XML --------------------------------------------------------------

interface Node {
  tag: string;
  attrs: Record<string, string>;
  children: Node[];
}

function parseXml(text: string): Node {
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new Error(`not well-formed: ${JSON.stringify(valid.err)}`);
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', preserveOrder: true, parseAttributeValue: false, processEntities: true });
  const convert = (items: any[]): Node[] =>
    items
      .filter((it) => !('#text' in it) && !('?xml' in it))
      .map((it) => {
        const tag = Object.keys(it).find((k) => k !== ':@')!;
        return { tag, attrs: (it[':@'] ?? {}) as Record<string, string>, children: convert(it[tag] ?? []) };
      });
  return { tag: '#document', attrs: {}, children: convert(parser.parse(text)) };
}

function findAll(n: Node, tag: string): Node[] {
  return [...(n.tag === tag ? [n] : []), ...n.children.flatMap((c) => findAll(c, tag))];
}

const VARS = { eslPassword: 'Test-Password-0123456789', eslPort: 8021, recordingsDir: '/var/lib/freeswitch/recordings', gateway: 'carrier' };
const DOMAIN = 'pbx.example';

function rendered(rel: string): string {
  return renderDropinFile(rel, VARS);
}

/** What the evaluator knows of FreeSWITCH beyond the channel: the directory, live channels, mod_hash. */
interface World {
  directory: Record<string, Record<string, string>>;
  channels?: Record<string, Record<string, string>>;
  hash?: Record<string, string>;
}

/**
 * Runs a destination through a context the way mod_dialplan_xml does (src/mod/dialplans/mod_dialplan_xml):
 * extensions in order; in each, conditions in order, field and expression expanded, regex; a failing
 * condition runs its anti-actions and, unless break="never", ends the extension; the extension matched when
 * its last evaluated condition did (or ran anti-actions); `continue="true"` goes on. Actions with
 * inline="true" run during the hunt (so later conditions see them); others are only collected. $1… are the
 * condition's own captures. `$${domain}` is the preprocessor's; `${user_data(u@d var x)}`,
 * `${user_exists(id u d)}`, `${hash(select/realm/key)}` and `${uuid_getvar(uuid var)}` read the world.
 */
function route(context: Node, destination: string, vars: Record<string, string>, w: World): { extensions: string[]; actions: Array<[string, string]>; vars: Record<string, string> } {
  const v: Record<string, string> = { ...vars, destination_number: destination };
  const call = (name: string, args: string): string => {
    if (name === 'user_data') {
      const [user, , key] = args.split(' ');
      const [id, dom] = user.split('@');
      return dom === DOMAIN ? w.directory[id]?.[key] ?? '' : '';
    }
    if (name === 'user_exists') {
      const [, id, dom] = args.split(' ');
      return String(dom === DOMAIN && id in w.directory);
    }
    if (name === 'hash') {
      const m = /^select\/([^/]+)\/(.+)$/.exec(args);
      return (m && w.hash?.[`${m[1]}/${m[2]}`]) ?? '';
    }
    if (name === 'uuid_getvar') {
      const [uuid, key] = args.trim().split(/\s+/);
      if (!key) return '-ERR No variable name specified!';
      const ch = w.channels?.[uuid];
      return ch ? ch[key] ?? '_undef_' : '-ERR No such channel!';
    }
    return `<${name}(${args})>`; // left for FreeSWITCH (strftime, …)
  };
  const expand = (s: string): string => {
    let out = s.replaceAll('$${domain}', DOMAIN);
    for (let guard = 0; guard < 50; guard++) {
      const next = out.replace(/\$\{([^${}]*)\}/, (_, inner: string) => {
        const fn = /^(\w+)\((.*)\)$/.exec(inner);
        return fn ? call(fn[1], fn[2]) : v[inner] ?? '';
      });
      if (next === out) break;
      out = next;
    }
    return out;
  };
  const extensions: string[] = [];
  const actions: Array<[string, string]> = [];
  const run = (list: Node[], m: RegExpExecArray | null) => {
    for (const a of list) {
      const data = (a.attrs.data ?? '').replaceAll('$${domain}', DOMAIN).replace(/\$(\d)/g, (_, d: string) => m?.[Number(d)] ?? '');
      if (a.attrs.inline === 'true') {
        if (a.attrs.application !== 'set') throw new Error(`inline ${a.attrs.application} not modelled`);
        const x = expand(data);
        const i = x.indexOf('=');
        if (x.slice(i + 1) === '') delete v[x.slice(0, i)];
        else v[x.slice(0, i)] = x.slice(i + 1);
      } else actions.push([a.attrs.application, data]);
    }
  };
  for (const ext of context.children.filter((c) => c.tag === 'extension')) {
    const before = actions.length;
    let proceed = false;
    for (const cond of ext.children.filter((c) => c.tag === 'condition')) {
      let m: RegExpExecArray | null = null;
      if (cond.attrs.field === undefined) proceed = true;
      else {
        const value = cond.attrs.field.includes('$') ? expand(cond.attrs.field) : v[cond.attrs.field] ?? '';
        m = new RegExp(expand(cond.attrs.expression)).exec(value);
        proceed = !!m;
      }
      if (proceed) run(cond.children.filter((c) => c.tag === 'action'), m);
      else {
        const anti = cond.children.filter((c) => c.tag === 'anti-action');
        run(anti, null);
        if (anti.length) proceed = true;
        if ((cond.attrs.break ?? 'on-false') === 'on-false') break;
      }
    }
    if (proceed) extensions.push(ext.attrs.name);
    else if (actions.length !== before) extensions.push(`${ext.attrs.name} (actions of its first conditions only)`);
    if (proceed && ext.attrs.continue !== 'true') break;
  }
  return { extensions, actions, vars: v };
}

function context(text: string, name: string): Node {
  const c = findAll(parseXml(text), 'context').find((x) => x.attrs.name === name);
  if (!c) throw new Error(`no context ${name}`);
  return c;
}

/** public.xml as vanilla has it around its public/*.xml include (our file is put where the include is). */
function publicContext(): Node {
  const ours = parseXml(rendered('dialplan/public/00_telefonist_dids.xml')).children.find((c) => c.tag === 'include')!;
  const vanillaLike: Node[] = [
    { tag: 'extension', attrs: { name: 'outside_call', continue: 'true' }, children: [{ tag: 'condition', attrs: {}, children: [{ tag: 'action', attrs: { application: 'set', data: 'outside_call=true' }, children: [] }] }] },
    { tag: 'extension', attrs: { name: 'public_extensions' }, children: [{ tag: 'condition', attrs: { field: 'destination_number', expression: '^(10[01][0-9])$' }, children: [{ tag: 'action', attrs: { application: 'transfer', data: '$1 XML default' }, children: [] }] }] },
  ];
  return { tag: 'context', attrs: { name: 'public' }, children: [...vanillaLike, ...ours.children] };
}

// ---- the XML of the drop-in -----------------------------------------------------------------------------

describe('freeswitch-conf: the XML', () => {
  test('every file is well-formed XML once the installer filled it in, with no placeholder left', () => {
    for (const f of DROPIN_FILES) {
      const text = rendered(f.rel);
      expect(() => parseXml(text)).not.toThrow();
      expect(text).not.toMatch(/@[A-Z_]+@/);
    }
    expect(() => parseXml(renderDirectoryXml([{ extension: '1001', name: 'Иванов "Ваня" <ivan> & Co', supervisor: true, password: 'S3cret-pass' }]))).not.toThrow();
  });

  test('event socket: loopback only, the generated password, loopback ACL', () => {
    const settings = findAll(parseXml(rendered('autoload_configs/event_socket.conf.xml')), 'param');
    const p = Object.fromEntries(settings.map((n) => [n.attrs.name, n.attrs.value]));
    expect(p).toMatchObject({ 'listen-ip': '127.0.0.1', 'listen-port': '8021', password: VARS.eslPassword, 'apply-inbound-acl': 'loopback.auto' });
    expect(p.password).not.toBe('ClueCon');
    expect(findAll(parseXml(rendered('autoload_configs/event_socket.conf.xml')), 'configuration')[0].attrs.name).toBe('event_socket.conf');
  });

  const dialplan = () => context(rendered('dialplan/telefonist.xml'), 'telefonist');
  const directory: Record<string, Record<string, string>> = {
    '1001': { telefonist_supervisor: 'false', telefonist_ext: '1001' },
    '1002': { telefonist_supervisor: 'true', telefonist_ext: '1002' },
    '1003': { telefonist_supervisor: 'false', telefonist_ext: '1003' },
  };
  const CUSTOMER = '0d9a032a-f54b-494d-870b-f513566b0ed8';
  const AGENT_LEG = '8008fec4-35f7-4fa8-b987-12cb9c1a729c';
  const OWN_LEG = '74a91a2f-924d-42be-ac18-560a8cec2049';

  /** A supervisor dials a code; the transfer to telefonist_supervise runs the context again (as FreeSWITCH does). */
  function supervise(code: string, caller: Record<string, string>, world: World) {
    const first = route(dialplan(), code, caller, world);
    if (first.actions[first.actions.length - 1]?.[0] !== 'transfer') return { first, second: null };
    const vars: Record<string, string> = { ...caller };
    for (const [app, data] of first.actions) if (app === 'set') vars[data.split('=')[0]] = data.slice(data.indexOf('=') + 1);
    return { first, second: route(dialplan(), 'telefonist_supervise', vars, world) };
  }

  test('supervisor codes: a directory supervisor joins the employee\'s own leg, each mode with its eavesdrop flags', () => {
    // Capture 09's call: the customer's leg called 1001 (hash telefonist_peer), 1001's answered leg is its bridge_uuid.
    const world: World = {
      directory,
      hash: { 'telefonist_peer/1001': CUSTOMER },
      channels: { [CUSTOMER]: { bridge_uuid: AGENT_LEG }, [AGENT_LEG]: { bridge_uuid: CUSTOMER, telefonist_ext: '1001' } },
    };
    const modes: Record<string, [string, string, string]> = { '*30': ['listen', 'false', 'false'], '*32': ['whisper', 'false', 'true'], '*33': ['barge', 'true', 'true'] };
    for (const [code, [mode, aleg, bleg]] of Object.entries(modes)) {
      const { first, second } = supervise(`${code}1001`, { user_name: '1002' }, world);
      expect(first.extensions).toEqual([`telefonist_supervise_${mode}`]);
      expect(first.actions).toContainEqual(['set', `eavesdrop_whisper_aleg=${aleg}`]);
      expect(first.actions).toContainEqual(['set', `eavesdrop_whisper_bleg=${bleg}`]);
      expect(first.actions).toContainEqual(['set', 'telefonist_supervised=1001']);
      expect(second!.extensions).toEqual(['telefonist_supervise']);
      expect(second!.vars.telefonist_target).toBe(AGENT_LEG);
      expect(second!.actions.map((a) => a[0])).toEqual(['log', 'answer', 'set', 'eavesdrop', 'hangup']);
      expect(second!.actions).toContainEqual(['eavesdrop', '${telefonist_target}']);
    }
  });

  test('supervisor codes: an employee\'s outgoing call is found by its own leg', () => {
    const world: World = { directory, hash: { 'telefonist_self/1001': OWN_LEG }, channels: { [OWN_LEG]: { telefonist_ext: '1001' } } };
    const { second } = supervise('*321001', { user_name: '1002' }, world);
    expect(second!.vars.telefonist_target).toBe(OWN_LEG);
    expect(second!.extensions).toEqual(['telefonist_supervise']);
  });

  test('supervisor codes: no call, a call transferred away or a leg gone: 480, no eavesdrop', () => {
    const worlds: World[] = [
      { directory },
      // The customer was transferred from 1001 to 1003: the remembered leg is now bridged to 1003's leg.
      { directory, hash: { 'telefonist_peer/1001': CUSTOMER }, channels: { [CUSTOMER]: { bridge_uuid: 'aaaaaaaa-0000-0000-0000-000000000003' }, 'aaaaaaaa-0000-0000-0000-000000000003': { telefonist_ext: '1003' } } },
      // The legs are gone.
      { directory, hash: { 'telefonist_peer/1001': CUSTOMER, 'telefonist_self/1001': OWN_LEG }, channels: {} },
    ];
    for (const world of worlds) {
      const { second } = supervise('*301001', { user_name: '1002' }, world);
      expect(second!.extensions).toEqual(['telefonist_supervise_no_call']);
      expect(second!.actions.map((a) => a[0])).not.toContain('eavesdrop');
      expect(second!.actions).toContainEqual(['respond', '480 Temporarily Unavailable']);
    }
  });

  test('supervisor codes: refused for an employee without the right, an unknown or unauthenticated caller; no recording, no eavesdrop', () => {
    const world: World = { directory, hash: { 'telefonist_peer/1002': CUSTOMER }, channels: { [CUSTOMER]: { bridge_uuid: AGENT_LEG }, [AGENT_LEG]: { telefonist_ext: '1002' } } };
    for (const caller of [{ user_name: '1001' }, { user_name: '1999' }, {}] as Array<Record<string, string>>) {
      for (const code of ['*301002', '*321002', '*331002', '*311002', 'telefonist_supervise']) {
        const r = route(dialplan(), code, caller, world);
        expect(r.extensions).toEqual(['telefonist_supervise_refused']);
        expect(r.actions.map((a) => a[0])).not.toContain('eavesdrop');
        expect(r.actions).toContainEqual(['respond', '403 Forbidden']);
      }
    }
    // A channel variable set some other way does not count: the directory (user_data) decides.
    const spoof = route(dialplan(), '*321002', { user_name: '1001', telefonist_supervisor: 'true' }, world);
    expect(spoof.extensions).toEqual(['telefonist_supervise_refused']);
    // The common part needs the right too, even with telefonist_supervised set.
    expect(route(dialplan(), 'telefonist_supervise', { user_name: '1001', telefonist_supervised: '1002' }, world).extensions).toEqual(['telefonist_supervise_refused']);
  });

  test('the right is the directory entry the directory writer produced', () => {
    const xml = renderDirectoryXml([
      { extension: '1001', name: 'Оператор', supervisor: false },
      { extension: '1002', name: 'Старший', supervisor: true },
    ]);
    const dir: Record<string, Record<string, string>> = {};
    for (const u of findAll(parseXml(xml), 'user')) dir[u.attrs.id] = Object.fromEntries(findAll(u, 'variable').map((x) => [x.attrs.name, x.attrs.value]));
    expect(dir['1002']).toMatchObject({ telefonist_supervisor: 'true', user_context: 'telefonist', telefonist_ext: '1002' });
    expect(route(dialplan(), '*321001', { user_name: '1002' }, { directory: dir }).extensions).toEqual(['telefonist_supervise_whisper']);
    expect(route(dialplan(), '*321002', { user_name: '1001' }, { directory: dir }).extensions).toEqual(['telefonist_supervise_refused']);
  });

  test('the legs the codes look for are remembered: the employee\'s own leg, and the leg that calls an extension', () => {
    const out = route(dialplan(), '89161234567', { user_name: '1001', telefonist_ext: '1001' }, { directory });
    expect(out.extensions).toEqual(['telefonist_employee_leg', 'telefonist_record', 'telefonist_outbound']);
    expect(out.actions[0]).toEqual(['hash', 'insert/telefonist_self/1001/${uuid}']);
    const customer = route(dialplan(), '1001', {}, { directory });
    expect(customer.extensions).toEqual(['telefonist_record', 'telefonist_extension']);
    expect(customer.actions).toContainEqual(['hash', 'insert/telefonist_peer/1001/${uuid}']);
  });

  test('every call to an extension or out is recorded once, in stereo, answered only, following transfers', () => {
    const inbound = route(dialplan(), '1001', {}, { directory });
    expect(inbound.extensions).toEqual(['telefonist_record', 'telefonist_extension']);
    const rec = inbound.actions.slice(0, 6);
    expect(rec).toEqual([
      ['set', 'RECORD_STEREO=true'],
      ['set', 'RECORD_ANSWER_REQ=true'],
      ['export', 'recording_follow_transfer=true'],
      ['export', 'recording_follow_attxfer=true'],
      ['set', 'telefonist_rec=/var/lib/freeswitch/recordings/${strftime(%Y%m%d-%H%M%S)}_${uuid}.wav'],
      ['record_session', '${telefonist_rec}'],
    ]);
    expect(inbound.actions).toContainEqual(['bridge', `user/1001@${DOMAIN}`]);
    expect(inbound.actions[inbound.actions.length - 1]).toEqual(['hangup', '${originate_disposition}']);
    // A transfer runs the dialplan again on the recorded channel: no second recording.
    const again = route(dialplan(), '1002', { telefonist_rec: '/var/lib/freeswitch/recordings/x.wav' }, { directory });
    expect(again.extensions).toEqual(['telefonist_extension']);
    expect(again.actions.map((a) => a[0])).not.toContain('record_session');
    // An extension that is not in the directory is not bridged.
    expect(route(dialplan(), '1999', {}, { directory }).extensions).toEqual(['telefonist_record']);
  });

  test('outbound: ^\\+?([78]\\d{10})$ through the gateway, the + dropped, recorded', () => {
    for (const [dialled, sent] of [['+79161234567', '79161234567'], ['89161234567', '89161234567'], ['74950000000', '74950000000']]) {
      const r = route(dialplan(), dialled, { user_name: '1002' }, { directory });
      expect(r.extensions).toEqual(['telefonist_record', 'telefonist_outbound']);
      expect(r.actions).toContainEqual(['bridge', `{sip_cid_type=none}sofia/gateway/carrier/${sent}`]);
    }
    expect(route(dialplan(), '+1234567890123', {}, { directory }).extensions).toEqual([]);
  });

  test('public: each DID goes to its extension in context telefonist (as capture 09: transfer <ext> XML …)', () => {
    const cases: Array<[string, string]> = [
      ['74950000000', '1001 XML telefonist'],
      ['+74950000000', '1001 XML telefonist'],
      ['84950000000', '1001 XML telefonist'],
      ['74950001002', '1002 XML telefonist'],
      ['+74950001003', '1003 XML telefonist'],
    ];
    for (const [did, to] of cases) {
      const r = route(publicContext(), did, {}, { directory: {} });
      expect(r.actions).toContainEqual(['transfer', to]);
    }
    expect(route(publicContext(), '74951112233', {}, { directory: {} }).actions.filter((a) => a[0] === 'transfer')).toEqual([]);
  });

  test('the context has every extension doctor looks for', () => {
    const names = dialplan().children.map((c) => c.attrs.name);
    for (const x of REQUIRED_EXTENSIONS) expect(names).toContain(x);
  });
});

// ---- the directory writer -----------------------------------------------------------------------------

describe('directory writer', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tf-fsdir-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('renders users with the context, the right and the extension mark; refuses what it cannot write safely', () => {
    const xml = renderDirectoryXml([{ extension: '1002', name: 'Петров ${system(rm -rf /)} $${x}\n', supervisor: true, password: 'Abcdef12' }]);
    expect(xml).toContain('<user id="1002">');
    expect(xml).toContain('<param name="password" value="Abcdef12"/>');
    expect(xml).toContain('<variable name="telefonist_supervisor" value="true"/>');
    expect(xml).not.toMatch(/\$\{|\$\$\{/);
    expect(() => renderDirectoryXml([{ extension: '10"01', name: 'x', supervisor: false }])).toThrow();
    expect(() => renderDirectoryXml([{ extension: '1001', name: 'x', supervisor: false, password: 'pa${ss}word' }])).toThrow();
    expect(() => renderDirectoryXml([{ extension: '1001', name: 'x', supervisor: false, password: 'short' }])).toThrow();
    expect(() => renderDirectoryXml([{ extension: '1001', name: 'a', supervisor: false }, { extension: '1001', name: 'b', supervisor: false }])).toThrow();
  });

  test('writes atomically and only when the content changes', async () => {
    const emps: DirectoryEmployee[] = [{ extension: '1001', name: 'A', supervisor: false }];
    const a = await writeDirectory(dir, emps);
    expect(a.changed).toBe(true);
    expect(a.withoutPassword).toEqual(['1001']);
    expect((await writeDirectory(dir, emps)).changed).toBe(false);
    expect(readdirSync(dir)).toEqual(['00-telefonist-employees.xml']);
    expect(statSync(a.path).mode & 0o777).toBe(0o640);
  });

  test('an employee without a password in Telefonist keeps the credential the phone registers with today', async () => {
    // A vanilla-style per-user file (our file sorts before it and wins, so it must carry the credential).
    writeFileSync(join(dir, '1001.xml'), '<include>\n  <user id="1001">\n    <params>\n      <param name="password" value="$${default_password}"/>\n    </params>\n  </user>\n</include>\n');
    writeFileSync(join(dir, '1003.xml'), '<include><user id="1003"><params><param name="a1-hash" value="c6440e5de50b403206989679159de89a"/></params></user></include>');
    const emps: DirectoryEmployee[] = [
      { extension: '1001', name: 'A', supervisor: false },
      { extension: '1002', name: 'B', supervisor: true },
      { extension: '1003', name: 'C', supervisor: false },
      { extension: '1004', name: 'D', supervisor: false, password: 'Given-by-1C' },
    ];
    const r = await writeDirectory(dir, emps);
    const text = readFileSync(r.path, 'utf8');
    expect(text).toMatch(/<user id="1001">\n    <params>\n      <param name="password" value="\$\$\{default_password\}"\/>/);
    expect(text).toContain('<param name="a1-hash" value="c6440e5de50b403206989679159de89a"/>');
    expect(text).toContain('<param name="password" value="Given-by-1C"/>');
    expect(r.withoutPassword).toEqual(['1002']);
    // The vanilla file removed (as the guide advises): our previous file still has it.
    rmSync(join(dir, '1001.xml'));
    const again = await writeDirectory(dir, emps.map((e) => (e.extension === '1002' ? { ...e, supervisor: false } : e)));
    expect(again.changed).toBe(true);
    expect(readFileSync(again.path, 'utf8')).toContain('<param name="password" value="$${default_password}"/>');
  });

  test('attachDirectoryWriter: writes at start, rewrites and reloads once per burst of changes, retries a failed reload on reconnect', async () => {
    class FakeEmployees extends EventEmitter {
      // The shape of src/employees/employees.ts: list() of {extension, name, …}, isSupervisor(extension).
      rows = [
        { extension: '1001', name: 'Оператор', groups: ['sales'], password: 'Pass-1001' },
        { extension: '1002', name: 'Старший', groups: [], password: 'Pass-1002' },
        { extension: 'bad!', name: 'Not written', groups: [] },
      ];
      supervisors = new Set(['1002']);
      list() {
        return this.rows;
      }
      isSupervisor(extension: string) {
        return this.supervisors.has(extension);
      }
    }
    const employees = new FakeEmployees();
    const sent: string[] = [];
    let fsUp = true;
    const esl = Object.assign(new EventEmitter(), {
      async api(cmd: string) {
        sent.push(cmd);
        if (!fsUp) throw new Error('FreeSWITCH is not connected (disconnected)');
        return '+OK [Success]\n';
      },
    });
    const warnings: string[] = [];
    const w = attachDirectoryWriter(employees, esl, { dir, debounceMs: 20, log: (lvl, m) => lvl !== 'info' && warnings.push(m) });
    await w.idle();
    const file = join(dir, '00-telefonist-employees.xml');
    expect(readFileSync(file, 'utf8')).toContain('<variable name="telefonist_supervisor" value="true"/>');
    expect(sent).toEqual(['reloadxml']);
    expect(warnings.join('\n')).toMatch(/bad!/);

    // Nothing changed: no reload.
    employees.emit('changed');
    await w.idle();
    expect(sent).toEqual(['reloadxml']);

    // A burst of changes (rights granted and revoked): one write, one reload.
    employees.supervisors.add('1001');
    employees.emit('changed');
    employees.supervisors.delete('1002');
    employees.emit('changed');
    employees.emit('changed');
    await w.idle();
    expect(sent).toEqual(['reloadxml', 'reloadxml']);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/<user id="1001">[\s\S]*telefonist_supervisor" value="true"[\s\S]*<user id="1002">[\s\S]*telefonist_supervisor" value="false"/);

    // FreeSWITCH down: the file is written, the reload is owed and done after the reconnect.
    fsUp = false;
    employees.supervisors.add('1002');
    employees.emit('changed');
    await w.idle();
    expect(w.stats.pendingReload).toBe(true);
    fsUp = true;
    esl.emit('ready');
    await new Promise((r) => setTimeout(r, 10));
    await w.idle();
    expect(w.stats.pendingReload).toBe(false);
    expect(sent.slice(-2)).toEqual(['reloadxml', 'reloadxml']);
    w.stop();
    expect(employees.listenerCount('changed')).toBe(0);
    expect(esl.listenerCount('ready')).toBe(0);
  });
});

// ---- the installer ------------------------------------------------------------------------------------

/** A minimal tree shaped like FreeSWITCH's vanilla /etc/freeswitch (our own few lines, not FreeSWITCH's files). */
function vanillaLikeTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'tf-fsconf-'));
  const conf = join(root, 'freeswitch');
  const files: Record<string, string> = {
    'freeswitch.xml': '<?xml version="1.0"?>\n<document type="freeswitch/xml">\n  <section name="dialplan"><X-PRE-PROCESS cmd="include" data="dialplan/*.xml"/></section>\n</document>\n',
    'vars.xml': '<include>\n  <X-PRE-PROCESS cmd="set" data="domain=$${local_ip_v4}"/>\n</include>\n',
    'autoload_configs/event_socket.conf.xml':
      '<configuration name="event_socket.conf" description="Socket Client">\n  <settings>\n    <param name="nat-map" value="false"/>\n    <param name="listen-ip" value="::"/>\n    <param name="listen-port" value="8021"/>\n    <param name="password" value="ClueCon"/>\n  </settings>\n</configuration>\n',
    'dialplan/default.xml': '<include>\n  <context name="default">\n    <X-PRE-PROCESS cmd="include" data="default/*.xml"/>\n  </context>\n</include>\n',
    'dialplan/public.xml': '<include>\n  <context name="public">\n    <X-PRE-PROCESS cmd="include" data="public/*.xml"/>\n  </context>\n</include>\n',
    'directory/default.xml': '<include>\n  <domain name="$${domain}">\n    <groups><group name="default"><users><X-PRE-PROCESS cmd="include" data="default/*.xml"/></users></group></groups>\n  </domain>\n</include>\n',
    'directory/default/1001.xml': '<include>\n  <user id="1001"><params><param name="password" value="$${default_password}"/></params></user>\n</include>\n',
    'sip_profiles/external.xml': '<profile name="external">\n  <gateways><X-PRE-PROCESS cmd="include" data="external/*.xml"/></gateways>\n</profile>\n',
  };
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(conf, rel, '..'), { recursive: true });
    writeFileSync(join(conf, rel), text);
  }
  mkdirSync(join(conf, 'sip_profiles', 'external'), { recursive: true });
  mkdirSync(join(conf, 'dialplan', 'public'), { recursive: true });
  writeFileSync(join(root, '.env'), 'PORT=8080\nFREESWITCH_ESL_PASSWORD=ClueCon\n');
  return root;
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (name === '.telefonist-backup') continue;
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

function run(args: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = installMain(args, (s) => (out += s), (s) => (err += s));
  return { code, out, err };
}

describe('installer (npm run fs:install)', () => {
  let root: string;
  let conf: string;
  let env: string;
  beforeEach(() => {
    root = vanillaLikeTree();
    conf = join(root, 'freeswitch');
    env = join(root, '.env');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  test('--dry-run prints the unified diff of every file it would add or replace, masks the password, writes nothing', () => {
    const before = snapshot(root);
    const r = run(['--conf', conf, '--env', env, '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Пробный запуск: ничего не записано/);
    for (const f of DROPIN_FILES) expect(r.out).toContain(`+++ b/${f.rel}`);
    expect(r.out).toContain('--- a/autoload_configs/event_socket.conf.xml');
    expect(r.out).toContain('-    <param name="password" value="ClueCon"/>');
    expect(r.out).toContain('+    <param name="password" value="********"/>');
    expect(r.out).toContain('+FREESWITCH_ESL_PASSWORD=********');
    expect(r.out).toContain('-FREESWITCH_ESL_PASSWORD=ClueCon');
    expect(snapshot(root)).toEqual(before);
    expect(existsSync(join(conf, '.telefonist-backup'))).toBe(false);
  });

  test('install: adds our files, replaces the event socket with a backup, one password in XML and .env; a re-run changes nothing', () => {
    const vanillaEsl = readFileSync(join(conf, 'autoload_configs/event_socket.conf.xml'), 'utf8');
    const r = run(['--conf', conf, '--env', env]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Готово\. Резервная копия: /);
    for (const f of DROPIN_FILES) expect(existsSync(join(conf, f.rel))).toBe(true);
    const password = /FREESWITCH_ESL_PASSWORD=(.+)/.exec(readFileSync(env, 'utf8'))![1];
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const esl = readFileSync(join(conf, 'autoload_configs/event_socket.conf.xml'), 'utf8');
    expect(esl).toContain(`<param name="password" value="${password}"/>`);
    expect(statSync(join(conf, 'autoload_configs/event_socket.conf.xml')).mode & 0o777).toBe(0o640);
    expect(readFileSync(env, 'utf8')).toMatch(/^PORT=8080\n/);
    expect(readFileSync(env, 'utf8')).toContain('TELEFONIST_DIAL_CONTEXT=telefonist');
    expect(readFileSync(env, 'utf8')).toContain(`TELEFONIST_FS_DIRECTORY_DIR=${join(conf, 'directory', 'default')}`);
    const backups = readdirSync(join(conf, '.telefonist-backup'));
    expect(backups).toHaveLength(1);
    expect(backups[0]).toMatch(/^\d{8}-\d{6}$/);
    expect(readFileSync(join(conf, '.telefonist-backup', backups[0], 'files/autoload_configs/event_socket.conf.xml'), 'utf8')).toBe(vanillaEsl);
    // Vanilla files are not touched.
    expect(readFileSync(join(conf, 'dialplan/default.xml'), 'utf8')).toContain('<context name="default">');

    const again = run(['--conf', conf, '--env', env, '--lang', 'en']);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/Nothing to change: the drop-in is already installed\./);
    expect(readFileSync(env, 'utf8')).toContain(`FREESWITCH_ESL_PASSWORD=${password}`);
    expect(readdirSync(join(conf, '.telefonist-backup'))).toHaveLength(1);
  });

  test('site files (DIDs, the employees file) are kept once edited, replaced only with --force', () => {
    run(['--conf', conf, '--env', env]);
    const dids = join(conf, 'dialplan/public/00_telefonist_dids.xml');
    const edited = readFileSync(dids, 'utf8').replace('(4950000000)', '(4951234567)');
    writeFileSync(dids, edited);
    const r = run(['--conf', conf, '--env', env, '--lang', 'en']);
    expect(r.out).toContain('keep       dialplan/public/00_telefonist_dids.xml');
    expect(readFileSync(dids, 'utf8')).toBe(edited);
    const f = run(['--conf', conf, '--env', env, '--force', '--lang', 'en', '--dry-run']);
    expect(f.out).toContain('replace    dialplan/public/00_telefonist_dids.xml');
    expect(f.out).toContain('+    <condition field="destination_number" expression="^\\+?[78](4950000000)$">');
  });

  test('--undo restores the last backup: the tree and .env as they were before the install', () => {
    const before = snapshot(root);
    run(['--conf', conf, '--env', env]);
    expect(snapshot(root)).not.toEqual(before);
    const u = run(['--conf', conf, '--env', env, '--undo']);
    expect(u.code).toBe(0);
    expect(u.out).toMatch(/^Восстановлено из /);
    expect(snapshot(root)).toEqual(before);
    const again = run(['--conf', conf, '--undo', '--lang', 'en']);
    expect(again.out).toMatch(/Nothing to undo/);
  });

  test('refuses a directory that is not a FreeSWITCH configuration, saying what is missing and where to look', () => {
    const nope = join(root, 'nope');
    const absent = run(['--conf', nope, '--dry-run']);
    expect(absent.code).toBe(1);
    expect(absent.err).toContain(`Папки ${nope} нет`);
    // Never the path that just failed as the advice: the folder with freeswitch.xml, and the usual places.
    expect(absent.err).toContain('--conf <папка с freeswitch.xml>');
    expect(absent.err).toContain('/etc/freeswitch');
    expect(absent.err).toContain('/usr/local/freeswitch/conf');
    // A folder that exists but holds no freeswitch.xml: said so, not "not found".
    const empty = join(root, 'empty');
    mkdirSync(empty, { recursive: true });
    const noXml = run(['--conf', empty, '--dry-run']);
    expect(noXml.code).toBe(1);
    expect(noXml.err).toContain(`В ${empty} нет freeswitch.xml: это не папка конфигурации FreeSWITCH.`);
    expect(noXml.err).not.toMatch(/не найден/);
    expect(run(['--conf', empty, '--lang', 'en']).err).toContain(`There is no freeswitch.xml in ${empty}: it is not a FreeSWITCH configuration directory.`);
    // A typical place that does hold one is named.
    expect(confProblem(empty, 'ru', [conf])).toContain(`freeswitch.xml найден в ${conf}: --conf ${conf}`);
    expect(confProblem(conf, 'ru')).toBeNull();
  });

  test('bad options: an unknown one, a missing value, a bad value (named with what is expected); exit 2, nothing written', () => {
    const before = snapshot(root);
    const bogus = run(['--bogus']);
    expect(bogus.code).toBe(2);
    expect(bogus.err).toMatch(/^Неизвестный параметр: --bogus\n/);
    expect(run(['constructor']).err).toMatch(/^Неизвестный параметр: constructor/);
    const bad: Array<[string[], string]> = [
      [['--esl-port', 'abc'], '--esl-port: ожидается номер порта 1–65535, получено "abc"'],
      [['--esl-port', '0'], '--esl-port: ожидается номер порта 1–65535, получено "0"'],
      [['--esl-port', '70000'], '--esl-port: ожидается номер порта 1–65535, получено "70000"'],
      [['--esl-port', '80.5'], '--esl-port: ожидается номер порта 1–65535, получено "80.5"'],
      [['--lang', 'de'], '--lang: ожидается ru или en, получено "de"'],
      [['--gateway', 'my gw'], '--gateway: ожидается имя шлюза sofia (латинские буквы, цифры, _ . -, до 64 символов), получено "my gw"'],
      [['--recordings', '/tmp/x;rm -rf /'], '--recordings: ожидается абсолютный путь к папке (/…: латинские буквы, цифры, _ . / -, без ..), получено "/tmp/x;rm -rf /"'],
      [['--recordings', 'records'], '--recordings: ожидается абсолютный путь к папке'],
      [['--esl-port'], '--esl-port: не указано значение (например --esl-port 8021)'],
      [['--conf', '--dry-run'], '--conf: не указано значение (например --conf /etc/freeswitch)'],
      [['--env', ''], '--env: не указано значение (например --env .env)'],
    ];
    for (const [args, msg] of bad) {
      const r = run(['--conf', conf, '--env', env, ...args]);
      expect({ args, code: r.code, err: r.err.split('\n')[0] }).toEqual({ args, code: 2, err: expect.stringContaining(msg) });
      expect(r.err).toContain('Использование: npm run fs:install');
    }
    expect(run(['--esl-port', 'abc', '--lang', 'en']).err).toMatch(/^--esl-port: expected a port number 1–65535, got "abc"/);
    expect(run(['--conf', conf, '--env', env, '--esl-port', '8022', '--gateway', 'sip.carrier-1', '--recordings', '/srv/rec/', '--dry-run']).code).toBe(0);
    expect(snapshot(root)).toEqual(before);
  });

  test('the npm script runs it (English with --lang en)', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
    expect(pkg.scripts['fs:install']).toBe('tsx scripts/install-freeswitch-dropin.ts');
    expect(pkg.scripts.doctor).toBe('tsx scripts/doctor.ts');
    const r = spawnSync(process.execPath, [join(__dirname, '..', 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(__dirname, '..', 'scripts', 'install-freeswitch-dropin.ts'), '--conf', conf, '--env', env, '--dry-run', '--lang', 'en'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Dry run: nothing written/);
  });
});

test('unified diff matches diff -u for a change, an addition at the end and a new file', () => {
  expect(unifiedDiff('a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n', 'a\nb\nX\nd\ne\nf\ng\nh\ni\nj\nk\nl\n', 'a/x', 'b/x')).toBe(
    '--- a/x\n+++ b/x\n@@ -1,6 +1,6 @@\n a\n b\n-c\n+X\n d\n e\n f\n@@ -9,3 +9,4 @@\n i\n j\n k\n+l\n',
  );
  expect(unifiedDiff(null, 'q\n', 'a/x', 'b/x')).toBe('--- /dev/null\n+++ b/x\n@@ -0,0 +1 @@\n+q\n');
  expect(unifiedDiff('same\n', 'same\n', 'a', 'b')).toBe('');
});

// ---- doctor against the simulator ---------------------------------------------------------------------

describe('doctor', () => {
  let sim: FreeSwitchSimulator;
  let root: string;
  let recFs: string;
  let recLocal: string;
  let dirDir: string;
  const PASSWORD = 'Doctor-Test-Password-01';
  let clockOffsetMs = 0;
  let systemEnabled = true;
  let modules: Set<string>;
  let users: Record<string, Record<string, string>>;
  let recordingsInDialplan = '';

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'tf-doctor-'));
    recFs = join(root, 'recordings');
    mkdirSync(recFs);
    recLocal = recFs; // same machine
    recordingsInDialplan = recFs;
    dirDir = join(root, 'directory');
    mkdirSync(dirDir);
    await writeDirectory(dirDir, [
      { extension: '1001', name: 'A', supervisor: false },
      { extension: '1002', name: 'B', supervisor: true },
    ]);
    clockOffsetMs = 0;
    systemEnabled = true;
    modules = new Set(['mod_event_socket', 'mod_sofia', 'mod_commands', 'mod_dptools', 'mod_dialplan_xml', 'mod_sndfile', 'mod_hash']);
    users = { '1001': { telefonist_employee: 'true', telefonist_supervisor: 'false' }, '1002': { telefonist_employee: 'true', telefonist_supervisor: 'true' } };
    sim = new FreeSwitchSimulator(PASSWORD);
    const telefonistContext = context(rendered('dialplan/telefonist.xml'), 'telefonist');
    const h = sim.apiHandlers;
    h.set('module_exists', (a) => String(modules.has(a)));
    h.set('xml_locate', (a) => {
      // FreeSWITCH answers with the located element as XML, or "can't find anything".
      if (a === 'dialplan context name telefonist') {
        return `<context name="telefonist">${telefonistContext.children.map((e) => `<extension name="${e.attrs.name}"/>`).join('')}<action application="set" data="telefonist_rec=${recordingsInDialplan}/\${strftime(%Y%m%d-%H%M%S)}_\${uuid}.wav"/></context>`;
      }
      if (a === 'dialplan context name public') return '<context name="public"><extension name="telefonist_did_main"><condition><action application="transfer" data="1001 XML telefonist"/></condition></extension></context>';
      return "can't find anything\n";
    });
    h.set('global_getvar', (a) => (a === 'domain' ? DOMAIN : ''));
    h.set('user_data', (a) => {
      const [user, , name] = a.split(' ');
      const [id, dom] = user.split('@');
      return dom === DOMAIN ? users[id]?.[name] ?? '' : '';
    });
    h.set('file_exists', (a) => String(existsSync(a)));
    h.set('system', (a) => {
      if (!systemEnabled) return '-ERR system Command not found!\n';
      const m = /^touch (\/\S+)$/.exec(a);
      if (m) writeFileSync(m[1], '');
      const rm = /^rm -f (\/\S+)$/.exec(a);
      if (rm) rmSync(rm[1], { force: true });
      return '';
    });
    h.set('strmicroepoch', () => String((Date.now() + clockOffsetMs) * 1000));
    h.set('sofia', (a) => (a === 'status gateway carrier' ? 'Name    \tcarrier\nProfile \texternal\nState   \tREGED\nStatus  \tUP (ping)\n' : 'Invalid Gateway!\n'));
    await sim.listen();
  });
  afterEach(async () => {
    await sim.close();
    rmSync(root, { recursive: true, force: true });
  });

  const opts = (over: Partial<Parameters<typeof runDoctor>[0]> = {}) => ({
    host: '127.0.0.1',
    port: sim.port,
    password: PASSWORD,
    recordingsDir: recLocal,
    recordingsFsDir: recFs,
    directoryDir: dirDir,
    dialContext: 'telefonist',
    timeoutMs: 2000,
    ...over,
  });

  test('a healthy FreeSWITCH: every check passes, with the real commands', async () => {
    const r = await runDoctor(opts());
    expect(r.checks.filter((c) => c.status !== 'ok')).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.checks.map((c) => c.id)).toEqual(['esl', 'version', 'modules', 'dialplan', 'dids', 'directory', 'recordings-fs', 'recordings-local', 'clock', 'gateway']);
    expect(sim.commands).toEqual(
      expect.arrayContaining([
        `auth ${PASSWORD}`,
        'api module_exists mod_sofia',
        'api xml_locate dialplan context name telefonist',
        'api global_getvar domain',
        `api user_data 1002@${DOMAIN} var telefonist_supervisor`,
        `api file_exists ${recFs}`,
        'api strmicroepoch',
        'api sofia status gateway carrier',
      ]),
    );
    // The probe file is gone.
    expect(readdirSync(recFs)).toEqual([]);
    expect(formatReport(r, 'ru')).toMatch(/Всё в порядке\.\n$/);
  });

  test('npm run doctor\'s options: a bad value is named with what it expects, an unknown option as unknown', () => {
    expect(parseDoctorArgs(['--gateway', 'sip.carrier', '--timeout', '2.5', '--json'])).toEqual({ lang: 'ru', gateway: 'sip.carrier', timeoutMs: 2500, json: true });
    expect(parseDoctorArgs(['--timeout', 'abc'])).toMatchObject({ error: '--timeout: ожидается число секунд больше 0 и не больше 600, получено "abc"' });
    expect(parseDoctorArgs(['--gateway', 'a b'])).toMatchObject({ error: expect.stringMatching(/^--gateway: ожидается имя шлюза sofia .*получено "a b"$/) });
    expect(parseDoctorArgs(['--lang', 'de'])).toMatchObject({ error: '--lang: ожидается ru или en, получено "de"' });
    expect(parseDoctorArgs(['--timeout'])).toMatchObject({ error: '--timeout: не указано значение' });
    expect(parseDoctorArgs(['--lang', 'en', '--timeout', '0'])).toMatchObject({ error: '--timeout: expected a number of seconds above 0, up to 600, got "0"' });
    expect(parseDoctorArgs(['--verbose'])).toMatchObject({ error: 'Неизвестный параметр: --verbose' });
  });

  test('a wrong password: says so in Russian, what to fix, and stops', async () => {
    const r = await runDoctor(opts({ password: 'Wrong-password-0000' }));
    expect(r.ok).toBe(false);
    expect(r.checks[0]).toMatchObject({ id: 'esl', status: 'fail' });
    expect(r.checks[0].message).toMatch(/отклонил пароль/);
    expect(r.checks[0].fix).toMatch(/FREESWITCH_ESL_PASSWORD/);
    expect(r.checks.map((c) => [c.id, c.status])).toEqual([['esl', 'fail'], ['skipped', 'skip']]);
    // The summary names the failed check by its title; the skipped ones are no error, and it says why.
    const text = formatReport(r, 'ru');
    expect(text).toContain('[ -- ] Пропущены, нет связи с FreeSWITCH: версия FreeSWITCH, модули FreeSWITCH, диалплан telefonist');
    expect(text).toContain('Есть ошибки: связь с FreeSWITCH (ESL). Исправьте их');
    expect(text).toContain('Остальные проверки пропущены, потому что нет связи с FreeSWITCH: это не ошибки');
    expect(text).not.toMatch(/ошибки:[^\n]*skipped|esl,/);
    expect(formatReport(r, 'en')).toContain('Problems found: connection to FreeSWITCH (ESL). Fix them');
  });

  test('nothing listening: a failure naming the address', async () => {
    const port = sim.port;
    await sim.close();
    const r = await runDoctor(opts({ port, timeoutMs: 1000, lang: 'en' }));
    expect(r.ok).toBe(false);
    expect(r.checks[0].message).toContain(`no answer from 127.0.0.1:${port}`);
    await sim.listen();
  });

  test('each problem is found and explained (English with lang en)', async () => {
    modules.delete('mod_sndfile');
    users['1001'] = {}; // FreeSWITCH finds another 1001 (vanilla's demo user)
    clockOffsetMs = 10_000;
    systemEnabled = false;
    sim.apiHandlers.set('sofia', () => 'Invalid Gateway!\n');
    const r = await runDoctor(opts({ lang: 'en', dialContext: 'default' }));
    expect(r.ok).toBe(false);
    const by = Object.fromEntries(r.checks.map((c) => [c.id, c]));
    expect(by.modules).toMatchObject({ status: 'fail', message: 'Modules not loaded: mod_sndfile' });
    expect(by.modules.fix).toContain('<load module="mod_sndfile"/>');
    expect(by.directory).toMatchObject({ status: 'fail' });
    expect(by.directory.message).toContain('1001');
    expect(by.clock).toMatchObject({ status: 'fail' });
    expect(by.clock.message).toMatch(/10\.\d s apart/);
    expect(by['recordings-fs']).toMatchObject({ status: 'warn' });
    expect(by.gateway).toMatchObject({ status: 'warn' });
    expect(by['dial-context']).toMatchObject({ status: 'warn' });
    expect(by['recordings-path']).toBeUndefined();
    recordingsInDialplan = '/var/lib/freeswitch/recordings';
    const r2 = await runDoctor(opts({ lang: 'en' }));
    expect(r2.checks.find((c) => c.id === 'recordings-path')).toMatchObject({ status: 'warn', message: `Recordings: the dialplan writes to /var/lib/freeswitch/recordings, Telefonist expects ${recFs}` });
    expect(formatReport(r, 'en')).toMatch(/Problems found: FreeSWITCH modules, FreeSWITCH employee directory, clocks\./);
    expect(formatReport(r, 'ru')).toMatch(/Есть ошибки: модули FreeSWITCH, каталог сотрудников FreeSWITCH, часы\./);
  });

  test('recordings: a directory FreeSWITCH cannot write, and one Telefonist sees elsewhere', async () => {
    if (process.getuid?.() !== 0) chmodSync(recFs, 0o500);
    sim.apiHandlers.set('system', () => ''); // touch ran but created nothing (permission denied)
    const r1 = await runDoctor(opts());
    expect(r1.checks.find((c) => c.id === 'recordings-fs')).toMatchObject({ status: 'fail' });
    chmodSync(recFs, 0o755);
    sim.apiHandlers.set('system', (a) => {
      const m = /^touch (\/\S+)$/.exec(a);
      if (m) writeFileSync(m[1], '');
      return '';
    });
    const other = join(root, 'elsewhere');
    mkdirSync(other);
    const r2 = await runDoctor(opts({ recordingsDir: other }));
    expect(r2.checks.find((c) => c.id === 'recordings-local')).toMatchObject({ status: 'fail' });
    expect(r2.checks.find((c) => c.id === 'recordings-local')!.message).toMatch(/другой каталог/);
  });
});

test('TELEFONIST_FS_DIRECTORY_DIR: optional, an existing absolute directory', () => {
  expect(loadConfig({}, { dotenv: false }).TELEFONIST_FS_DIRECTORY_DIR).toBeUndefined();
  expect(loadConfig({ TELEFONIST_FS_DIRECTORY_DIR: tmpdir() }, { dotenv: false }).TELEFONIST_FS_DIRECTORY_DIR).toBe(tmpdir());
  expect(() => loadConfig({ TELEFONIST_FS_DIRECTORY_DIR: 'relative/dir' }, { dotenv: false })).toThrow(/TELEFONIST_FS_DIRECTORY_DIR: must be an absolute path/);
  expect(() => loadConfig({ TELEFONIST_FS_DIRECTORY_DIR: join(tmpdir(), 'no-such-dir-tf') }, { dotenv: false })).toThrow(/TELEFONIST_FS_DIRECTORY_DIR: must be an existing directory/);
});
