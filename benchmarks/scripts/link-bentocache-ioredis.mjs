// bentocache 1.6 imports 'ioredis' itself and wants ioredis 5, while the benchmark's own `ioredis`
// is 6.0.0 (the version @stockpyle/redis is built on). npm cannot nest a peer dependency, so after
// install this links bentocache's own `node_modules/ioredis` to the `ioredis5` alias (ioredis 5.9.2).
import { existsSync, lstatSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules');
const target = join(root, 'ioredis5');
const link = join(root, 'bentocache', 'node_modules', 'ioredis');
if (!existsSync(target) || !existsSync(join(root, 'bentocache'))) {
  console.warn('link-bentocache-ioredis: bentocache or ioredis5 is not installed; skipped');
  process.exit(0);
}
mkdirSync(dirname(link), { recursive: true });
try {
  lstatSync(link);
  rmSync(link, { recursive: true, force: true });
} catch {
  // no previous link
}
symlinkSync(relative(dirname(link), target), link, 'dir');
console.log('link-bentocache-ioredis: bentocache now resolves ioredis 5.9.2');
