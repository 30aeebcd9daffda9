/**
 * An error with an HTTP meaning: its status, a code for 1C, the message and the field it is about.
 * The API sends it as {"error": {"code", "message", "field"?}} (routes/errors.ts); domain modules
 * (call actions, Telegram logins) throw it or a named subclass without depending on the HTTP layer.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}
