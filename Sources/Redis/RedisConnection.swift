import Buffers
import CSystem
import Glibc
import Logging
import Reactor

/// Why a command got no reply from Redis.
public enum RedisError: Error, Equatable, Sendable {
    /// Not connected (or the connection broke before the reply came): retry later.
    case unavailable
    /// Redis answered with an error reply.
    case server(String)
}

/// One connection to Redis, owned by one loop, on that loop's epoll. Commands are pipelined:
/// written as they come (coalesced per turn) and answered in order. In subscriber mode every
/// reply goes to `onPush` instead (pub/sub messages and subscription confirmations).
///
/// It reconnects by itself with exponential backoff and jitter. While it is not connected,
/// commands fail at once with `.unavailable`: nothing waits without bound for a Redis that is
/// away. A Redis that answers slowly never blocks the loop: a reply pending longer than
/// `replyTimeout` counts as a broken connection, which is closed and reopened.
public final class RedisConnection: EventHandler, Flushable {
    public enum Mode { case commands, subscriber }

    public struct Settings: Sendable {
        public var connectTimeout = 2.0
        public var replyTimeout = 5.0
        public var minBackoff = 0.05
        public var maxBackoff = 5.0
        /// Commands waiting for their reply at most; more fail with `.unavailable`.
        public var maxPending = 100_000

        public init() {}
    }

    private enum State { case idle, connecting, handshaking, ready, waiting, closed }

    public let endpoint: RedisEndpoint
    public let mode: Mode
    public let settings: Settings
    unowned let loop: EventLoop
    private let logger: Logger
    private let name: String
    private var state = State.idle
    private var fd: Int32 = -1
    /// Per socket: what one connection left half-read must not be read as the next one's reply.
    private var reader = RESPReader()
    private let output = ByteBuffer(capacity: 4096)
    private var flushScheduled = false
    private var writeInterest = false
    /// Completions of the commands written, in order; the handshake's come first.
    private var pending: [(sentAt: UInt64, completion: ((Result<RESPValue, RedisError>) -> Void)?)] = []
    private var pendingHead = 0
    private var handshakeReplies = 0
    private var attempts = 0
    /// Subscriber mode: when bytes last came, and when the last keepalive PING went out.
    private var lastReceived: UInt64 = 0
    private var pingSentAt: UInt64 = 0
    private lazy var timer: LoopTimer = LoopTimer { [unowned self] in self.timerFired() }

    /// Subscriber mode: every reply (message, smessage, subscribe, ...).
    public var onPush: ((RESPValue) -> Void)?
    /// Called with true once connected and logged in (re-subscribe then), false when lost.
    public var onStateChange: ((Bool) -> Void)?

    public init(endpoint: RedisEndpoint, mode: Mode, loop: EventLoop, name: String, settings: Settings = Settings()) {
        self.endpoint = endpoint
        self.mode = mode
        self.loop = loop
        self.name = name
        self.settings = settings
        var logger = loop.logger
        logger[metadataKey: "redis"] = "\(name)"
        self.logger = logger
    }

    public var isReady: Bool { state == .ready }

    /// Starts connecting (and keeps reconnecting until `close`).
    public func start() {
        guard state == .idle else { return }
        connect()
    }

    /// Stops for good: pending commands fail.
    public func close() {
        guard state != .closed else { return }
        state = .closed
        loop.timers.cancel(timer)
        fail(teardown())
    }

    /// Sends a command; the completion runs on the loop with the reply (an error reply is
    /// `.server`). Subscriber mode ignores the completion: replies go to `onPush`.
    public func send(_ arguments: [[UInt8]], completion: ((Result<RESPValue, RedisError>) -> Void)? = nil) {
        guard state == .ready, fd >= 0, pending.count - pendingHead < settings.maxPending else {
            completion?(.failure(.unavailable))
            return
        }
        write(arguments, completion: mode == .commands ? completion : nil)
    }

    public func send(_ arguments: [String], completion: ((Result<RESPValue, RedisError>) -> Void)? = nil) {
        send(arguments.map { Array($0.utf8) }, completion: completion)
    }

    private func write(_ arguments: [[UInt8]], completion: ((Result<RESPValue, RedisError>) -> Void)?) {
        output.write(RESPCommand.encode(arguments))
        if mode == .commands || state == .handshaking { pending.append((loop.now, completion)) }
        if !flushScheduled {
            flushScheduled = true
            loop.scheduleFlush(self)
        }
    }

