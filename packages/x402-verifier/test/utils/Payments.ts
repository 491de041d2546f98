/**
 * What the verifier's unit tests pay with: a route, a v2 payment for it (signed with a dummy
 * signature: the facilitator here is in memory), and a facilitator that counts its calls.
 */
import { Effect } from "effect"
import { encodePaymentSignatureHeader } from "@x402/core/http"
import * as Facilitator from "@obol/x402/Facilitator"
import * as Requirements from "@obol/x402/Requirements"

export const route: Requirements.Route = {
  scheme: "exact",
  amount: "1000",
  network: "eip155:84532",
  asset: { address: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", eip712Name: "USDC", eip712Version: "2" },
  payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  maxTimeoutSeconds: 300,
  description: "weather"
}

/** A `PAYMENT-SIGNATURE` for `paid` (default: {@link route}), of `amount` (default its price), with a nonce made of `nonce`. */
export const signature = (
  options: { readonly route?: Requirements.Route; readonly amount?: string; readonly nonce?: string } = {}
) => {
  const paid = options.route ?? route
  const amount = options.amount ?? paid.amount
  return encodePaymentSignatureHeader({
    x402Version: 2,
    accepted: { ...Requirements.requirement(paid), amount } as never,
    payload: {
      signature: `0x${"ab".repeat(65)}`,
      authorization: {
        from: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
        to: paid.payTo,
        value: amount,
        validAfter: "0",
        validBefore: "1795764033",
        nonce: `0x${(options.nonce ?? "22").repeat(32)}`
      }
    }
  })
}

/** A facilitator that accepts every payment and counts verify and settle calls; `settle` overrides the answer. */
export const countingFacilitator = (
  settle: Facilitator.Shape["settle"] = () =>
    Effect.succeed({ success: true, transaction: "0xtx", network: "eip155:84532" })
) => {
  const calls = { verify: 0, settle: 0 }
  const layer = Facilitator.layerMemory({
    supported: Effect.succeed({ kinds: [] }),
    verify: () => Effect.sync(() => void calls.verify++).pipe(Effect.as({ isValid: true })),
    settle: (r) =>
      Effect.suspend(() => {
        calls.settle++
        return settle(r)
      })
  })
  return { calls, layer }
}
