/**
 * Test doubles for `@obol/kube`: the in-memory API server.
 *
 * @since 0.1.0
 */
export * as FakeKube from "./FakeKube.ts"
