// What verify.js falls back on where the browser's WebCrypto has no Ed25519, or no SHA-256
// outside a secure context: the audited noble libraries (cure53, 2022 and 2024).
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";

globalThis.samizdatNoble = {
  verify: (signature, message, publicKey) => ed25519.verify(signature, message, publicKey),
  sha256: (data) => sha256(data),
};
