// The golden vectors crates/client/tests/golden.rs writes (PERPS_GOLDEN_WRITE=1) and checks.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { address, createNoopSigner, type Address, type TransactionSigner } from '@solana/kit';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'golden');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function golden(name: string): any {
  return JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
}

export function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (byte) => parseInt(byte, 16));
}

export function toHex(bytes: ArrayLike<number>): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

export const addr = (value: string): Address => address(value);
export const signer = (value: string): TransactionSigner => createNoopSigner(address(value));
