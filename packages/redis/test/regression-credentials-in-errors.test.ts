import { redactCredentials } from '../src/credentials';

// Found by the hostile-input suite: with a wrong password, the 'error' event RedisStore forwards
// from ioredis carried the password in `error.command.args` (HELLO 3 AUTH <user> <password>), so
// any logger printing the event's error printed the password.

/** An error shaped as ioredis builds a ReplyError for a failed command. */
function replyError(name: string, args: unknown[]): Error & { command: { name: string; args: unknown[] } } {
  return Object.assign(new Error('WRONGPASS invalid username-password pair or user is disabled.'), { command: { name, args } });
}

describe('redactCredentials()', () => {
  it('blanks the user name and password of HELLO … AUTH, and nothing else', () => {
    const error = replyError('hello', ['3', 'AUTH', 'alice', 'pw-secret', 'SETNAME', 'app']);
    expect(redactCredentials(error).command.args).toEqual(['3', 'AUTH', '[redacted]', '[redacted]', 'SETNAME', 'app']);
  });

  it('blanks every argument of AUTH', () => {
    expect(redactCredentials(replyError('auth', ['pw-secret'])).command.args).toEqual(['[redacted]']);
    expect(redactCredentials(replyError('AUTH', ['alice', 'pw-secret'])).command.args).toEqual(['[redacted]', '[redacted]']);
  });

  it('leaves other commands, HELLO without AUTH, and errors without a command as they are', () => {
    expect(redactCredentials(replyError('mget', ['k1', 'k2'])).command.args).toEqual(['k1', 'k2']);
    expect(redactCredentials(replyError('hello', ['3'])).command.args).toEqual(['3']);
    const plain = new Error('Connection is closed.');
    expect(redactCredentials(plain)).toBe(plain);
    expect(redactCredentials(undefined)).toBeUndefined();
    expect(redactCredentials('a string')).toBe('a string');
  });
});
