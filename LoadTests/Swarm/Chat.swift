import ArgumentParser
import Reactor

struct Chat: ParsableCommand, DeliveryScenario {
    static let name = "chat"
    static let connectionsKey = "users"
    static let configuration = CommandConfiguration(
        abstract: "A tutoring chat: users in 1:1 and small group conversations, typing, asking for presence and who is online, and tutor availability pushes.",
        discussion: """
        Users swarm-0 ... swarm-(N-1), cut in order of their numbers into conversations: pairs, and a \
        --group-share of groups of 3 to 5. Each connects with a token whose channels claim grants \
        its conversation (NAMESPACE:swarm-chat-K), subscribes to it and to --availability-channel, \
        and from the start of traffic sends publish commands to the conversation at \
        --messages-per-minute ({"t": send time, "seq": n} with an idempotency key), most of them \
        after a typing indicator (--typing-share), and now and then presence on the conversation \
        and online for its peers. The coordinator publishes availability changes at \
        --availability-rate through the server API, or into Redis with --redis-url. Every \
        --churn-interval seconds a --churn-share of each worker's users reconnect and resubscribe \
        with since, then send again, with the same keys, the messages the gateway had not answered. \
        Reports end-to-end latency, deliveries, lost and duplicated for the conversations' messages \
        (each owed to every other member) and for availability, the reply latency of each command, \
        the reconnections, and errors by kind (error replies as relay_COMMAND_CODE).
        """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var stepping: StepOptions
    @OptionGroup var secret: SecretOptions
    @OptionGroup var timing: TimingOptions
    @OptionGroup var publish: PublishOptions
    @OptionGroup var redis: RedisPublishOptions
    @Option(help: "Users, over all workers.")
    var users = 100
    @Option(help: "The share of conversations that are groups of 3 to 5 (the others are pairs).")
    var groupShare = 0.2
    @OptionGroup var pace: ChatPaceOptions
    @Option(help: "The conversations' namespace: users subscribe by the token's channels claim, publish as subscribers, with presence and typing.")
    var conversationNamespace = "conversation"
    @Option(help: "The channel every user subscribes to and the coordinator publishes availability changes to.")
    var availabilityChannel = "availability:tutors"
    @Option(help: "Availability changes published per second.")
    var availabilityRate = 2.0
    @OptionGroup var churn: ChurnOptions

    /// Users reconnect now and then (a phone between networks, a laptop waking up), not in storms.
    private static let churnShare = 0.02

    var subscribers: Int { users }
    var subscribersPerChannel: [Int] { [users] }
    var layout: ChatLayout { ChatLayout(users: users, groupShare: groupShare, namespace: conversationNamespace) }

    func validate() throws {
        guard users >= 2, users >= connection.workers else { throw ValidationError("--users must be at least 2 and at least --workers") }
        guard (0...1).contains(groupShare), availabilityRate > 0 else {
            throw ValidationError("--group-share must be from 0 to 1, --availability-rate positive")
        }
        guard publish.viaServerAPI || redis.redisUrl != nil else {
            throw ValidationError("chat publishes availability through the server API (--api-url and --api-key) or Redis (--redis-url)")
        }
    }

    func run() throws {
        try stepping.runIfStepping(scenario: Self.name)
        let layout = self.layout
        let availabilityChannel = self.availabilityChannel
        let session = RelaySession(signer: try secret.resolve(), channels: { [layout.channel(ofUser: $0), availabilityChannel] },
                                   granted: { [layout.channel(ofUser: $0)] })
        let plan = try connection.plan(total: users, subprotocols: [RelaySession.subprotocol], session: session)
        let loop = try makeLoop()
        if connection.workerIndex != nil {
            let workload = ChatWorkload(loop: loop, plan: plan, layout: layout, availabilityChannel: availabilityChannel,
                                        pace: pace.activityPace, churn: churn.plan(defaultShare: Self.churnShare, massReconnectAt: nil),
                                        drainTimeout: Clock.nanoseconds(seconds: timing.drainTimeout))
            try runWorker(workload, loop: loop)
        }
        let transport: PublicationTransport = try redis.transport(loop: loop, capacity: publish.publishConcurrency)
            ?? publish.serverAPI(loop: loop)
        let publisher = Publisher(loop: loop, transport: transport, channels: [availabilityChannel], pace: .rate(availabilityRate))
        try DeliveryRun(loop: loop, scenario: self, transport: transport, publisher: publisher).run()
    }

    func describe(in report: inout Report) {
        let layout = self.layout
        report.add("conversations", layout.count)
        report.add("groups", layout.groups)
        pace.describe(in: &report)
        report.add("availability_channel", availabilityChannel)
        report.add("availability_rate_requested", availabilityRate)
        report.add("publish_via", redis.redisUrl != nil ? "redis" : "api")
        churn.describe(in: &report, defaultShare: Self.churnShare)
    }

    func reportOutcome(_ total: WorkerResult, deliveries: DeliveryCounts, in report: inout Report) {
        let chat = total.chat ?? ChatStats()
        chat.messages.add(to: &report, duration: timing.duration, sentKey: "messages")
        report.add("resent", chat.resent)
        report.add("typing_pushes", chat.typingPushes)
        for kind in ChatCommand.Kind.allCases {
            report.add("\(kind.rawValue)_reply_us", chat.replies[kind.rawValue] ?? LatencyHistogram())
        }
        deliveries.add(to: &report, duration: timing.duration, prefix: "availability_")
        report.add(total.reconnects)
    }
}
