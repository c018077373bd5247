// Who is signed in. The API key lives in sessionStorage only (gone when the tab closes), is sent
// as a Bearer header, and never appears in a URL or a log line. The role decides what the app
// offers; the server enforces it anyway.
import { computed, signal } from '@preact/signals';
import { ApiClient } from '../api/client.js';
import type { Me, Role } from '../api/types.js';

const STORAGE_KEY = 'labelloop.apiKey';

function readStoredKey(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

const apiKey = signal<string | null>(readStoredKey());
export const me = signal<Me | null>(null);
/** Why the last session ended (shown on the sign-in screen). */
export const signedOutReason = signal<string | null>(null);

export const api = new ApiClient(() => apiKey.value);
/** True while sign-in checks a key: its 401 is the form's error, not a session that ended. */
let checkingKey = false;
api.onUnauthorized = () => {
  if (apiKey.value && !checkingKey) signOut('The server no longer accepts this API key: sign in again.');
};

export const hasStoredKey = computed(() => apiKey.value !== null);

const rank: Record<Role, number> = { viewer: 0, labeller: 1, admin: 2 };
/** Whether the signed-in key has at least `role`. */
export function can(role: Role): boolean {
  return me.value !== null && rank[me.value.role] >= rank[role];
}

/** Checks the key with GET /v1/me; keeps it only when the server accepts it. */
export async function signIn(key: string): Promise<Me> {
  const previous = apiKey.value;
  apiKey.value = key.trim();
  checkingKey = true;
  try {
    const who = await api.get<Me>('/v1/me');
    sessionStorage.setItem(STORAGE_KEY, apiKey.value);
    me.value = who;
    signedOutReason.value = null;
    return who;
  } catch (err) {
    apiKey.value = previous === key.trim() ? null : previous;
    throw err;
  } finally {
    checkingKey = false;
  }
}

/** On start: the key of this tab's session, if any, checked again. */
export async function resumeSession(): Promise<void> {
  if (!apiKey.value) return;
  try {
    me.value = await api.get<Me>('/v1/me');
  } catch (err) {
    signOut(err instanceof Error ? err.message : String(err));
  }
}

export function signOut(reason: string | null = null): void {
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // storage unavailable: nothing to clear
  }
  apiKey.value = null;
  me.value = null;
  signedOutReason.value = reason;
}
