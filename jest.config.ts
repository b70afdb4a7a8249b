import type { Config } from 'jest';

/** swc compiles TypeScript with legacy decorators and design-type metadata, as tsc would. */
const transform: Config['transform'] = {
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
  '^@stockpyle/(core|memcache|redis|mikro-orm|nestjs)$': '<rootDir>/packages/$1/src/index.ts',
};

const shared = {
  rootDir: __dirname,
  transform,
  moduleNameMapper,
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  modulePathIgnorePatterns: ['<rootDir>/packages/.*/dist/', '<rootDir>/.stockpyle/'],
};

const config: Config = {
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['<rootDir>/{packages,examples,test-support}/**/test/**/*.test.ts'],
      testPathIgnorePatterns: ['\\.integration\\.test\\.ts$', '/node_modules/'],
    },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/{packages,examples,test-support}/**/test/**/*.integration.test.ts'],
      testPathIgnorePatterns: ['/node_modules/'],
    },
  ],
};

export default config;
