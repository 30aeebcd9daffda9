import { loadConfigOrExit } from './config';
import { startTelefonist } from './app';
import { FreeSwitchSimulator } from './esl/simulator';
import { CALL_SCENARIOS } from './esl/fixtures';
import { Logger } from './log';
import { prepareCustomers } from './directory/customer-input';
import { prepareEmployees } from './employees/employee-input';

/** A few customers for the demo directory, so screen pops name who is calling. */
const DEMO_CUSTOMERS = [
  { id: 'demo-0001-romashka', name: 'ООО «Ромашка»', inn: '7701234567', phones: ['8 (495) 123-45-67'], contacts: [{ id: 'demo-0001-ivanov', name: 'Иван Иванов', position: 'закупщик', phones: ['+7 916 555-44-33'] }] },
  { id: 'demo-0002-vector', name: 'АО «Вектор»', phones: ['+7 812 700-10-20'], contacts: [] },
];
/**
 * The demo's employees (the captures' extensions), with panel sign-ins: operators `anna` / `ivan` / `olga`,
 * supervisor `petr`; the password of each is `demo` + the extension (`demo1001`). Demo only.
 */
const DEMO_EMPLOYEES = [
  { extension: '1000', name: 'Анна Смирнова', login: 'anna', password: 'demo1000' },
  { extension: '1001', name: 'Иван Петров', login: 'ivan', password: 'demo1001' },
  { extension: '1002', name: 'Ольга Соколова', login: 'olga', password: 'demo1002' },
  { extension: '1003', name: 'Пётр Контролёр', login: 'petr', password: 'demo1003', rights: ['supervisor'] },
];
/** Captures replayed in a loop: the PBX scenarios (02–08) and the carrier ones with DIDs, recordings, busy, no answer. */
const DEMO_SCENARIOS = [
  ...CALL_SCENARIOS,
  '09_did_inbound_answered',
  '10_did_inbound_caller_hung_up_ringing',
  '11_did_inbound_busy',
  '12_did_blind_transfer',
  '14_hold_unhold',
  '15_outbound_from_desk_phone',
  '16_no_answer_timeout',
];
/** Outside numbers the demo's inbound calls come from: a company phone, a contact person, a stranger. */
const DEMO_CALLERS = ['84951234567', '89165554433', '88127001020', '84997654321'];

/**
 * `npm run demo`: the same server, wired to the built-in FreeSWITCH simulator, which replays the real
 * captured calls (with fresh ids and today's times) in a loop, so the journal fills with no FreeSWITCH.
 */
async function main(): Promise<void> {
  const sim = new FreeSwitchSimulator('ClueCon');
  const simPort = await sim.listen(0);
  const config = loadConfigOrExit({
    ...process.env,
    DATABASE_URL: process.env.DATABASE_URL ?? 'file:./data/demo.db',
    FREESWITCH_ESL_HOST: '127.0.0.1',
    FREESWITCH_ESL_PORT: String(simPort),
    FREESWITCH_ESL_PASSWORD: 'ClueCon',
    TELEFONIST_ADMIN_TOKEN: process.env.TELEFONIST_ADMIN_TOKEN ?? 'demo-admin-token-change-me-0000',
  });
  const log = new Logger(config.LOG_LEVEL);
  const t = await startTelefonist(config, log);
  await t.directory.upsertCustomers(prepareCustomers(DEMO_CUSTOMERS, t.directory.region, 'customers'));
  await t.employees.sync({ employees: prepareEmployees(DEMO_EMPLOYEES, 'employees') });
  await sim.waitForSubscribers(1, 10_000);
  const base = `http://127.0.0.1:${t.port}/api/v1`;
  process.stdout.write(
    `\nTelefonist demo: FreeSWITCH simulator on 127.0.0.1:${simPort}, API on ${base}\n` +
      `  curl -H 'Authorization: Bearer ${config.TELEFONIST_ADMIN_TOKEN}' ${base}/calls\n` +
      `  curl -N -H 'Authorization: Bearer ${config.TELEFONIST_ADMIN_TOKEN}' ${base}/events/stream   # screen pops as they happen\n` +
      `  curl ${base}/health\n` +
      `  panel: http://127.0.0.1:${t.port}/  (operators anna / demo1000, ivan / demo1001, olga / demo1002; supervisor petr / demo1003)\n\n`,
  );
  const speed = Number(process.env.DEMO_SPEED ?? 4);
  let stopping = false;
  let caller = 0;
  const loop = async () => {
    while (!stopping) {
      for (const name of DEMO_SCENARIOS) {
        if (stopping) return;
        // The captures are extension to extension; the inbound one is replayed as a customer calling in.
        const outside = name === '02_inbound_call_bridge' ? { extension: '1000', number: DEMO_CALLERS[caller++ % DEMO_CALLERS.length] } : undefined;
        await sim.play(name, { rewrite: true, speed, outside });
        log.info('demo: replayed captured scenario', { scenario: name });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  void loop();
  const stop = async () => {
    stopping = true;
    await t.close();
    await sim.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((e) => {
  process.stderr.write(`demo failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
