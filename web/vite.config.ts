// Build of the dashboard: a static single-page app that Firebase Hosting serves (web/dist).
// `npm run dev` serves it with hot reload and forwards /__/ (config) and /api/ (the upload
// function) to the Hosting emulator of the local stack, so no port is written here.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

const hosting = `http://127.0.0.1:${process.env.FINANCE_HOSTING_PORT ?? '5000'}`;

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // One chunk for the Firebase SDK, one for the chart, one for the app: the app chunk changes
    // with every release while the other two stay cached.
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            { name: 'firebase', test: /node_modules[\\/](@firebase|firebase)/ },
            { name: 'uplot', test: /node_modules[\\/]uplot/ },
            { name: 'react', test: /node_modules[\\/](react|react-dom|scheduler)[\\/]/ },
          ],
        },
      },
    },
  },
  server: {
    proxy: { '/__': hosting, '/api': hosting },
  },
  test: {
    environment: 'happy-dom',
    include: ['tests/**/*.test.{ts,tsx}'],
  },
});
