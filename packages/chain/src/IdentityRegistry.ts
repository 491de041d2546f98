/**
 * Our ERC-8004 IdentityRegistry (`packages/chain/contracts/IdentityRegistry.sol`): ERC-721 with
 * URIStorage on OpenZeppelin 5.7, `register` overloads (ids from 0), `setAgentURI`, metadata with
 * the reserved `agentWallet` key (EIP-712 proof to set it, cleared on transfer), and the ERC's
 * `Registered`/`URIUpdated`/`MetadataSet` events. Its compiled artifact is committed beside it
 * (`npm run chain:build` rewrites it; a unit test fails when it is stale).
 *
 * It is what the local chain deploys and what a private network without a reference deployment
 * can deploy; on public chains the registrar talks to the reference deployments
 * (see `Chains.ts`). This module only reads the artifact; it deploys nothing.
 *
 * @since 0.1.0
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import type { Abi, Hex } from "viem"

/**
 * @category models
 */
export interface Artifact {
  readonly contractName: "IdentityRegistry"
  readonly compiler: string
  readonly openzeppelin: string
  readonly abi: Abi
  readonly bytecode: Hex
  readonly deployedBytecode: Hex
}

/**
 * @category constants
 */
export const artifactPath = join(import.meta.dirname, "..", "artifacts", "IdentityRegistry.json")

/**
 * The committed artifact (ABI and bytecode).
 *
 * @category accessors
 */
export const artifact = (): Artifact => JSON.parse(readFileSync(artifactPath, "utf8")) as Artifact
