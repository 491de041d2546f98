/**
 * Traffic for the chaos tier: an unpaid prober and a paying client (the official x402 client),
 * each looping over the offers it is given, through the Gateway, until stopped. It counts every
 * answer, the 200s each got, what the payer was charged per 200 (the amount of the requirement it
 * paid), and, per offer that is meant to serve throughout, the longest stretch without a 402 or a
 * 200 (an unavailability window). Every paid request that did not end in a whole 200 is kept with
 * its payment's authorizer and nonce and its time in flight, so the test can ask the chain which
 * of them were charged anyway, and when.
 *
 * It judges nothing; the test compares its counts with the chain (the seller's balance) and with
 * the invariants it asserts. Timing goes through the wall clock on purpose: this measures a
 * running system.
 *
 * @since 0.1.0
 */
import type { x402HTTPClient } from "@x402/core/client"

/**
 * @category models
 */
export interface Target {
  /** Request path through the Gateway, e.g. `/services/a/x`. */
  readonly path: string
  /** Meant to serve throughout (unavailability is measured only for these). */
  readonly steady: boolean
}

/**
 * @category models
 */
export interface Counts {
  requests: number
  /** 200s answered to requests without a payment: must stay 0 on priced paths. */
  unpaid200: number
  /** 200s answered to paid requests. */
  paid200: number
  /** What the payer signed for the requests answered 200, in atomic units. */
  paidAmount: bigint
  status402: number
  status503: number
  status404: number
  /** Other statuses (e.g. Traefik's 500 while the verifier is down). */
  other: number
  /** Connections that failed (refused, reset, timed out) before a status line. */
  refused: number
  /**
   * Answers cut off after their status line (the server died mid-body). Counted under their
   * status too, except that a paid 200 whose body was cut is not one of `paid200`.
   */
  cut: number
  /** Longest stretch, in ms, during which a steady offer answered neither 402 nor 200. */
  longestGapMs: number
}

/**
 * A paid request that did not end in a whole 200: the payment it carried (EIP-3009 authorizer and
 * nonce, so the chain can say whether it was settled) and when it was in flight.
 *
 * @category models
 */
export interface Unanswered {
  readonly path: string
  readonly authorizer: string
  readonly nonce: string
  /** What the payer signed for, in atomic units. */
  readonly amount: bigint
  /** Wall-clock ms when the paid request was sent and when its answer (or failure) ended. */
  readonly sentAt: number
  readonly endedAt: number
  /** Its status, `refused` before any status line, or `cut` for an answer cut mid-body. */
  readonly outcome: number | "refused" | "cut"
}

/**
 * @category models
 */
export interface Traffic {
  readonly counts: Counts
  /** Every paid request not answered with a whole 200, in order. */
  readonly unanswered: ReadonlyArray<Unanswered>
  /** Stops both loops; resolves once they have finished their current request. */
  readonly stop: () => Promise<void>
}

const empty = (): Counts => ({
  requests: 0,
  unpaid200: 0,
  paid200: 0,
  paidAmount: 0n,
  status402: 0,
  status503: 0,
  status404: 0,
  other: 0,
  refused: 0,
  cut: 0,
  longestGapMs: 0
})

/**
 * Starts the prober and the payer.
 *
 * @category constructors
 */
export const start = (options: {
  readonly gatewayUrl: string
  readonly targets: () => ReadonlyArray<Target>
  readonly payer: x402HTTPClient
  /** Pause between passes over the targets. Default 20 ms. */
  readonly pauseMs?: number
}): Traffic => {
  const counts = empty()
  const unanswered: Array<Unanswered> = []
  const stopped = new AbortController()
  /** Per steady path: when it last answered 402 or 200, and when its current outage began. */
  const health = new Map<string, { outageSince: number | undefined }>()

  const record = (target: Target, status: number | "refused") => {
    counts.requests++
    if (status === "refused") counts.refused++
    else if (status === 402) counts.status402++
    else if (status === 503) counts.status503++
    else if (status === 404) counts.status404++
    else if (status !== 200) counts.other++
    if (!target.steady) return
    const now = Date.now()
    const state = health.get(target.path) ?? { outageSince: undefined }
    health.set(target.path, state)
    if (status === 200 || status === 402) {
      if (state.outageSince !== undefined) {
        counts.longestGapMs = Math.max(counts.longestGapMs, now - state.outageSince)
        state.outageSince = undefined
      }
    } else if (state.outageSince === undefined) state.outageSince = now
  }

  /** One request, its body read whole: a failure before the status line is "refused". */
  const send = async (path: string, headers: Record<string, string> = {}) => {
    let res: Response
    try {
      res = await fetch(`${options.gatewayUrl}${path}`, { headers, signal: AbortSignal.timeout(15_000) })
    } catch {
      return "refused" as const
    }
    try {
      return { status: res.status, headers: res.headers, body: await res.text(), cut: false }
    } catch {
      counts.cut++
      return { status: res.status, headers: res.headers, body: "", cut: true }
    }
  }

  const pause = () => new Promise((resolve) => setTimeout(resolve, options.pauseMs ?? 20))

  const prober = async () => {
    while (!stopped.signal.aborted) {
      for (const target of options.targets()) {
        const res = await send(target.path)
        // A 200 without payment counts even if its body was cut: its status line was served.
        if (res !== "refused" && res.status === 200) counts.unpaid200++
        record(target, res === "refused" ? "refused" : res.status)
      }
      await pause()
    }
  }

  const payer = async () => {
    while (!stopped.signal.aborted) {
      for (const target of options.targets()) {
        const unpaid = await send(target.path)
        if (unpaid === "refused" || unpaid.status !== 402) {
          record(target, unpaid === "refused" ? "refused" : unpaid.status)
          if (unpaid !== "refused" && unpaid.status === 200) counts.unpaid200++
          continue
        }
        record(target, 402)
        let signature: Record<string, string>
        let amount: bigint
        let authorization: { readonly from?: unknown; readonly nonce?: unknown } | undefined
        try {
          const required = options.payer.getPaymentRequiredResponse(
            (name) => unpaid.headers.get(name),
            JSON.parse(unpaid.body)
          )
          amount = BigInt(required.accepts[0]?.amount ?? "0")
          const payload = await options.payer.createPaymentPayload(required)
          authorization = (payload.payload as { readonly authorization?: typeof authorization }).authorization
          signature = options.payer.encodePaymentSignatureHeader(payload)
        } catch {
          counts.other++
          continue
        }
        const sentAt = Date.now()
        const paid = await send(target.path, signature)
        if (paid !== "refused" && paid.status === 200 && !paid.cut) {
          counts.paid200++
          counts.paidAmount += amount
        } else {
          unanswered.push({
            path: target.path,
            authorizer: String(authorization?.from ?? ""),
            nonce: String(authorization?.nonce ?? ""),
            amount,
            sentAt,
            endedAt: Date.now(),
            outcome: paid === "refused" ? "refused" : paid.cut ? "cut" : paid.status
          })
        }
        record(target, paid === "refused" ? "refused" : paid.status)
      }
      await pause()
    }
  }

  const loops = [prober(), payer()]
  return {
    counts,
    unanswered,
    stop: async () => {
      stopped.abort()
      await Promise.all(loops)
    }
  }
}
