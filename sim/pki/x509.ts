/**
 * @peculiar/x509, loaded the one way that works: it needs a Reflect metadata polyfill before its
 * first import (docs/formats.md "Traps"), and it signs through WebCrypto, so it gets Node's.
 * Everything in sim/pki imports the library from here, never directly.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

// Node's webcrypto object is the standard Crypto; the DOM lib types are not loaded (tsconfig lib
// ES2023), so the library's `Crypto` parameter type and Node's differ only nominally.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509, webcrypto };
