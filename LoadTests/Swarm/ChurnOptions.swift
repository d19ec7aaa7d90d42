import ArgumentParser
import Reactor

/// Reconnections on purpose (storm, chat): how often a wave comes, and how much of each
/// worker's live connections it takes. Each scenario has its own default share.
struct ChurnOptions: ParsableArguments {
    @Option(help: "Seconds between reconnection waves, from the start of traffic.")
    var churnInterval = 5.0
    @Option(help: "The share of each worker's live connections that reconnect in a wave, 0 to 1 (default: storm 0.1, chat 0.02).")
    var churnShare: Double?

    func validate() throws {
        guard churnInterval > 0, (0...1).contains(churnShare ?? 0) else {
            throw ValidationError("--churn-interval must be positive, --churn-share from 0 to 1")
        }
    }

    func share(default share: Double) -> Double { churnShare ?? share }

    /// The workers' plan; `massReconnectAt` in seconds into the measured window (nil: never).
    func plan(defaultShare: Double, massReconnectAt: Double?) -> Churn.Plan {
        Churn.Plan(interval: Clock.nanoseconds(seconds: churnInterval), share: share(default: defaultShare),
                   massReconnectAt: massReconnectAt.map { Clock.nanoseconds(seconds: $0) })
    }

    func describe(in report: inout Report, defaultShare: Double) {
        report.add("churn_interval_s", churnInterval)
        report.add("churn_share", share(default: defaultShare))
    }
}
