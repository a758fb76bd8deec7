import { loadEnv } from 'vite';
import { defineConfig } from 'vitest/config';

export default defineConfig(({ mode }) => {
  // `npm run dev` proxies the API of a locally running server; TRAFFICCAST_API
  // (environment or .env.local) points it elsewhere.
  const apiTarget = loadEnv(mode, '.', 'TRAFFICCAST_').TRAFFICCAST_API ?? 'http://127.0.0.1:8000';
  return {
    base: '/',
    // esbuild's automatic JSX runtime instead of @vitejs/plugin-react: one less
    // dependency, and this small page does not need React Fast Refresh.
    esbuild: { jsx: 'automatic' },
    build: {
      // The Python API serves the built files at `/`, so the bundle goes straight
      // into the package instead of a local dist/ folder.
      outDir: '../src/trafficcast/web',
      emptyOutDir: true,
      // MapLibre alone is ~1 MB minified (~290 kB gzip) and cannot be made smaller,
      // so only warn when something far bigger sneaks in.
      chunkSizeWarningLimit: 1400,
      rollupOptions: {
        onwarn(warning, warn) {
          // react-router marks its modules "use client" for React Server Components;
          // a client-only bundle has nothing to do with it.
          if (warning.code === 'MODULE_LEVEL_DIRECTIVE' && warning.message.includes('"use client"')) return;
          warn(warning);
        },
        output: {
          // Keep the rarely changing map library in its own long-cacheable chunk.
          manualChunks: { maplibre: ['maplibre-gl'] },
        },
      },
    },
    server: {
      host: '127.0.0.1',
      proxy: {
        '/api': apiTarget,
        '/auth': apiTarget,
        '/ws': { target: apiTarget, ws: true },
      },
    },
    preview: { host: '127.0.0.1' },
    test: {
      environment: 'node',
      include: ['src/**/*.test.ts'],
    },
  };
});
