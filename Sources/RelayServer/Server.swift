import Glibc
import Logging
import Reactor
import TLS

/// Starts the transport: one listener and one LoopServer per loop, signals on loop 0. SIGINT or
/// SIGTERM drains (LoopServer.shutdown) and returns; a second one closes what is left with 1001
/// at once (when there is a drain window; otherwise it stops without waiting, as a third does).
public final class Server: Sendable {
    public let config: ServerConfig
    private let logger: Logger
    private let group: LoopGroup
    private let handles = Locked<[LoopHandle]>([])
    private let stopSignals = Locked(0)
    private let hangup = Locked<(@Sendable (Server) -> Void)?>(nil)
    /// The plain listener's port (nil without one) and the TLS listener's (nil without TLS):
    /// the real ones when 0 was asked for.
    public let port: Int?
    public let tlsPort: Int?
    /// The certificates the loops start with; released once they have it (each loop then holds
    /// its own reference, which reloads replace).
    private let startingTLSContext: Locked<TLSContext?>
    /// What the running certificates were made from (TLSContext.fingerprint).
    private let tlsFingerprint = Locked<[UInt8]>([])

    /// Binds the listeners and loads the certificates (so a taken port or a bad certificate fails
    /// here, before any thread starts).
    public init(config: ServerConfig, logger: Logger) throws {
        self.config = config
        self.logger = logger
        LoopGroup.prepareProcessSignals()
        let fileLimit = FileLimit.raiseToMaximum()
        if fileLimit < config.maxConnections + 64 {
            logger.warning("open-file limit is below listen.max_connections: connections past it will be refused",
                           metadata: ["limit": "\(fileLimit)", "max_connections": "\(config.maxConnections)"])
        }
        group = LoopGroup(count: config.effectiveLoops, logger: logger)
        if let tls = config.tls {
            let context = try TLSContext(tls)
            Self.log(context, logger: logger, event: "TLS certificates loaded")
            startingTLSContext = Locked(context)
            tlsFingerprint.withLock { $0 = (try? TLSContext.fingerprint(tls)) ?? [] }
            let fds = try Listener.bind(host: config.tlsHost, port: UInt16(config.tlsPort), backlog: Int32(config.backlog), count: group.count)
            tlsPort = Listener.localPort(of: fds[0])
            tlsListenFDs = fds
        } else {
            startingTLSContext = Locked(nil)
            tlsPort = nil
            tlsListenFDs = []
        }
        if config.plain {
            let fds = try Listener.bind(host: config.host, port: UInt16(config.port), backlog: Int32(config.backlog), count: group.count)
            port = Listener.localPort(of: fds[0])
            listenFDs = fds
        } else {
            port = nil
            listenFDs = []
        }
    }

    private let listenFDs: [Int32]
    private let tlsListenFDs: [Int32]

    private static func log(_ context: TLSContext, logger: Logger, event: Logger.Message) {
        logger.notice(event, metadata: ["certificates": "\(context.summary.joined(separator: "; "))"])
        for warning in context.warnings { logger.warning("\(warning)") }
    }

    /// Loads the certificates of `settings` again (a SIGHUP: renewed files) and hands them to
    /// every loop for new connections; open connections are not touched. A certificate that
    /// cannot be used throws, and the running ones stay in force.
    public func reloadTLS(_ settings: TLSSettings?) throws {
        guard tlsPort != nil else {
            if settings != nil { logger.warning("SIGHUP: tls was added to the config; a TLS listener needs a restart") }
            return
        }
        guard let settings else {
            logger.warning("SIGHUP: tls was removed from the config; the TLS listener stays until a restart")
            return
        }
        let fingerprint = try TLSContext.fingerprint(settings)
        if fingerprint == tlsFingerprint.withLock({ $0 }) {
            logger.notice("SIGHUP: TLS certificates and settings unchanged; sessions stay resumable")
            return
        }
        let context = try TLSContext(settings)
        tlsFingerprint.withLock { $0 = fingerprint }
        forEachLoopServer { $0.reloadTLS(context) }
        Self.log(context, logger: logger, event: "SIGHUP: TLS certificates reloaded")
    }

