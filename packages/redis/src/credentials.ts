/** What replaces a credential in a command's arguments. */
const REDACTED = '[redacted]';

/**
 * ioredis puts a failed command's arguments on its error (`error.command.args`), and for AUTH, and
 * HELLO … AUTH sent on every connect, those are the user name and password. Blanks them in place,
 * so the error can be reported, logged or kept as a `cause` without carrying the credentials.
 */
export function redactCredentials<E>(error: E): E {
  const command = (error as { command?: { name?: unknown; args?: unknown } } | null | undefined)?.command;
  if (command === null || typeof command !== 'object' || !Array.isArray(command.args)) return error;
  const name = String(command.name).toLowerCase();
  const args = command.args as unknown[];
  let from = -1;
  if (name === 'auth') from = 0;
  else if (name === 'hello') from = args.findIndex((arg) => String(arg).toUpperCase() === 'AUTH') + 1;
  if (from < 0 || (name === 'hello' && from === 0)) return error;
  // HELLO's AUTH takes exactly a user name and a password; AUTH's arguments are all credentials.
  const to = name === 'hello' ? from + 2 : args.length;
  try {
    command.args = args.map((arg, i) => (i >= from && i < to ? REDACTED : arg));
  } catch {
    // a frozen error: nothing to redact in place
  }
  return error;
}
