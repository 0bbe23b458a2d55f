import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import { App } from './App';
import { loadRuntimeConfig } from './lib/config';
import { connect } from './lib/firebase';
import './styles.css';

const root = createRoot(document.getElementById('root')!);

loadRuntimeConfig()
  .then((config) => {
    // Phases of a page load, read by bench/bench_web.py (and visible in DevTools' performance panel).
    performance.mark('config-loaded');
    root.render(<StrictMode><App services={connect(config)} /></StrictMode>);
  })
  .catch((error: unknown) => {
    root.render(
      <main className="state error" role="alert">
        <h1>Finance Live cannot start</h1>
        <p>{error instanceof Error ? error.message : String(error)}</p>
      </main>,
    );
  });
