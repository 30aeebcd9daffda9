import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints off the event loop. SQLite normally checkpoints inside whichever COMMIT crosses 1000
 * WAL pages, and that COMMIT then copies pages and syncs the file for tens of milliseconds — on our one
 * thread, stalling ESL ingest and screen pops. The main connection turns auto-checkpointing off; this
 * worker thread, on its own connection, runs PASSIVE checkpoints (they never block writers) every second.
 */
export class SqliteCheckpointer {
  private readonly worker: Worker;

  constructor(path: string, everyMs = 1000) {
    const source = `
      const { workerData, parentPort } = require('node:worker_threads');
      const Database = require(workerData.module);
      const db = new Database(workerData.path);
      db.pragma('busy_timeout = 1000');
      const tick = () => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy: next time */ } };
      const timer = setInterval(tick, workerData.everyMs);
      parentPort.on('message', (m) => {
        if (m !== 'stop') return;
        clearInterval(timer);
        tick();
        db.close();
        parentPort.postMessage('stopped');
      });
    `;
    this.worker = new Worker(source, { eval: true, workerData: { path, everyMs, module: require.resolve('better-sqlite3') } });
    this.worker.unref();
    this.worker.on('error', () => undefined);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = () => resolve();
      const timer = setTimeout(done, 2000);
      this.worker.once('message', () => {
        clearTimeout(timer);
        done();
      });
      this.worker.once('exit', () => {
        clearTimeout(timer);
        done();
      });
      this.worker.postMessage('stop');
    });
    await this.worker.terminate();
  }
}