    // MARK: Connecting

    private func connect() {
        state = .connecting
        let result: Int32
        switch endpoint.address {
        case .tcp(let host, let port): result = csystem_connect_tcp(host, UInt16(port))
        case .unix(let path): result = csystem_connect_unix(path)
        }
        guard result >= 0 else {
            logger.warning("cannot connect to Redis", metadata: ["endpoint": "\(endpoint.redacted)", "error": "\(SystemError("connect", errno: -result))"])
            return retryLater()
        }
        fd = result
        do {
            try loop.register(fd: fd, handler: self, events: UInt32(EPOLLOUT.rawValue) | UInt32(EPOLLIN.rawValue))
        } catch {
            logger.error("cannot register the Redis socket", metadata: ["error": "\(error)"])
            Glibc.close(fd)
            fd = -1
            return retryLater()
        }
        writeInterest = true
        arm(after: settings.connectTimeout)
    }

    /// Connected: log in and pick the database before anything else goes out.
    private func connected() {
        state = .handshaking
        handshakeReplies = 0
        output.clear()
        pending.removeAll()
        pendingHead = 0
        if let password = endpoint.password {
            var auth = [Array("AUTH".utf8)]
            if let user = endpoint.user { auth.append(Array(user.utf8)) }
            auth.append(Array(password.utf8))
            write(auth, completion: nil)
            handshakeReplies += 1
        }
        if endpoint.database != 0 {
            write([Array("SELECT".utf8), Array(String(endpoint.database).utf8)], completion: nil)
            handshakeReplies += 1
        }
        // A PING proves the server answers (and that AUTH was not needed when none was given).
        write([Array("PING".utf8)], completion: nil)
        handshakeReplies += 1
        updateInterest()
        arm(after: settings.replyTimeout)
    }

    private func handshakeReply(_ value: RESPValue) {
        if case .error(let message) = value {
            // The message names what failed (NOAUTH, WRONGPASS, invalid DB index) and never the password.
            logger.error("Redis refused the connection set-up", metadata: ["endpoint": "\(endpoint.redacted)", "reply": "\(message)"])
            return broken()
        }
        handshakeReplies -= 1
        guard handshakeReplies == 0 else { return }
        pending.removeAll(keepingCapacity: true)
        pendingHead = 0
        state = .ready
        attempts = 0
        lastReceived = loop.now
        pingSentAt = 0
        logger.info("connected to Redis", metadata: ["endpoint": "\(endpoint.redacted)"])
        arm(after: settings.replyTimeout)
        onStateChange?(true)
    }

    private func retryLater() {
        state = .waiting
        attempts += 1
        let base = min(settings.maxBackoff, settings.minBackoff * Double(1 << min(attempts, 20)))
        // Full jitter between half and all of the delay: replicas that lost Redis together do
        // not come back together.
        arm(after: base * Double.random(in: 0.5...1.0))
    }

    private func broken() {
        guard state != .closed, state != .waiting else { return }
        let wasReady = state == .ready
        // The state changes before any completion runs: one that sends again must be refused,
        // not written into a socket that is gone.
        retryLater()
        let failed = teardown()
        if wasReady {
            logger.warning("lost the connection to Redis; reconnecting", metadata: ["endpoint": "\(endpoint.redacted)"])
            onStateChange?(false)
        }
        fail(failed)
    }

    /// Closes the socket; returns the completions of the commands that got no reply.
    private func teardown() -> [(Result<RESPValue, RedisError>) -> Void] {
        if fd >= 0 {
            loop.unregister(fd: fd)
            Glibc.close(fd)
            fd = -1
        }
        output.clear()
        reader = RESPReader()
        writeInterest = false
        let failed = pending[pendingHead...].compactMap(\.completion)
        pending.removeAll()
        pendingHead = 0
        return failed
    }

    private func fail(_ completions: [(Result<RESPValue, RedisError>) -> Void]) {
        for completion in completions { completion(.failure(.unavailable)) }
    }

    // MARK: Events

    public func handleEvents(_ events: UInt32) {
        if state == .connecting {
            let error = csystem_socket_error(fd)
            guard error == 0 else {
                logger.warning("cannot connect to Redis", metadata: ["endpoint": "\(endpoint.redacted)", "error": "\(SystemError("connect", errno: error))"])
                return broken()
            }
            connected()
        }
        if events & UInt32(EPOLLOUT.rawValue) != 0 { flush() }
        if events & UInt32(EPOLLIN.rawValue) != 0 {
            readReplies()
        } else if events & (UInt32(EPOLLERR.rawValue) | UInt32(EPOLLHUP.rawValue)) != 0 {
            broken()
        }
    }

