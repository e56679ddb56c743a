// Vite builds the console into the folder api/build.rs names (REACH_CONSOLE_OUT); the server
// embeds it and serves it under /console/.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/console/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: process.env.REACH_CONSOLE_OUT ?? 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // No inline script: the page's Content-Security-Policy allows only the server's own files.
    modulePreload: { polyfill: false },
    target: 'es2020',
  },
});
