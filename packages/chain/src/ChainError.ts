/**
 * Why a chain operation failed. The registrar retries every reason with capped backoff; the
 * reason says what an operator should fix:
 *
 * - `Reverted`: the registry refused the call (the revert reason is in `message`);
 * - `InsufficientFunds`: the signer cannot pay for gas;
 * - `NonceTooLow`: another transaction from the signer took the nonce (a second registrar with
 *   the same key, or a resend racing a mined transaction);
 * - `Rpc`: the RPC endpoint is unreachable or answered with an error;
 * - `Timeout`: no answer, or no receipt, within the allowed time.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/**
 * @category models
 */
export type Reason = "Reverted" | "InsufficientFunds" | "NonceTooLow" | "Rpc" | "Timeout"

/**
 * @category errors
 */
export class ChainError extends Data.TaggedError("ChainError")<{
  readonly reason: Reason
  readonly message: string
}> {}

/**
 * @category guards
 */
export const isChainError = (u: unknown): u is ChainError =>
  typeof u === "object" && u !== null && "_tag" in u && u._tag === "ChainError"
