// Electron's safeStorage as the key cipher app/store/keystore.ts takes. On Linux, safeStorage falls
// back to a fixed password ("basic_text") when no keyring (Secret Service, KWallet) is there:
// that protects nothing, so keys stay plain 0600 files instead, as they would without the app.
// Plain module: safeStorage is passed in (tested under Node).
import type { KeyCipher } from '../app/store/keystore.js';

export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  encryptString(plainText: string): Buffer;
  decryptString(encrypted: Buffer): string;
  getSelectedStorageBackend?(): string;
}

/** Backends that only obscure (Linux without a keyring). */
const WEAK_BACKENDS = new Set(['basic_text', 'unknown']);

export function keyCipherFrom(safeStorage: SafeStorageLike, platform: NodeJS.Platform): KeyCipher {
  return {
    isEncryptionAvailable() {
      if (!safeStorage.isEncryptionAvailable()) return false;
      if (platform === 'linux' && safeStorage.getSelectedStorageBackend && WEAK_BACKENDS.has(safeStorage.getSelectedStorageBackend())) return false;
      return true;
    },
    encryptString: (t) => safeStorage.encryptString(t),
    decryptString: (b) => safeStorage.decryptString(b),
  };
}
