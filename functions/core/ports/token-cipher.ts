// The token cipher port. Implemented by functions/adapters/token-cipher.ts (KMS in AWS, AES-256-GCM locally).

export interface TokenContext { customer_id: string; connection_id: string }

/**
 * Encrypts access tokens bound to `{purpose: "access_token", customer_id, connection_id}` (invariant 5).
 * Retryable key-service faults (throttling, 5xx, network) surface as `TransientCipherError`.
 */
export interface TokenCipher {
  encrypt(accessToken: string, context: TokenContext): Promise<string>;
  decrypt(ciphertext: string, context: TokenContext): Promise<string>;
}
