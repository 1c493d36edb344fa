import { defineConfig } from 'drizzle-kit';

// Generation needs no database; `npm run db:migrate` (src/db/migrate-cli.ts) applies the files.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './drizzle',
});
