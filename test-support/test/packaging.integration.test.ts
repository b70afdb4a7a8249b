import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

describe('packaging', () => {
  it('npm pack of @stockpyle/core installs into an empty project and works from require and import', () => {
    const out = execFileSync(process.execPath, [join(__dirname, '../../scripts/pack-check.mjs')], { encoding: 'utf8' });
    expect(out).toContain('works from require');
    expect(out).toContain('works from import');
  }, 180_000);
});
