// The reference for the memory bench: @x402/express (the x402 reference middleware) on Express 5,
// one route priced like the verifier's, its resource server syncing the facilitator's /supported
// on start as the package's default does. Run by memory.bench.ts from a scratch directory where
// those packages are installed; PORT and FACILITATOR_URL from the environment.
import express from "express"
import { paymentMiddleware, x402ResourceServer } from "@x402/express"
import { ExactEvmScheme } from "@x402/evm/exact/server"
import { HTTPFacilitatorClient } from "@x402/core/server"

const server = new x402ResourceServer(new HTTPFacilitatorClient({ url: process.env.FACILITATOR_URL })).register(
  "eip155:84532",
  new ExactEvmScheme()
)
const app = express()
app.use(
  paymentMiddleware(
    {
      "GET /services/r4242/*": {
        accepts: {
          scheme: "exact",
          price: "$0.001",
          network: "eip155:84532",
          payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
        },
        description: "route r4242"
      }
    },
    server
  )
)
app.get("/services/r4242/*rest", (_req, res) => res.json({ ok: true }))
app.listen(Number(process.env.PORT), "127.0.0.1")
