import ArgumentParser
import Reactor

struct Fanout: ParsableCommand, DeliveryScenario {
    static let name = "fanout"
    static let configuration = CommandConfiguration(
        abstract: "Subscribers to channels; a publisher at a rate or a window; end-to-end latency, lost and duplicated.",
        discussion: """
        Each subscriber connects with the subprotocol relay.v1, authenticates with an HS256 token it \
        mints (user swarm-N), and subscribes to one of --channels channels (N modulo their number). \
        The coordinator publishes in rounds, {"t": send time, "seq": n} to every channel, through the \
        server API (--publish-via api), through its own relay.v1 connection (gateway: the namespace \
        must let subscribers publish), or, with --publish-via raw, as binary frames to a broadcast \
        server (relay echo --broadcast or a peer's), whose subscribers send nothing. Rounds go at \
        --rate per second, or with --window W, W rounds in flight until every subscriber has them \
        (the highest deliveries per second the server sustains).
        """
    )

    enum Via: String, ExpressibleByArgument, CaseIterable { case api, gateway, redis, raw }

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var stepping: StepOptions
    @OptionGroup var secret: SecretOptions
    @OptionGroup var timing: TimingOptions
    @Option(help: "Subscribers, over all workers.")
    var subscribers = 1000
    @Option(help: "The channel; with --channels N > 1, channels CHANNEL-0 ... CHANNEL-(N-1). Its namespace must let authenticated users subscribe, and the server (api) or subscribers (gateway) publish.")
    var channel = "availability:bench"
    @Option(help: "Channels the subscribers are spread over; each round publishes once to each.")
    var channels = 1
    @Option(help: "How publications are made: api (the server API), gateway (relay.v1 publish commands), raw (binary frames to a broadcast server).")
    var publishVia = Via.api
    @OptionGroup var publish: PublishOptions
    @OptionGroup var redis: RedisPublishOptions
    @Option(help: "With raw: the size of each message in bytes (at least 16: send time and sequence).")
    var size = 20
    @Option(help: "Rounds per second (when --window is 0).")
    var rate = 100.0
    @Option(help: "Rounds in flight: publish the next only when every subscriber has the earlier ones (0: off, use --rate).")
    var window = 0

    func validate() throws {
        guard subscribers >= connection.workers else { throw ValidationError("--subscribers must be at least --workers") }
        guard subscribers >= 1, rate > 0, window >= 0, channels >= 1 else {
            throw ValidationError("--subscribers, --channels and --rate must be positive, --window not negative")
        }
        switch publishVia {
        case .api:
            guard publish.viaServerAPI else { throw ValidationError("--publish-via api needs --api-url and --api-key") }
        case .gateway:
            break
        case .redis:
            guard redis.redisUrl != nil else { throw ValidationError("--publish-via redis needs --redis-url") }
        case .raw:
            guard channels == 1 else { throw ValidationError("--publish-via raw: a broadcast server has one channel") }
            guard size >= PublicationPayload.minimumRawSize else { throw ValidationError("--size must be at least \(PublicationPayload.minimumRawSize)") }
        }
    }

    var channelNames: [String] { channels == 1 ? [channel] : (0..<channels).map { "\(channel)-\($0)" } }

    /// Subscribers of each channel: subscriber N is on channel N modulo their number.
    var subscribersPerChannel: [Int] {
        (0..<channels).map { subscribers / channels + ($0 < subscribers % channels ? 1 : 0) }
    }

    func run() throws {
        try stepping.runIfStepping(scenario: Self.name)
        let raw = publishVia == .raw
        let session = raw ? nil : RelaySession(signer: try secret.resolve(), channels: channelNames)
        let plan = try connection.plan(total: subscribers, subprotocols: raw ? [] : [RelaySession.subprotocol], session: session)
        let loop = try makeLoop()
        if connection.workerIndex != nil {
            try runWorker(FanoutWorkload(loop: loop, plan: plan, raw: raw, drainTimeout: Clock.nanoseconds(seconds: timing.drainTimeout)), loop: loop)
        }
        let transport: PublicationTransport
        // Socket and Redis transports pipeline: a window of rounds over every channel at once.
        let pipelined = max(publish.publishConcurrency, window * channels)
        switch publishVia {
        case .api:
            transport = try publish.serverAPI(loop: loop)
        case .redis:
            transport = try redis.transport(loop: loop, capacity: pipelined)!
        case .gateway, .raw:
            let mode: SocketTransport.Mode = session.map { .gateway(signer: $0.signer, channels: channelNames) } ?? .raw(size: size)
            transport = SocketTransport(loop: loop, mode: mode, endpoint: plan.endpoints[0], tls: plan.tls[0], capacity: pipelined)
        }
        let pace: Publisher.Pace = window > 0 ? .window(window) : .rate(rate)
        try DeliveryRun(loop: loop, scenario: self, transport: transport,
                        publisher: Publisher(loop: loop, transport: transport, channels: channelNames, pace: pace)).run()
    }

    func describe(in report: inout Report) {
        report.add("channel", channel)
        report.add("channels", channels)
        report.add("publish_via", publishVia.rawValue)
        if publishVia == .raw { report.add("size", size) }
        report.add("mode", window > 0 ? "window" : "rate")
        if window > 0 { report.add("window", window) } else { report.add("rate_requested", rate) }
    }
}
