/**
 * An error caused by the user's input (a config, a file, a flag). The CLI prints its message as
 * one line without a stack trace, so the message must name the input and say what is wrong.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
}

/** Whether an error should be shown to a user as a plain one-line message. */
export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}
