// Answers of AWS services that do not run here, as SDK middleware (bench/counting.ts answerCalls):
// the round trips and the scale scenario count the calls, nothing is sent.

/** KMS as a stub: a reversible "ciphertext" that decrypts only under the same encryption context. */
export function kmsAnswers() {
  const seal = (plaintext: Uint8Array, context: Record<string, string> = {}) =>
    new Uint8Array(Buffer.from(JSON.stringify({ context, plaintext: Buffer.from(plaintext).toString('base64') })));
  return {
    EncryptCommand: (input: { Plaintext: Uint8Array; EncryptionContext?: Record<string, string> }) => ({ CiphertextBlob: seal(input.Plaintext, input.EncryptionContext) }),
    DecryptCommand: (input: { CiphertextBlob: Uint8Array; EncryptionContext?: Record<string, string> }) => {
      const sealed = JSON.parse(Buffer.from(input.CiphertextBlob).toString('utf8')) as { context: Record<string, string>; plaintext: string };
      if (JSON.stringify(sealed.context) !== JSON.stringify(input.EncryptionContext ?? {})) {
        throw Object.assign(new Error('InvalidCiphertextException'), { name: 'InvalidCiphertextException' });
      }
      return { Plaintext: new Uint8Array(Buffer.from(sealed.plaintext, 'base64')) };
    },
  };
}

