/** A priced route for the x402 tests: 0.001 USDC on Base Sepolia. */
import type * as Requirements from "@obol/x402/Requirements"

export const route: Requirements.Route = {
  scheme: "exact",
  amount: "1000",
  network: "eip155:84532",
  asset: { address: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", eip712Name: "USDC", eip712Version: "2" },
  payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  maxTimeoutSeconds: 300,
  description: "weather forecasts, 0.001 USDC per request"
}
