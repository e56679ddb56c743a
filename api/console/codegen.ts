// Typed operations from the server's schema: every `graphql(...)` in src is checked against
// schema.graphql (copied beside this file by api/build.rs), so a schema change that breaks the
// console fails the build.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: process.env.REACH_SCHEMA ?? '../../schema.graphql',
  documents: ['src/**/*.tsx', 'src/**/*.ts', '!src/gql/**/*'],
  generates: {
    'src/gql/': {
      preset: 'client',
      config: { documentMode: 'string', enumsAsTypes: true, useTypeImports: true },
      presetConfig: { fragmentMasking: false },
    },
  },
  ignoreNoDocuments: false,
  errorsOnly: true,
};

export default config;
