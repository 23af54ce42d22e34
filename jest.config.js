// Tests are TypeScript compiled to CommonJS by swc. @actions/* (ESM-only) are never
// imported in-process by tests: runtimes that need them are exercised through the bundles.
const transform = {
  '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
};
const common = { transform, testEnvironment: 'node', moduleFileExtensions: ['ts', 'js', 'mjs', 'json'] };
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'], slowTestThreshold: 30, testTimeout: 180_000 },
    { ...common, displayName: 'clients', testMatch: ['<rootDir>/test/clients/**/*.test.ts'], slowTestThreshold: 60, testTimeout: 300_000 },
  ],
};
