import ArgumentParser
import Reactor

/// How a chat user behaves: how often it sends a message, how many of its messages a typing
/// indicator announces, how often it asks who is in its conversation and whether its peers are
/// online. The defaults are a person's pace, far below the gateway's rate limits.
struct ChatPaceOptions: ParsableArguments {
    @Option(help: "Messages each user sends a minute, on average.")
    var messagesPerMinute = 6.0
    @Option(help: "The share of messages a typing indicator announces, a second before.")
    var typingShare = 0.8
    @Option(help: "Presence queries on its conversation each user makes a minute, on average (0: none).")
    var presencePerMinute = 1.0
    @Option(help: "Online queries for its peers each user makes a minute, on average (0: none).")
    var onlinePerMinute = 1.0

    /// From the first key press to sending a short message. The gateway lets a typing start
    /// through once per `typing_interval` (2 s) and user: one per message at the default pace.
    private static let typingLead: UInt64 = 1_000_000_000

    func validate() throws {
        guard messagesPerMinute > 0, (0...1).contains(typingShare), presencePerMinute >= 0, onlinePerMinute >= 0 else {
            throw ValidationError("--messages-per-minute must be positive, --typing-share from 0 to 1, the query rates not negative")
        }
    }

    var activityPace: ChatActivity.Pace {
        let interval = { (perMinute: Double) in perMinute > 0 ? Clock.nanoseconds(seconds: 60 / perMinute) : nil }
        return ChatActivity.Pace(message: interval(messagesPerMinute)!, presence: interval(presencePerMinute),
                                 online: interval(onlinePerMinute), typingShare: typingShare, typingLead: Self.typingLead)
    }

    func describe(in report: inout Report) {
        report.add("messages_per_minute", messagesPerMinute)
        report.add("typing_share", typingShare)
        report.add("presence_per_minute", presencePerMinute)
        report.add("online_per_minute", onlinePerMinute)
    }
}
