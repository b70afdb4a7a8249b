import type { Config } from 'jest';

/**
 * swc compiles TypeScript with legacy decorators and design-type metadata, as tsc would; a file
 * named `es-decorators.*.ts` with standard (TC39) decorators instead, as a project without
 * `experimentalDecorators` would (tsconfig.es-decorators.json type-checks those).
 */
const transform: Config['transform'] = {
  '/es-decorators\\.[^/]*\\.ts$': [
    '@swc/jest',
    {
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { decoratorVersion: '2022-03', useDefineForClassFields: true },
        target: 'es2022',
        keepClassNames: true,
      },
      module: { type: 'commonjs' },
    },
  ],
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2022',
        keepClassNames: true,
      },
      module: { type: 'commonjs' },
    },
  ],
};

/** Workspace packages resolve to their sources, so tests never need a build. */
const moduleNameMapper: Config['moduleNameMapper'] = {
  '^@stockpyle/core/testing$': '<rootDir>/packages/core/src/testing/index.ts',
  '^@stockpyle/core/opentelemetry$': '<rootDir>/packages/core/src/opentelemetry/index.ts',
  '^@stockpyle/(core|memcache|redis|mikro-orm|nestjs)$': '<rootDir>/packages/$1/src/index.ts',
};

/**
 * Tests that run only on some stacks (stacks/README.md): a file `*.mikro-orm-7.test.ts` needs
 * MikroORM 7, `*.mikro-orm-6.test.ts` MikroORM 6. The other stack leaves them out (not skipped: not run).
 */
const mikroOrmMajor = process.env.STOCKPYLE_MIKRO_ORM_MAJOR ?? '7'; // scripts/test.mjs sets it; 7 is the root install's
const notOnThisStack = ['6', '7'].filter((major) => major !== mikroOrmMajor).map((major) => `\\.mikro-orm-${major}\\.`);
// The examples are written for today's stack (MikroORM 7's decorators and schema API): they run there only.
if (mikroOrmMajor !== '7') notOnThisStack.push('<rootDir>/examples/');

// No rootDir: it defaults to this file's folder. `__dirname` would not do: Node 22.18+ and 24 strip
// the types of this file themselves and jest then loads it as an ES module, where it is undefined.
const shared = {
  transform,
  moduleNameMapper,
  resolver: '<rootDir>/test-support/stack-resolver.cjs',
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  modulePathIgnorePatterns: ['<rootDir>/packages/.*/dist/', '<rootDir>/.stockpyle/(?!stacks/)'],
};

const config: Config = {
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['<rootDir>/{packages,examples,test-support}/**/test/**/*.test.ts'],
      testPathIgnorePatterns: ['\\.integration\\.test\\.ts$', '/node_modules/', ...notOnThisStack],
    },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/{packages,examples,test-support}/**/test/**/*.integration.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...notOnThisStack],
    },
  ],
};

export default config;
