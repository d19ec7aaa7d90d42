import JSON
import Reactor
import WebSocket

/// A chat worker: its share of users, each subscribed to its conversation and to the
/// availability channel. The users write messages, type, and ask for presence and who is
/// online (ChatActivity); their messages go out through the outbox, which a reconnection
/// empties again with the same keys. Every message that arrives is an availability
/// publication (counted as fan-out counts them), a conversation's (ConversationLedger), another
/// push, or the reply to a pending command. A share of the users reconnects every interval
/// (Churn), resubscribing to both channels from where it was.
final class ChatWorkload: Workload {
    /// The order of a user's subscriptions (Chat's session).
    static let conversationIndex = 0
    static let availabilityIndex = 1
    /// The drain ends once nothing came from the conversations for this long, after the
    /// worker's own messages are answered and the availability publications are in: other
    /// workers' last messages are on their way until then.
    private static let quiet: UInt64 = 1_000_000_000

    private unowned let loop: EventLoop
    private let layout: ChatLayout
    private let swarm: ConnectionSwarm
    private let availability: DeliveryLedger
    private let conversations: ConversationLedger
    private let outbox: ChatOutbox
    private var pending = PendingCommands()
    private let pace: ChatActivity.Pace
    private let churnPlan: Churn.Plan
    private lazy var activity = ChatActivity(loop: loop, users: swarm.plan.numbers.count, pace: pace) { [unowned self] in act($0, $1) }
    private lazy var churn = Churn(loop: loop, swarm: swarm, plan: churnPlan) { [unowned self] in positions($0) }
    /// Each user's epochs, a pair per user in the order of its subscriptions.
    private var epochs: [String]
    /// How an availability publication starts: those are read as fan-out reads them, without
    /// parsing (they are most of what arrives).
    private let availabilityPrefix: [UInt8]
    /// Makes this run's idempotency keys its own: a gateway remembers keys for a while.
    private let run = String(UInt64.random(in: 0...UInt64.max), radix: 36)
    private var stats = ChatStats()
    private var errors = ErrorCounts()
    private var sent = 0
    private var measureFrom = UInt64.max
    private var measureUntil = UInt64.max
    private let drainTimeout: UInt64
    private var drain: (target: UInt64, since: UInt64, done: (WorkerResult) -> Void)?
    private lazy var drainCheck = LoopTimer { [unowned self] in checkDrain() }
    private lazy var drainDeadline = LoopTimer { [unowned self] in finishDrain() }

