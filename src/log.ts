/** Minimal structured log lines on stderr: time, level, message, details. */
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export class Logger {
  constructor(private readonly level: Level = 'info') {}
  log(level: Level, msg: string, details?: unknown): void {
    if (ORDER[level] < ORDER[this.level]) return;
    const d = details instanceof Error ? { error: details.message } : details;
    process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase()} ${msg}${d !== undefined ? ' ' + JSON.stringify(d) : ''}\n`);
  }
  debug(m: string, d?: unknown) { this.log('debug', m, d); }
  info(m: string, d?: unknown) { this.log('info', m, d); }
  warn(m: string, d?: unknown) { this.log('warn', m, d); }
  error(m: string, d?: unknown) { this.log('error', m, d); }
}
