import Glibc
import Logging
import Reactor
import TLS
import WebSocket

/// The server's share of one loop: its listener, its connections, the application instance and
/// the settings every connection of the loop reads.
public final class LoopServer {
    public let loop: EventLoop
    public let config: ServerConfig
    public let application: WebSocketApplication
    let registry = ConnectionRegistry()
    let readerConfiguration: FrameReader.Configuration
    /// For connections that agreed on permessage-deflate: RSV1 marks a compressed message.
    let compressedReaderConfiguration: FrameReader.Configuration
    /// permessage-deflate's per-loop state; nil when `compression.enabled` is false.
    let compression: LoopCompression?
    let parserLimits: HTTPRequestParser.Limits
    let maxConnections: Int
    let handshakeTimeout: UInt64
    let pingInterval: UInt64
    let pongTimeout: UInt64
    let closeTimeout: UInt64
    /// Past this much queued output a connection is closed as a slow consumer (Connection.checkOutputBound).
    let maxQueuedOutput: Int
    private var listeners: [Listener] = []
    private let listenFD: Int32?
    private let tlsListenFD: Int32?
    /// The certificates new TLS connections get; a SIGHUP replaces it (`reloadTLS`), open
    /// connections keep the one they started with.
    private(set) var tlsContext: TLSContext?
    /// Loop 0 watches the process's signals.
    var signalWatcher: SignalWatcher?
    private var nextConnectionNumber: UInt64 = 0
    public internal(set) var stats = TransportStats()
    private var draining = false
    private var onDrained: (() -> Void)?

    public init(loop: EventLoop, config: ServerConfig, listenFD: Int32?, tlsListenFD: Int32? = nil, tlsContext: TLSContext? = nil,
                application: WebSocketApplication) throws {
        self.loop = loop
        self.config = config
        self.application = application
        readerConfiguration = .init(maxFrameSize: config.maxFrameSize, maxMessageSize: config.maxMessageSize, requireMasked: true)
        // A message that does not compress comes out of deflate slightly larger: the wire limits
        // leave room for that, and the inflated size is held to max_message_size itself.
        compressedReaderConfiguration = .init(maxFrameSize: MessageDeflater.worstCaseSize(config.maxFrameSize),
                                              maxMessageSize: MessageDeflater.worstCaseSize(config.maxMessageSize),
                                              requireMasked: true, allowedReservedBits: 0x40)
        compression = config.compression.map { LoopCompression(settings: $0, minimumSize: config.compressionMinimumSize) }
        parserLimits = .init(maxHeadBytes: config.maxHandshakeBytes, maxHeaderCount: config.maxHeaderCount)
        maxConnections = (config.maxConnections + config.effectiveLoops - 1) / config.effectiveLoops
        handshakeTimeout = Clock.nanoseconds(seconds: config.handshakeTimeout)
        pingInterval = Clock.nanoseconds(seconds: config.pingInterval)
        pongTimeout = Clock.nanoseconds(seconds: config.pongTimeout)
        closeTimeout = Clock.nanoseconds(seconds: config.closeTimeout)
        maxQueuedOutput = 2 * config.maxOutboundBytes + loop.readBuffer.count
        self.listenFD = listenFD
        self.tlsListenFD = tlsListenFD
        self.tlsContext = tlsContext
    }

    /// Starts accepting connections; until then the kernel queues them in the backlog.
    public func startAccepting() throws {
        guard !draining, listeners.isEmpty else { return }
        if let listenFD {
            listeners.append(try Listener(fd: listenFD, loop: loop) { [unowned self] fd in self.accept(fd, tls: false) })
        }
        if let tlsListenFD {
            listeners.append(try Listener(fd: tlsListenFD, loop: loop) { [unowned self] fd in self.accept(fd, tls: true) })
        }
    }

    /// New TLS connections use `context` from now on.
    public func reloadTLS(_ context: TLSContext) { tlsContext = context }

    public var connectionCount: Int { registry.count }

    private func accept(_ fd: Int32, tls: Bool) {
        nextConnectionNumber += 1
        let id = UInt64(loop.index) << 48 | nextConnectionNumber
        var session: TLSSession?
        if tls {
            session = tlsContext?.makeSession(fd: fd)
            if session == nil {
                loop.logger.error("cannot create a TLS session", metadata: ["conn": "\(id)"])
                Glibc.close(fd)
                return
            }
        }
        let connection = Connection(fd: fd, id: id, server: self, tls: session)
        registry.insert(connection)
        do {
            try connection.start(overLimit: registry.count > maxConnections)
        } catch {
            loop.logger.error("cannot register connection", metadata: ["conn": "\(id)", "error": "\(error)"])
            connection.abort()
        }
    }

    func connectionFinished(_ connection: Connection) {
        registry.remove(connection)
        if draining, registry.count == 0 { finishDrain() }
    }

    /// Stops accepting and closes every connection with 1001 (going away): at once without a
    /// drain window, else each at a random moment within `timeouts.drain`, told beforehand
    /// through the application. Calls `completion` on this loop once they are all gone, or when
    /// the window and the close timeout have passed.
    public func shutdown(completion: @escaping () -> Void) {
        guard !draining else { return }
        draining = true
        onDrained = completion
        listeners.forEach { $0.close() }
        listeners = []
        let window = Clock.nanoseconds(seconds: config.drainTimeout)
        if window > 0 { application.drainStarted(window: config.drainTimeout) }
        for connection in registry.connections {
            if window > 0 {
                connection.drain(after: UInt64.random(in: 0..<window))
            } else {
                connection.goAway()
            }
        }
        if registry.count == 0 { finishDrain(); return }
        armDeadline(after: window + closeTimeout + 100_000_000)
    }

    /// A second stop signal during a drain: what is left is closed now.
    public func hurry() {
        guard draining else { return }
        for connection in registry.connections { connection.goAway() }
        if registry.count == 0 { return finishDrain() }
        armDeadline(after: closeTimeout + 100_000_000)
    }

    private func armDeadline(after delay: UInt64) {
        if let timer = shutdownTimer { loop.timers.cancel(timer) }
        let deadline = LoopTimer { [unowned self] in
            for connection in self.registry.connections { connection.abort() }
            self.finishDrain()
        }
        loop.timers.schedule(deadline, after: delay, now: loop.now)
        shutdownTimer = deadline
    }

    private var shutdownTimer: LoopTimer?

    private func finishDrain() {
        if let timer = shutdownTimer { loop.timers.cancel(timer) }
        shutdownTimer = nil
        let completion = onDrained
        onDrained = nil
        completion?()
    }
}
