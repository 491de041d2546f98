/**
 * The runtime's metrics, named as controller-runtime names them so existing dashboards and alerts
 * work: reconcile totals, errors and durations per controller, and work-queue depth, adds,
 * retries and wait time. Exposed in Prometheus text by the health server.
 *
 * @since 0.1.0
 */
import { Metric } from "effect"

const seconds = Metric.boundariesFromIterable([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60])

/** `controller_runtime_reconcile_total{controller,result}`: result is success, error, requeue_after or terminal. */
export const reconcileTotal = Metric.counter("controller_runtime_reconcile_total", {
  description: "Total number of reconciliations per controller"
})

/** `controller_runtime_reconcile_errors_total{controller}` */
export const reconcileErrors = Metric.counter("controller_runtime_reconcile_errors_total", {
  description: "Total number of reconciliation errors per controller"
})

/** `controller_runtime_terminal_reconcile_errors_total{controller}` */
export const terminalErrors = Metric.counter("controller_runtime_terminal_reconcile_errors_total", {
  description: "Total number of terminal reconciliation errors per controller"
})

/** `controller_runtime_reconcile_time_seconds{controller}` */
export const reconcileTime = Metric.histogram("controller_runtime_reconcile_time_seconds", {
  description: "Length of time per reconciliation per controller",
  boundaries: seconds
})

/** `controller_runtime_active_workers{controller}` */
export const activeWorkers = Metric.gauge("controller_runtime_active_workers", {
  description: "Number of currently used workers per controller"
})

/** `workqueue_depth{name}` */
export const workqueueDepth = Metric.gauge("workqueue_depth", { description: "Current depth of workqueue" })

/** `workqueue_adds_total{name}` */
export const workqueueAdds = Metric.counter("workqueue_adds_total", {
  description: "Total number of adds handled by workqueue"
})

/** `workqueue_retries_total{name}` */
export const workqueueRetries = Metric.counter("workqueue_retries_total", {
  description: "Total number of retries handled by workqueue"
})

/** `workqueue_queue_duration_seconds{name}` */
export const workqueueQueueDuration = Metric.histogram("workqueue_queue_duration_seconds", {
  description: "How long in seconds an item stays in workqueue before being requested",
  boundaries: seconds
})

/** `leader_election_master_status{name}`: 1 while leading. */
export const leaderElectionMasterStatus = Metric.gauge("leader_election_master_status", {
  description:
    "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master"
})
