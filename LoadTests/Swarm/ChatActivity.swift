import Reactor

/// When each user of a chat worker acts, as in a tutoring chat: a message every so often, most
/// of them announced by a typing indicator shortly before, and now and then a look at who is in
/// the conversation (presence) and whether the peers are online. Each interval is drawn from
/// half to one and a half times its mean, and each user's first from zero to the mean, so users
/// neither act in step nor all wait a whole interval before their first message.
final class ChatActivity {
    enum Action { case typing, publish, presence, online }

    struct Pace {
        /// Mean intervals in nanoseconds; nil: never.
        var message: UInt64
        var presence: UInt64?
        var online: UInt64?
        /// The share of messages a typing indicator announces, and how long before them.
        var typingShare: Double
        var typingLead: UInt64
    }

    private unowned let loop: EventLoop
    private let pace: Pace
    private let act: (Int, Action) -> Void
    private var messageTimers: [LoopTimer] = []
    private var presenceTimers: [LoopTimer] = []
    private var onlineTimers: [LoopTimer] = []
    /// Whether a user's message timer fires next for the typing indicator before the message.
    private var typingNext: [Bool]
    private var until: UInt64 = 0

    init(loop: EventLoop, users: Int, pace: Pace, act: @escaping (Int, Action) -> Void) {
        self.loop = loop
        self.pace = pace
        self.act = act
        typingNext = Array(repeating: false, count: users)
        for user in 0..<users {
            messageTimers.append(LoopTimer { [unowned self] in message(user) })
            presenceTimers.append(LoopTimer { [unowned self] in query(user, .presence, presenceTimers, every: pace.presence) })
            onlineTimers.append(LoopTimer { [unowned self] in query(user, .online, onlineTimers, every: pace.online) })
        }
    }

    /// From now until `until`.
    func start(until: UInt64) {
        self.until = until
        let now = Clock.now()
        for user in typingNext.indices {
            scheduleMessage(user, after: Self.draw(pace.message, first: true), now: now)
            if let mean = pace.presence { loop.timers.schedule(presenceTimers[user], after: Self.draw(mean, first: true), now: now) }
            if let mean = pace.online { loop.timers.schedule(onlineTimers[user], after: Self.draw(mean, first: true), now: now) }
        }
    }

    /// The user is gone for good.
    func stop(user: Int) {
        for timers in [messageTimers, presenceTimers, onlineTimers] { loop.timers.cancel(timers[user]) }
    }

    func stop() {
        for user in typingNext.indices { stop(user: user) }
    }

    private func message(_ user: Int) {
        let now = Clock.now()
        guard now < until else { return }
        if typingNext[user] {
            typingNext[user] = false
            act(user, .typing)
            loop.timers.schedule(messageTimers[user], after: pace.typingLead, now: now)
            return
        }
        act(user, .publish)
        scheduleMessage(user, after: Self.draw(pace.message, first: false), now: now)
    }

    /// The next message in `delay`, its typing indicator first if it is announced and there is
    /// time for it.
    private func scheduleMessage(_ user: Int, after delay: UInt64, now: UInt64) {
        typingNext[user] = delay > pace.typingLead && Double.random(in: 0..<1) < pace.typingShare
        loop.timers.schedule(messageTimers[user], after: typingNext[user] ? delay - pace.typingLead : delay, now: now)
    }

    private func query(_ user: Int, _ action: Action, _ timers: [LoopTimer], every mean: UInt64?) {
        let now = Clock.now()
        guard now < until, let mean else { return }
        act(user, action)
        loop.timers.schedule(timers[user], after: Self.draw(mean, first: false), now: now)
    }

    private static func draw(_ mean: UInt64, first: Bool) -> UInt64 {
        UInt64(Double(mean) * (first ? Double.random(in: 0..<1) : Double.random(in: 0.5..<1.5)))
    }
}
