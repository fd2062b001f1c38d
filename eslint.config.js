// Lint: recommended rules plus the ones that keep secrets and dead code out.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'cdk.out/**', '.local/**', 'coverage/**', 'test/e2e/artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-console': 'off',
    },
  },
  {
    // Plain Node scripts (TypeScript files get Node's globals from @types/node).
    files: ['scripts/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', fetch: 'readonly' } },
  },
  {
    files: ['functions/**/*.ts'],
    rules: {
      // Handlers log through Powertools only: console output bypasses the structured logger.
      'no-console': 'error',
      // The generated KMS and Secrets Manager packages are devDependencies (the oracle of
      // test/integration/aws-json.test.ts): bundled, they would bring back every error class and
      // schema of their service at each cold start. Their types are welcome.
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: ['@aws-sdk/client-kms', '@aws-sdk/client-secrets-manager'].map((name) => ({
          name, allowTypeImports: true,
          message: 'Use functions/adapters/aws-json (kms.ts, secrets-manager.ts): the same SDK parts without the generated package\'s module scope.',
        })),
      }],
    },
  },
  {
    // The core does not know AWS, middy or the adapters (docs/ARCHITECTURE.md, "Layers"): it
    // speaks through its ports, so it is unit-tested with fakes and an adapter can change under it.
    // Type-only imports count too: an `aws-lambda` event type in the core is the same leak.
    files: ['functions/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [
          { name: 'aws-lambda', message: 'Lambda event and context types belong to functions/http and the handlers; the core takes plain inputs.' },
          { name: 'constructs', message: 'Infrastructure belongs to lib/.' },
        ],
        patterns: [
          { group: ['@aws-sdk/*', '@smithy/*'], message: 'The core does not call AWS: add or use a port (functions/core/ports) and implement it in functions/adapters.' },
          { group: ['@aws-lambda-powertools/*'], message: 'Powertools belongs to the HTTP layer and the adapters; the core logs through deps.log.' },
          { group: ['@middy/*'], message: 'middy belongs to functions/http; the core knows nothing of HTTP middleware.' },
          { group: ['@tryfinch/*'], message: 'The Finch SDK belongs to functions/adapters (FinchGateway, FinchDataGateway).' },
          { group: ['aws-cdk-lib', 'aws-cdk-lib/*'], message: 'Infrastructure belongs to lib/.' },
          // Subpath imports by regex: in a `group` (gitignore syntax) a leading `#` starts a comment.
          { regex: '^#(adapters|http|local)/', message: 'The core depends on nothing outside it: adapters implement its ports, not the other way round.' },
          { regex: '^(\\.\\./)+(adapters|http|lib|local|bin|scripts)/', message: 'The core depends on nothing outside it: adapters implement its ports, not the other way round.' },
        ],
      }],
    },
  },
);
