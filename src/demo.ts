import { loadConfigOrExit } from './config';
import { startTelefonist } from './app';
import { FreeSwitchSimulator } from './esl/simulator';
import { CALL_SCENARIOS } from './esl/fixtures';
import { Logger } from './log';

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
  await sim.waitForSubscribers(1, 10_000);
  const base = `http://127.0.0.1:${t.port}/api/v1`;
  process.stdout.write(
    `\nTelefonist demo: FreeSWITCH simulator on 127.0.0.1:${simPort}, API on ${base}\n` +
      `  curl -H 'Authorization: Bearer ${config.TELEFONIST_ADMIN_TOKEN}' ${base}/calls\n` +
      `  curl ${base}/health\n\n`,
  );
  const speed = Number(process.env.DEMO_SPEED ?? 4);
  let stopping = false;
  const loop = async () => {
    while (!stopping) {
      for (const name of CALL_SCENARIOS) {
        if (stopping) return;
        await sim.play(name, { rewrite: true, speed });
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
