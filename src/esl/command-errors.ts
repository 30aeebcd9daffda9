/**
 * Errors of ESL commands, and the last check every command passes before it is written to the socket
 * (FreeSWITCH's ESL reads a command up to the blank line: mod_event_socket.c).
 */

export class EslCommandError extends Error {
  constructor(
    message: string,
    readonly reply?: string,
  ) {
    super(message);
    this.name = 'EslCommandError';
  }
}

/** A command FreeSWITCH accepted on the socket but never answered within `commandTimeoutMs` (the link is dropped). */
export class EslTimeoutError extends EslCommandError {
  constructor(
    message: string,
    readonly timeoutMs: number,
  ) {
    super(message);
    this.name = 'EslTimeoutError';
  }
}

/** `api status`, `bgapi originate`, `auth` (never its password), `event`: for error messages. */
export function commandName(text: string): string {
  const [verb, arg] = text.split(/[ \n]/, 2);
  return (verb === 'api' || verb === 'bgapi') && arg ? `${verb} ${arg}` : verb;
}

/** FreeSWITCH reads a command up to the blank line: a newline inside an argument would start a new command. */
export function assertSafeCommand(cmd: string): void {
  if (/[\r\n\0]/.test(cmd)) throw new EslCommandError('command contains a line break or NUL');
  if (cmd.length === 0 || cmd.length > 8192) throw new EslCommandError('command is empty or too long');
}
