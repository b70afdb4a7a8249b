import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

describe('examples/quickstart', () => {
  it('runs on embedded defaults and shows write-through, pull-through and invalidation', async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STOCKPYLE_')));
    const { stdout } = await run(process.execPath, [require.resolve('tsx/cli'), 'src/main.ts'], {
      cwd: join(__dirname, '..'),
      env,
      timeout: 120_000,
    });
    expect(stdout).toContain('chained store: process memory -> dictionary (Map) -> postgresql (embedded)');
    expect(stdout).toMatch(/get after put \(write-through\) +-> .*\(asked: process memory\)/);
    expect(stdout).toMatch(/get again \(pulled through\) +-> .*\(asked: process memory\)/);
    expect(stdout).toMatch(/get after an update through the ORM +-> .*"title":"Hello again"/);
    expect(stdout).toMatch(/batchGet of 4 .*\["hello-world","second","third",null\]/);
    expect(stdout).toMatch(/get after delete +-> undefined/);
  }, 150_000);
});
