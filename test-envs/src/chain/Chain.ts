/**
 * A real local chain for tests and the local stack: anvil (the platform binary from the
 * exact-pinned `@foundry-rs/anvil` package, spawned directly, never its `.bin` wrapper) on a port
 * it picks itself, chain id 84532 (Base Sepolia's, so CAIP-2 `eip155:84532`), with
 * - our EIP-3009 token `TestUSDC` deployed and minted to a payer account,
 * - `Multicall3` placed at its well-known address with `anvil_setCode`,
 * - our ERC-8004 `IdentityRegistry` deployed (by the deployer account).
 *
 * The accounts are anvil's default development accounts (publicly known keys; never use them on a
 * real chain): 0 deploys and mints, 1 pays, 2 sells, 3 is the facilitator's signer.
 *
 * This module does not run a facilitator (see `Facilitator.ts`). A new scope is a new chain, unless
 * `stateFile` is given: anvil then loads that file at start and writes it every few seconds and on
 * exit, and a chain that already holds our contracts (the deployer has sent transactions) keeps
 * them at their deterministic addresses instead of deploying again.
 *
 * @since 0.1.0
 */
import { Data, Effect, Scope } from "effect"
import { accessSync, constants, existsSync, mkdtempSync, renameSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  defineChain,
  erc20Abi,
  getContractAddress,
  http,
  type Address,
  type Hex,
  type PublicClient
} from "viem"
import { privateKeyToAccount } from "viem/accounts"
import * as ManagedProcess from "../ManagedProcess.ts"
import * as Contracts from "./Contracts.ts"

const require = createRequire(import.meta.url)

/**
 * @category errors
 */
export class ChainError extends Data.TaggedError("ChainError")<{
  readonly reason: "BinaryMissing" | "DeployFailed"
  readonly detail: string
}> {
  override get message() {
    return `${this.reason}: ${this.detail}`
  }
}

/** Anvil's default development keys (mnemonic "test test … junk"). */
export const devKeys = {
  deployer: "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  payer: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  seller: "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  facilitator: "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"
} as const satisfies Record<string, Hex>

export const chainId = 84532
export const network = `eip155:${chainId}` as const
export const multicall3Address: Address = "0xcA11bde05977b3631167028862bE2a173976CA11"
/** What the payer holds after start: 1,000 USDC in atomic units (6 decimals). */
export const payerBalance = 1_000_000_000n

/**
 * @category models
 */
export interface Chain {
  readonly rpcUrl: string
  readonly chainId: number
  readonly network: typeof network
  readonly usdc: Address
  /** The ERC-8004 identity registry. */
  readonly registry: Address
  readonly payer: { readonly address: Address; readonly privateKey: Hex }
  readonly seller: Address
  readonly facilitatorKey: Hex
  readonly anvil: ManagedProcess.ManagedProcess
  readonly client: PublicClient
}

/**
 * The anvil binary of this platform, from its optional-dependency package.
 *
 * @category accessors
 */