    init(loop: EventLoop, plan: ConnectionSwarm.Plan, layout: ChatLayout, availabilityChannel: String, pace: ChatActivity.Pace,
         churn: Churn.Plan, drainTimeout: UInt64) {
        self.loop = loop
        self.layout = layout
        self.pace = pace
        churnPlan = churn
        self.drainTimeout = drainTimeout
        swarm = ConnectionSwarm(loop: loop, plan: plan)
        availability = DeliveryLedger(subscribers: plan.numbers.count)
        conversations = ConversationLedger(layout: layout, users: plan.numbers)
        outbox = ChatOutbox(users: plan.numbers.count)
        epochs = Array(repeating: "", count: 2 * plan.numbers.count)
        availabilityPrefix = Array(#"{"push":"publication","channel":"\#(availabilityChannel)","#.utf8)
        // unowned(unsafe): a workload lives as long as its process; this runs for every message.
        swarm.onMessage = { [unowned(unsafe) self] client, _, payload in received(client, payload) }
        swarm.onSubscribed = { [unowned self] user, index, position, recovered in subscribed(user, index, position, recovered) }
        swarm.onReconnected = { [unowned self] user in reconnected(user) }
        swarm.onLost = { [unowned self] user in lost(user) }
    }

    func open(link: WorkerLink) {
        swarm.open(link: link)
    }

    func start(from: UInt64, until: UInt64) {
        measureFrom = from
        measureUntil = until
        availability.measure(from: from, until: until)
        conversations.measure(from: from, until: until)
        activity.start(until: until)
        churn.start(from: from, until: until)
    }

    func finish(lastSequence: UInt64, done: @escaping (WorkerResult) -> Void) {
        activity.stop()
        churn.stop()
        drain = (lastSequence, Clock.now(), done)
        loop.timers.schedule(drainDeadline, after: drainTimeout, now: Clock.now())
        checkDrain()
    }

    var progress: WorkerProgress {
        WorkerProgress(established: swarm.established, received: availability.total + conversations.total, sent: sent,
                       errors: swarm.errors.total + errors.total)
    }

    // MARK: Sending

    private func act(_ user: Int, _ action: ChatActivity.Action) {
        let number = swarm.plan.numbers.lowerBound + user
        let channel = layout.channel(ofUser: number)
        switch action {
        case .publish:
            let message = outbox.write(from: user, at: Clock.now())
            // A user away (reconnecting) writes all the same: the message goes when it is back.
            if swarm.isLive(user) { send(.publish(channel: channel, message, key: ChatOutbox.key(message, run: run)), from: user) }
        case .typing where swarm.isLive(user):
            send(.typing(channel: channel), from: user)
        case .presence where swarm.isLive(user):
            send(.presence(channel: channel), from: user)
        case .online where swarm.isLive(user):
            send(.online(users: layout.members(ofUser: number).filter { $0 != number }.map { "swarm-\($0)" }), from: user)
        case .typing, .presence, .online:
            break
        }
    }

    private func send(_ command: ChatCommand, from user: Int) {
        var sequence: UInt64 = 0
        if case .publish(_, let message, _) = command {
            sequence = message.sequence
            sent += 1
        }
        let id = pending.add(PendingCommands.Entry(user: user, kind: command.kind, sentAt: Clock.now(), sequence: sequence))
        swarm.clients[user]?.send(.text, payload: command.frame(id: id))
    }

    // MARK: Receiving

    private func received(_ client: WebSocketClient, _ payload: UnsafeRawBufferPointer) {
        if payload.starts(with: availabilityPrefix), let publication = PublicationScanner.scan(payload) {
            return availability.record(subscriber: client.tag, publication, receivedAt: client.receivedAt)
        }
        guard let message = try? JSONParser.parse(payload) else { return errors.add("unexpected_message") }
        if let push = message["push"]?.string {
            pushed(push, message, to: client.tag, receivedAt: client.receivedAt)
        } else if let id = message["id"]?.int64, let command = pending.answer(id) {
            answered(command, message, receivedAt: client.receivedAt)
        } else {
            errors.add("unexpected_message")
        }
    }

    private func pushed(_ kind: String, _ message: JSONValue, to user: Int, receivedAt: UInt64) {
        let number = swarm.plan.numbers.lowerBound + user
        switch kind {
        case "publication" where message["channel"]?.string == layout.channel(ofUser: number):
            let publication = message["pub"]
            guard let sender = publication?["user"]?.string.flatMap(Self.userNumber), let data = publication?["data"],
                  let sentAt = data["t"]?.int64, let sequence = data["seq"]?.int64 else { return errors.add("unexpected_publication") }
            let offset = UInt64(max(0, publication?["offset"]?.int64 ?? 0))
            if !conversations.record(user: user, sender: sender, sequence: UInt64(sequence), sentAt: UInt64(sentAt), offset: offset,
                                     receivedAt: receivedAt) {
                errors.add("unexpected_sender")
            }
        case "typing":
            if receivedAt >= measureFrom, receivedAt < measureUntil { stats.typingPushes += 1 }
        case "join", "leave":
            // Members coming and going, as reconnections make them.
            break
        default:
            errors.add("unexpected_push_\(kind)")
        }
    }

    private func answered(_ command: PendingCommands.Entry, _ reply: JSONValue, receivedAt: UInt64) {
        if command.kind == .publish, let message = outbox.answered(command.user, sequence: command.sequence), reply["result"] != nil,
           message.sentAt >= measureFrom, message.sentAt < measureUntil {
            stats.messages.sent += 1
            stats.messages.expected += layout.members(ofUser: swarm.plan.numbers.lowerBound + command.user).count - 1
        }
        if let error = reply["error"] {
            // A refused publish is not published: nobody is owed it.
            return errors.add("relay_\(command.kind.rawValue)_\(error["code"]?.string ?? "unknown")")
        }
        if command.sentAt >= measureFrom, command.sentAt < measureUntil {
            stats.replies[command.kind.rawValue, default: LatencyHistogram()].record(receivedAt &- command.sentAt)
        }
    }

    /// "swarm-N" → N.
    private static func userNumber(_ user: String) -> Int? {
        user.hasPrefix("swarm-") ? Int(user.dropFirst(6)) : nil
    }

    // MARK: Connections

    private func subscribed(_ user: Int, _ index: Int, _ position: RelaySession.Position, _ recovered: Bool?) {
        epochs[2 * user + index] = position.epoch
        // A recovered subscription resumes from the replayed publications that follow.
        guard recovered != true else { return }
        if index == Self.conversationIndex {
            conversations.resume(user: user, at: position.offset)
        } else {
            availability.resume(subscriber: user, at: position.offset)
        }
    }

    private func positions(_ user: Int) -> [RelaySession.Position] {
        [RelaySession.Position(offset: conversations.offset(of: user), epoch: epochs[2 * user + Self.conversationIndex]),
         RelaySession.Position(offset: availability.offset(of: user), epoch: epochs[2 * user + Self.availabilityIndex])]
    }

    /// Back after a reconnection: the replies its old connection owed will not come, and what
    /// they would have answered goes again.
    private func reconnected(_ user: Int) {
        pending.forget(user: user)
        let channel = layout.channel(ofUser: swarm.plan.numbers.lowerBound + user)
        for message in outbox.unanswered(of: user) {
            stats.resent += 1
            send(.publish(channel: channel, message, key: ChatOutbox.key(message, run: run)), from: user)
        }
    }

    private func lost(_ user: Int) {
        availability.lost(subscriber: user)
        activity.stop(user: user)
        outbox.abandon(user)
        pending.forget(user: user)
    }

    // MARK: Drain

    private func checkDrain() {
        guard let drain else { return }
        let now = Clock.now()
        let availabilityIn = availability.complete >= drain.target || swarm.alive == 0
        if availabilityIn, outbox.unanswered == 0, now - max(conversations.lastArrival, drain.since) >= Self.quiet {
            return finishDrain()
        }
        loop.timers.schedule(drainCheck, after: 100_000_000, now: now)
    }

    private func finishDrain() {
        guard let drain else { return }
        self.drain = nil
        loop.timers.cancel(drainCheck)
        loop.timers.cancel(drainDeadline)
        var result = WorkerResult(swarm: swarm, ledger: availability)
        result.errors.add(errors)
        stats.messages.received = conversations.measured
        stats.messages.duplicates = conversations.duplicates
        stats.messages.latency = conversations.latency
        result.chat = stats
        drain.done(result)
    }
}
