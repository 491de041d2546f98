/**
 * The official x402 client as the end-to-end tests' buyer: `@x402/core`'s HTTP client with the
 * exact EVM scheme, signing with the stack's payer key against the stack's chain, spend controls
 * off (each test checks what it is charged itself).
 */
import { x402Client, x402HTTPClient } from "@x402/core/client"
import { toClientEvmSigner } from "@x402/evm"
import { registerExactEvmScheme } from "@x402/evm/exact/client"
import { privateKeyToAccount } from "viem/accounts"
import type * as Stack from "../Stack.ts"

export const officialClient = (stack: Stack.Stack): x402HTTPClient => {
  const client = new x402Client().setSpendControls(false)
  registerExactEvmScheme(client, {
    signer: toClientEvmSigner(privateKeyToAccount(stack.chain.payer.privateKey), stack.chain.client as never)
  })
  return new x402HTTPClient(client)
}