export const anvilBinary = (): Effect.Effect<string, ChainError> =>
  Effect.try({
    try: () => {
      const arch = process.arch === "x64" ? "amd64" : process.arch
      const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`
      const dir = dirname(require.resolve(`${pkg}/package.json`))
      const binary = join(dir, "bin", process.platform === "win32" ? "anvil.exe" : "anvil")
      accessSync(binary, constants.X_OK)
      return binary
    },
    catch: (error) =>
      new ChainError({
        reason: "BinaryMissing",
        detail: `no anvil binary for ${process.platform}/${process.arch} (${String(error)}); run npm ci`
      })
  })

/**
 * The chain definition viem needs.
 *
 * @category constructors
 */
export const viemChain = (rpcUrl: string) =>
  defineChain({
    id: chainId,
    name: "obol-local",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
    contracts: { multicall3: { address: multicall3Address } }
  })

const listening = /Listening on 127\.0\.0\.1:(\d+)/gu

/**
 * Starts anvil and deploys the token and Multicall3; stops anvil when the scope closes.
 *
 * @category constructors
 */
export const start = (
  options: {
    readonly runDir?: string
    readonly outliveParent?: boolean
    /** Keep the chain in this file across runs (anvil `--state`, written every 5 s and on exit). */
    readonly stateFile?: string
  } = {}
): Effect.Effect<Chain, ChainError | ManagedProcess.ProcessFailed, Scope.Scope> =>
  Effect.gen(function* () {
    const binary = yield* anvilBinary()
    const runDir = options.runDir ?? mkdtempSync(join(tmpdir(), "obol-chain-"))
    // A persistent chain restarts in the same directory: start its log afresh (the previous one is
    // kept beside it), so the port read below is this run's.
    const logFile = join(runDir, "anvil.log")
    if (existsSync(logFile)) renameSync(logFile, join(runDir, "anvil.previous.log"))
    const anvil = yield* ManagedProcess.start({
      name: "anvil",
      command: binary,
      args: [
        "--port",
        "0",
        "--host",
        "127.0.0.1",
        "--chain-id",
        String(chainId),
        ...(options.stateFile === undefined ? [] : ["--state", options.stateFile, "--state-interval", "5"])
      ],
      logFile,
      stopTimeout: "5 seconds",
      ...(options.outliveParent === undefined ? {} : { outliveParent: options.outliveParent })
    })
    let port = 0
    yield* ManagedProcess.waitUntil(
      anvil,
      "listening",
      Effect.sync(() => {
        const match = [...anvil.logTail(200).matchAll(listening)].at(-1)
        if (match?.[1] !== undefined) port = Number(match[1])
        return port > 0
      }),
      "30 seconds"
    )
    const rpcUrl = `http://127.0.0.1:${port}`
    const chain = viemChain(rpcUrl)
    const client = createPublicClient({ chain, transport: http(rpcUrl) })
    const deployer = createWalletClient({
      chain,
      transport: http(rpcUrl),
      account: privateKeyToAccount(devKeys.deployer)
    })
    const testClient = createTestClient({ chain, mode: "anvil", transport: http(rpcUrl) })
    const payer = privateKeyToAccount(devKeys.payer)
    const seller = privateKeyToAccount(devKeys.seller)

    const token = Contracts.artifact("TestUSDC")
    const multicall = Contracts.artifact("Multicall3")
    const identityRegistry = Contracts.artifact("IdentityRegistry")
    const deploy = async (artifact: Contracts.Artifact) => {
      const hash = await deployer.deployContract({ abi: artifact.abi, bytecode: artifact.bytecode })
      const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 50 })
      if (receipt.contractAddress === null || receipt.contractAddress === undefined || receipt.status !== "success") {
        throw new Error(`${artifact.contractName} deployment ${hash} ended ${receipt.status}`)
      }
      return receipt.contractAddress
    }
    const { usdc, registry } = yield* Effect.tryPromise({
      try: async () => {
        await testClient.setCode({ address: multicall3Address, bytecode: multicall.deployedBytecode })
        // A chain restored from its state file: our contracts are where the deployer's first
        // transactions put them (token at nonce 0, mint at 1, registry at 2).
        if ((await client.getTransactionCount({ address: deployer.account.address })) > 0) {
          const at = (nonce: bigint) => getContractAddress({ from: deployer.account.address, nonce })
          const [tokenAddress, registryAddress] = [at(0n), at(2n)]
          for (const address of [tokenAddress, registryAddress]) {
            if ((await client.getCode({ address })) === undefined) {
              throw new Error(`the chain state holds no contract at ${address}; delete the state file to start afresh`)
            }
          }
          return { usdc: tokenAddress, registry: registryAddress }
        }
        const tokenAddress = await deploy(token)
        const minted = await deployer.writeContract({
          address: tokenAddress,
          abi: token.abi,
          functionName: "mint",
          args: [payer.address, payerBalance]
        })
        await client.waitForTransactionReceipt({ hash: minted, pollingInterval: 50 })
        return { usdc: tokenAddress, registry: await deploy(identityRegistry) }
      },
      catch: (error) => new ChainError({ reason: "DeployFailed", detail: String(error) })
    })
    return {
      rpcUrl,
      chainId,
      network,
      usdc,
      registry,
      payer: { address: payer.address, privateKey: devKeys.payer },
      seller: seller.address,
      facilitatorKey: devKeys.facilitator,
      anvil,
      client: client as PublicClient
    }
  })

/**
 * The token balance of `address`, in atomic units.
 *
 * @category getters
 */
export const balanceOf = (chain: Chain, address: Address): Promise<bigint> =>
  chain.client.readContract({ address: chain.usdc, abi: erc20Abi, functionName: "balanceOf", args: [address] })

/**
 * Our token as an offer or route names it: address, decimals and EIP-712 domain (`TestUSDC.sol`:
 * `EIP712("USDC", "2")`, 6 decimals, like Circle's USDC).
 *
 * @category getters
 */
export const token = (chain: Chain) =>
  ({ address: chain.usdc, decimals: 6, eip712Name: "USDC", eip712Version: "2" }) as const
