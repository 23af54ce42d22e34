// Tests are TypeScript compiled to CommonJS by ts-jest (transpile only; `npm run lint`
// type-checks). jest 29 + ts-jest rather than jest 30 + @swc/jest: their native
// platform packages are not all on the registry this project installs from, and
// `npm ci` refuses a lock file without them.
const transform = {
  '^.+\\.ts$': [
    'ts-jest',
    {
      diagnostics: false,
      tsconfig: {
        isolatedModules: true,
        module: 'commonjs',
        moduleResolution: 'node',
        target: 'es2022',
        esModuleInterop: true,
        resolveJsonModule: true,
      },
    },
  ],
};
const common = { transform, testEnvironment: 'node', moduleFileExtensions: ['ts', 'js', 'mjs', 'json'] };
module.exports = {
  // Integration and client tests drive docker builds and gitlab-ci-local pipelines.
  testTimeout: 300_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      slowTestThreshold: 30,
    },
    { ...common, displayName: 'clients', testMatch: ['<rootDir>/test/clients/**/*.test.ts'], slowTestThreshold: 60 },
  ],
};