    private func readReplies() {
        let buffer = loop.readBuffer
        while fd >= 0 {
            let count = read(fd, buffer.baseAddress, buffer.count)
            if count == 0 { return broken() }
            if count < 0 {
                let error = csystem_errno()
                if error == EINTR { continue }
                if error == EAGAIN || error == EWOULDBLOCK { return }
                return broken()
            }
            lastReceived = loop.now
            do {
                try reader.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                while let value = try reader.next() {
                    deliver(value)
                    if fd < 0 { return }
                }
            } catch {
                logger.error("unreadable reply from Redis", metadata: ["error": "\(error)"])
                return broken()
            }
            if count < buffer.count { return }
        }
    }

    private func deliver(_ value: RESPValue) {
        if state == .handshaking {
            pendingHead += 1
            return handshakeReply(value)
        }
        if mode == .subscriber {
            // The keepalive's answer (["pong", ""] once subscribed, +PONG before) is ours.
            if value.array?.first?.string == "pong" || value == .simple("PONG") { return }
            onPush?(value)
            return
        }
        guard pendingHead < pending.count else {
            logger.error("a reply from Redis that no command asked for")
            return broken()
        }
        let completion = pending[pendingHead].completion
        pending[pendingHead].completion = nil
        pendingHead += 1
        if pendingHead == pending.count {
            pending.removeAll(keepingCapacity: true)
            pendingHead = 0
        } else if pendingHead > 1024, pendingHead * 2 > pending.count {
            pending.removeFirst(pendingHead)
            pendingHead = 0
        }
        if case .error(let message) = value {
            completion?(.failure(.server(message)))
        } else {
            completion?(.success(value))
        }
    }

    public func flush() {
        flushScheduled = false
        guard fd >= 0, state == .ready || state == .handshaking else { return }
        while !output.isEmpty {
            let view = output.readableView
            let written = Glibc.write(fd, view.baseAddress, view.count)
            if written > 0 {
                output.consume(written)
                continue
            }
            let error = csystem_errno()
            if written < 0, error == EINTR { continue }
            if written < 0, error == EAGAIN || error == EWOULDBLOCK { break }
            return broken()
        }
        updateInterest()
    }

    private func updateInterest() {
        guard fd >= 0 else { return }
        let wantWrite = !output.isEmpty
        guard wantWrite != writeInterest else { return }
        writeInterest = wantWrite
        loop.modify(fd: fd, events: UInt32(EPOLLIN.rawValue) | (wantWrite ? UInt32(EPOLLOUT.rawValue) : 0))
    }

    // MARK: Timer

    private func arm(after seconds: Double) {
        loop.timers.schedule(timer, after: Clock.nanoseconds(seconds: seconds), now: loop.now)
    }

    /// One timer per connection: the connect timeout, the reply timeout check, the backoff.
    private func timerFired() {
        switch state {
        case .connecting:
            logger.warning("connecting to Redis timed out", metadata: ["endpoint": "\(endpoint.redacted)"])
            broken()
        case .handshaking:
            logger.warning("Redis did not answer the connection set-up in time", metadata: ["endpoint": "\(endpoint.redacted)"])
            broken()
        case .ready:
            let timeout = Clock.nanoseconds(seconds: settings.replyTimeout)
            if pendingHead < pending.count, loop.now &- pending[pendingHead].sentAt > timeout {
                logger.warning("Redis did not answer in time; reconnecting", metadata: ["waiting": "\(pending.count - pendingHead)"])
                return broken()
            }
            if mode == .subscriber {
                // Nothing is pending on a subscriber: a PING when it has been quiet tells a dead
                // Redis (or a half-open connection) from a quiet channel.
                if pingSentAt > lastReceived, loop.now &- pingSentAt > timeout {
                    logger.warning("Redis did not answer a keepalive PING; reconnecting")
                    return broken()
                }
                if pingSentAt <= lastReceived, loop.now &- lastReceived > timeout / 2 {
                    pingSentAt = loop.now
                    write([Array("PING".utf8)], completion: nil)
                }
            }
            arm(after: settings.replyTimeout / 2)
        case .waiting:
            connect()
        case .idle, .closed:
            break
        }
    }
}
