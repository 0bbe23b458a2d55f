// Where the app finds its Firebase project and, locally, the emulators. Nothing is built in:
// - the Firebase config comes from /__/firebase/init.json, which Firebase Hosting serves for the
//   project it is deployed to, and the Hosting emulator for the local project;
// - on a loopback address the app is served by the local stack, and the Hosting emulator's
//   /__/firebase/init.js?useEmulator=true names the host and port of every running emulator
//   (firebase-tools' own mechanism), so the same build works on any ports.

export interface FirebaseWebConfig {
  projectId: string;
  apiKey: string;
  authDomain?: string;
  appId?: string;
  [key: string]: unknown;
}

export interface EmulatorAddress {
  host: string;
  port: number;
}

export interface RuntimeConfig {
  firebase: FirebaseWebConfig;
  emulators: { auth?: EmulatorAddress; firestore?: EmulatorAddress; functions?: EmulatorAddress };
  /** Same-origin path of the upload function (a Hosting rewrite to ingest_upload). */
  uploadPath: string;
}

export class ConfigError extends Error {}

const EMULATORS_MARKER = 'var firebaseEmulators = ';

/** The emulator table of the Hosting emulator's init.js (firebase-tools writes it as JSON). */
export function parseEmulatorInit(script: string): Record<string, EmulatorAddress & { hostAndPort?: string }> {
  const start = script.indexOf(EMULATORS_MARKER);
  if (start < 0) throw new ConfigError('the Hosting emulator did not list its emulators (/__/firebase/init.js?useEmulator=true)');
  const rest = script.slice(start + EMULATORS_MARKER.length);
  const end = rest.indexOf(';\n');
  const json = (end < 0 ? rest : rest.slice(0, end)).trim();
  if (json === 'undefined') return {};
  return JSON.parse(json);
}

export function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127\./.test(hostname);
}

async function fetchText(path: string): Promise<string> {
  const response = await fetch(path, { cache: 'no-store' });
  if (!response.ok) throw new ConfigError(`${path} answered ${response.status}`);
  return response.text();
}

export async function loadRuntimeConfig(location: Location = window.location): Promise<RuntimeConfig> {
  let firebase: FirebaseWebConfig | null;
  try {
    firebase = JSON.parse(await fetchText('/__/firebase/init.json'));
  } catch (error) {
    throw new ConfigError(`could not read the Firebase configuration from /__/firebase/init.json (${String(error)}): `
      + 'serve the app with Firebase Hosting or the local stack (./dev demo)');
  }
  if (!firebase?.projectId) throw new ConfigError('/__/firebase/init.json has no projectId');
  const config: RuntimeConfig = { firebase, emulators: {}, uploadPath: '/api/upload' };
  if (isLoopback(location.hostname)) {
    const table = parseEmulatorInit(await fetchText('/__/firebase/init.js?useEmulator=true'));
    for (const name of ['auth', 'firestore', 'functions'] as const) {
      if (table[name]) config.emulators[name] = { host: table[name].host, port: Number(table[name].port) };
    }
    if (!config.emulators.auth || !config.emulators.firestore) {
      throw new ConfigError('served from this machine, but the Auth and Firestore emulators are not running: start the stack with ./dev up');
    }
  }
  return config;
}
