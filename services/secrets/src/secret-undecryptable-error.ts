/** Why a stored value or data key cannot be used. */
export type UndecryptableProblem = 'data_key_missing' | 'master_key_unknown' | 'data_key_tampered' | 'value_tampered';

/** Ids that locate the failure for an operator; never key material, never a value. */
export interface UndecryptableDetails {
  orgId: string;
  dataKeyId: string;
  masterKeyId?: string;
  secretId?: string;
  version?: number;
}

/**
 * A stored secret value, or the data key it needs, cannot be decrypted. The secrets service answers it
 * with FAILED_PRECONDITION (SECRET_UNDECRYPTABLE), not INTERNAL: retrying cannot help, and the fix is a
 * state change — an operator restores the master key, or an admin writes a new value. The message says
 * which, for the calling service and the log; it cannot contain the value, which was never recovered.
 */
export class SecretUndecryptableError extends Error {
  override readonly name = 'SecretUndecryptableError';

  constructor(
    readonly problem: UndecryptableProblem,
    readonly details: UndecryptableDetails,
  ) {
    super(describe(problem, details));
  }
}

function describe(problem: UndecryptableProblem, details: UndecryptableDetails): string {
  switch (problem) {
    case 'data_key_missing':
      return `the data key ${details.dataKeyId} that encrypts this secret is missing from the organization`;
    case 'master_key_unknown':
      return `the organization's data key is wrapped by master key ${details.masterKeyId}, which is not in the keyring; an operator must restore it`;
    case 'data_key_tampered':
      return "the organization's data key failed authentication: it was altered or moved; an operator must restore it from a backup";
    case 'value_tampered':
      return 'the stored value failed authentication: it was altered or moved from another secret; write a new value';
  }
}