    /// Runs until a signal stops the server. `makeApplication` runs once on each loop;
    /// `beforeAccepting` runs once with every loop's handle, after every loop is set up and before
    /// any of them accepts a connection (tasks it queues on a loop run before the first accept).
    /// `ready` runs once every loop accepts connections (scripts and tests wait for what it prints).
    /// `onHangup` runs on loop 0 at each SIGHUP (reload what can be reloaded, `reloadTLS` included).
    public func run(makeApplication: @escaping @Sendable (EventLoop) throws -> WebSocketApplication,
                    beforeAccepting: ([LoopHandle]) -> Void = { _ in }, onHangup: (@Sendable (Server) -> Void)? = nil,
                    ready: () -> Void = {}) throws {
        hangup.withLock { $0 = onHangup }
        let fds = listenFDs, tlsFDs = tlsListenFDs, tlsContext = startingTLSContext.withLock({ $0 }), config = self.config
        let started = try group.start { [self] loop in
            let server = try LoopServer(loop: loop, config: config, listenFD: fds.isEmpty ? nil : fds[loop.index],
                                        tlsListenFD: tlsFDs.isEmpty ? nil : tlsFDs[loop.index], tlsContext: tlsContext,
                                        application: makeApplication(loop))
            loop.context = server
            if loop.index == 0 {
                server.signalWatcher = try SignalWatcher(loop: loop) { [self] signal in self.received(signal) }
            }
        }
        handles.withLock { $0 = started }
        startingTLSContext.withLock { $0 = nil }
        beforeAccepting(started)
        let accepting = Locked(0)
        for handle in started {
            handle.execute { [logger] loop in
                do {
                    try (loop.context as? LoopServer)?.startAccepting()
                } catch {
                    logger.critical("cannot accept connections", metadata: ["loop": "\(loop.index)", "error": "\(error)"])
                }
                accepting.withLock { $0 += 1 }
            }
        }
        while accepting.withLock({ $0 }) < started.count, stopSignals.withLock({ $0 }) == 0 { usleep(1000) }
        ready()
        // A stop signal that loop 0 handled before the handles were stored here found nothing to
        // shut down: honour it now. (A second shutdown() is harmless: LoopServer ignores it.)
        if stopSignals.withLock({ $0 }) > 0 { shutdown() }
        group.waitUntilStopped()
    }

    private func received(_ signal: SignalWatcher.Signal) {
        switch signal {
        case .hangup:
            guard let reload = hangup.withLock({ $0 }) else { return logger.notice("SIGHUP: nothing to reload") }
            reload(self)
        case .interrupt, .terminate:
            let count = stopSignals.withLock { value -> Int in
                value += 1
                return value
            }
            switch count {
            case 1:
                logger.notice("stop signal: draining", metadata: ["window_s": "\(config.drainTimeout)"])
                shutdown()
            case 2 where config.drainTimeout > 0:
                logger.notice("second stop signal: closing what is left with 1001")
                forEachLoopServer { $0.hurry() }
            default:
                logger.notice("stop signal again: stopping now")
                group.stopAll()
            }
        }
    }

    /// Graceful stop from any thread: every loop drains its connections; the loops stop together
    /// once the last one has drained, since a loop that stopped early would leave the others'
    /// cross-loop work (channels and users it owns, loop 0's signals and admin API) unanswered.
    public func shutdown() {
        let all = handles.withLock { $0 }
        let draining = Locked(all.count)
        for handle in all {
            handle.execute { loop in
                let drained: @Sendable () -> Void = {
                    let left = draining.withLock { value -> Int in
                        value -= 1
                        return value
                    }
                    if left == 0 { for each in all { each.stop() } }
                }
                guard let server = loop.context as? LoopServer else { return drained() }
                server.shutdown(completion: drained)
            }
        }
    }

    private func forEachLoopServer(_ work: @escaping @Sendable (LoopServer) -> Void) {
        for handle in handles.withLock({ $0 }) {
            handle.execute { loop in (loop.context as? LoopServer).map(work) }
        }
    }
}
