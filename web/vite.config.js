import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

// Each page of the UI is one HTML entry; add the next one here
// (e.g. index: here('index.html')) and serve it from web.go.
const pages = {
  index: here('index.html'),
  graphiql: here('graphiql.html'),
};

// keepGitkeep restores dist/.gitkeep after Vite empties dist/, so a build
// leaves no diff in git and //go:embed all:dist always has a file to embed.
function keepGitkeep() {
  return {
    name: 'pedigree-keep-gitkeep',
    closeBundle() {
      writeFileSync(here('dist/.gitkeep'), '');
    },
  };
}

export default defineConfig({
  base: '/',
  plugins: [react(), keepGitkeep()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // Monaco alone is a few MiB; the default 500 KiB warning is noise here.
    chunkSizeWarningLimit: 6000,
    rolldownOptions: {
      input: pages,
      onwarn(warning, warn) {
        // framer-motion (via GraphiQL) marks modules "use client"; that only
        // matters to React Server Components, which this UI does not use.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  test: {
    // Component tests (vitest): src/**/*.test.jsx in a simulated DOM.
    environment: 'happy-dom',
    include: ['src/**/*.test.{js,jsx}'],
  },
  server: {
    // `npm run dev` serves the pages with hot reload and forwards the API
    // to a running `pedigree serve`.
    proxy: {
      '/graphql': { target: process.env.PEDIGREE_URL || 'http://127.0.0.1:8080', ws: true },
    },
  },
});
