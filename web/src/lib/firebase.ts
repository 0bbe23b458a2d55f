import { initializeApp, type FirebaseApp } from 'firebase/app';
import { connectAuthEmulator, getAuth, type Auth } from 'firebase/auth';
import { connectFirestoreEmulator, getFirestore, type Firestore } from 'firebase/firestore';

import type { RuntimeConfig } from './config';

export interface Services {
  app: FirebaseApp;
  auth: Auth;
  db: Firestore;
  config: RuntimeConfig;
}

export function connect(config: RuntimeConfig): Services {
  const app = initializeApp(config.firebase);
  const auth = getAuth(app);
  const db = getFirestore(app);
  const { auth: authEmulator, firestore } = config.emulators;
  if (authEmulator) connectAuthEmulator(auth, `http://${authEmulator.host}:${authEmulator.port}`, { disableWarnings: true });
  if (firestore) connectFirestoreEmulator(db, firestore.host, firestore.port);
  return { app, auth, db, config };
}
