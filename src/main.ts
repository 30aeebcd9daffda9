import { loadConfigOrExit } from './config';
import { startTelefonist } from './app';
import { Logger } from './log';

/** `npm start`: the API server connected to FreeSWITCH over ESL. */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const log = new Logger(config.LOG_LEVEL);
  if (!config.TELEFONIST_ADMIN_TOKEN) log.warn('TELEFONIST_ADMIN_TOKEN is not set: no admin can create API tokens until it is');
  const t = await startTelefonist(config, log);
  const stop = async (sig: string) => {
    log.info(`${sig}: shutting down`);
    await t.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((e) => {
  process.stderr.write(`Telefonist failed to start: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
