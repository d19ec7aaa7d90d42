import Auth
import Broker
import CoreMetrics
import Foundation
import Logging
import Reactor
import Redis
import RedisEngine
import RelayServer

/// What every loop of the gateway shares, read-only: the config, the token verifier and the
/// engine. Each loop gets its own `GatewayLoop` from `makeLoop`.
public final class Gateway: Sendable {
    public let config: GatewayConfig
    /// The verifier every loop starts with; SIGHUP hands each loop a new one (`reload`).
    let verifier: JWTVerifier
    let engine: Engine
    /// The server API's key, from config (empty when the admin listener is off).
    let apiKey: [UInt8]
    /// The admin listener, bound before the loops start; loop 0 serves it.
    let adminFD: Int32?
    public let adminPort: Int?
    /// The development aids on the admin listener (config `dev`), nil when off.
    let dev: DevEndpoints?
    /// Where the loops' counters are folded to (the Prometheus factory in `relay serve`).
    let metricsFactory: MetricsFactory
    /// The Prometheus text for `/metrics`; nil: the admin listener answers 404 there.
    let renderMetrics: (@Sendable () -> [UInt8])?
    private let loopHandles = Locked<[LoopHandle]>([])
    /// The fan-out latency timer's label, for a backend that sets its histogram buckets.
    public static let fanOutMetric = GatewayMetrics.fanOutLabel

    public init(config: GatewayConfig, loops: Int, metrics: MetricsFactory = NOOPMetricsHandler.instance,
                renderMetrics: (@Sendable () -> [UInt8])? = nil) throws {
        self.config = config
        metricsFactory = metrics
        self.renderMetrics = renderMetrics
        if config.admin.enabled {
            let admin = config.admin
            let key = try Self.secret(GatewayConfig.KeyConfig(kid: nil, algorithms: [], secret: admin.apiKey, secretFile: admin.apiKeyFile,
                                                              secretEnv: admin.apiKeyEnv, publicKeyFile: nil), path: "admin")
            guard key.count >= 16 else { throw ConfigError("admin: the API key must have at least 16 characters") }
            apiKey = key
            do {
                let fd = try Listener.bind(host: admin.host, port: UInt16(admin.port), backlog: 128, count: 1)[0]
                adminFD = fd
                adminPort = Listener.localPort(of: fd)
            } catch {
                throw ConfigError("admin: cannot listen on \(admin.host):\(admin.port): \(error)")
            }
        } else {
            apiKey = []
            adminFD = nil
            adminPort = nil
        }
        verifier = try Self.verifier(config.auth)
        dev = config.dev.isEnabled ? try DevEndpoints(config: config.dev, auth: config.auth) : nil
        // The inbox is split evenly over the loops and a channel's entries live in one share: a
        // publication larger than a share could never be accepted.
        let share = config.inbox.maxBytes / max(1, loops)
        for (name, policy) in config.namespaces.sorted(by: { $0.key < $1.key }) where policy.inbox && policy.maxPublicationBytes > share {
            throw ConfigError("namespaces.\(name).max_publication_bytes: \(policy.maxPublicationBytes) is more than one loop's share of gateway.inbox.max_bytes (\(share) bytes over \(loops) loops)")
        }
        engine = try Self.engine(config, loops: loops)
    }

    private static func engine(_ config: GatewayConfig, loops: Int) throws -> Engine {
        switch config.engine.kind {
        case .memory:
            return MemoryEngine(loops: loops, encoder: Pushes(), inbox: config.inbox)
        case .redis:
            var url = config.engine.redisURL
            if let variable = config.engine.redisURLEnv {
                guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else {
                    throw ConfigError("engine.redis_url_env: the environment variable \(variable) is not set")
                }
                url = value
            }
            let endpoint: RedisEndpoint
            do {
                endpoint = try RedisEndpoint(url: url ?? "")
            } catch {
                // The message says what is wrong with the URL, never the URL (it may hold a password).
                throw ConfigError("engine: the Redis URL is not valid: \(error)")
            }
            var settings = RedisEngine.Settings(endpoint: endpoint)
            settings.presenceTTL = config.engine.presenceTTL
            settings.linger = config.engine.linger
            settings.inboxMaxEntries = config.inbox.maxEntries
            settings.eventsMaxEntries = config.engine.eventsMaxEntries
            settings.cluster = config.engine.cluster
            if settings.cluster {
                guard endpoint.database == 0, case .tcp = endpoint.address else {
                    throw ConfigError("engine: a Redis Cluster is reached over TCP and has only database 0")
                }
            }
            settings.connectTimeout = config.engine.connectTimeout
            settings.replyTimeout = config.engine.replyTimeout
            return RedisEngine(settings: settings, encoder: Pushes())
        }
    }

    /// What the startup log says about the development aids: they must never go unnoticed.
    public var devDescription: [String] {
        guard let adminPort, config.dev.isEnabled else { return [] }
        let base = "http://\(config.admin.host):\(adminPort)"
        var lines = config.dev.staticFolders.keys.sorted().map { "relay dev: \(config.dev.staticFolders[$0]!) at \(base)\($0)" }
        if config.dev.tokens { lines.append("relay dev: tokens for anyone at \(base)/dev/token?user=NAME (development only)") }
        return lines
    }

    /// What the startup log says about the engine (never the Redis password).
    public var engineDescription: String {
        guard let redis = engine as? RedisEngine else { return "memory" }
        return "redis\(redis.settings.cluster ? " cluster" : "") at \(redis.settings.endpoint.redacted)"
    }

    public func makeLoop(_ loop: EventLoop) throws -> GatewayLoop {
        let gatewayLoop = GatewayLoop(gateway: self, loop: loop, broker: engine.makeBroker(on: loop))
        if loop.index == 0, let adminFD {
            let api = AdminAPI(gateway: self, home: gatewayLoop)
            gatewayLoop.admin = try AdminServer(loop: loop, listenFD: adminFD) { head, body, respond in api.handle(head, body, respond) }
        }
        return gatewayLoop
    }

    /// Wires the loops' brokers together; call before the loops accept connections.
    public func activate(_ handles: [LoopHandle]) {
        loopHandles.withLock { $0 = handles }
        engine.activate(handles)
    }

    var handles: [LoopHandle] { loopHandles.withLock { $0 } }

    private static func verifier(_ auth: GatewayConfig.AuthConfig) throws -> JWTVerifier {
        JWTVerifier(keys: try keys(auth), options: .init(leeway: auth.leeway, issuer: auth.issuer, audience: auth.audience,
                                                         maxTokenBytes: auth.maxTokenBytes))
    }

    /// SIGHUP: reads the config file and the keys again (secret files and variables, PEM files,
    /// the JWKS file) and hands every loop the new gateway settings and verifier; connections
    /// stay. What cannot change while running (the transport's settings, the admin listener, the
    /// inbox size) keeps its value and the log says a restart is needed for it. A file that does
    /// not load, or a key that does not, changes nothing: the log says why (naming the key
    /// entry, never its material).
    public func reload(configPath: String, running server: ServerConfig, logger: Logger, transport: Server? = nil) {
        let fresh: RelayConfig
        let verifier: JWTVerifier
        do {
            fresh = try RelayConfig.load(path: configPath)
            verifier = try Self.verifier(fresh.gateway.auth)
        } catch {
            logger.error("SIGHUP: config not reloaded; the running settings and keys stay in use", metadata: ["error": "\(error)"])
            return
        }
        var next = fresh.gateway
        var ignored: [String] = []
        var freshTransport = fresh.server
        // Certificates and TLS settings reload; the TLS listener's address needs a restart.
        freshTransport.tls = server.tls
        if freshTransport != server { ignored.append("listen, tls.host, tls.port, loops, limits, timeouts, compression, log") }
        if next.admin != config.admin { ignored.append("admin"); next.admin = config.admin }
        if next.dev != config.dev { ignored.append("dev"); next.dev = config.dev }
        if next.inbox != config.inbox { ignored.append("gateway.inbox"); next.inbox = config.inbox }
        if next.engine != config.engine { ignored.append("engine"); next.engine = config.engine }
        let share = config.inbox.maxBytes / max(1, handles.count)
        if let (name, _) = next.namespaces.first(where: { $0.value.inbox && $0.value.maxPublicationBytes > share }) {
            logger.error("SIGHUP: config not reloaded: namespaces.\(name).max_publication_bytes is more than one loop's share of the inbox")
            return
        }
        if let transport {
            do {
                try transport.reloadTLS(fresh.server.tls)
            } catch {
                logger.error("SIGHUP: config not reloaded; the running settings, keys and certificates stay in use", metadata: ["error": "\(error)"])
                return
            }
        }
        let running = current, applied = next
        for handle in handles {
            handle.execute { loop in
                ((loop.context as? LoopServer)?.application as? GatewayLoop)?.apply(applied, verifier: verifier)
            }
        }
        current = applied
        var metadata: Logger.Metadata = ["changed": "\(Self.changes(from: running, to: next).joined(separator: ", "))", "keys": "\(verifier.keys.keys.count)"]
        if !ignored.isEmpty { metadata["needs_restart"] = "\(ignored.joined(separator: ", "))" }
        logger.notice("SIGHUP: config and keys reloaded", metadata: metadata)
    }

    /// The settings the loops run with now (loop 0's copy; reloads happen on loop 0).
    private var current: GatewayConfig {
        get { reloaded.withLock { $0 } ?? config }
        set { reloaded.withLock { $0 = newValue } }
    }
    private let reloaded = Locked<GatewayConfig?>(nil)

    /// What a reload changed, by config section and namespace (for the log: no values).
    static func changes(from old: GatewayConfig, to new: GatewayConfig) -> [String] {
        var changed: [String] = []
        if old.auth != new.auth { changed.append("auth") }
        for name in Set(old.namespaces.keys).union(new.namespaces.keys).sorted() where old.namespaces[name] != new.namespaces[name] {
            changed.append(old.namespaces[name] == nil ? "+namespaces.\(name)" : new.namespaces[name] == nil ? "-namespaces.\(name)" : "namespaces.\(name)")
        }
        var oldRest = old, newRest = new
        (oldRest.auth, oldRest.namespaces) = (new.auth, new.namespaces)
        (newRest.auth, newRest.namespaces) = (new.auth, new.namespaces)
        if oldRest != newRest { changed.append("gateway") }
        return changed.isEmpty ? ["nothing"] : changed
    }

    /// The verification keys of the config. Errors name the key's config entry and never show
    /// secret material.
    static func keys(_ auth: GatewayConfig.AuthConfig) throws -> KeySet {
        var keys: [VerificationKey] = []
        for (index, entry) in auth.keys.enumerated() {
            let path = "auth.keys[\(index)]"
            var algorithms = Set<JWTAlgorithm>()
            for name in entry.algorithms {
                guard let algorithm = JWTAlgorithm(rawValue: name) else {
                    throw ConfigError("\(path).algorithms: \(name) is not one of \(JWTAlgorithm.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                algorithms.insert(algorithm)
            }
            do {
                if let file = entry.publicKeyFile {
                    let pem = try String(contentsOfFile: file, encoding: .utf8)
                    keys.append(try VerificationKey(pem: pem, kid: entry.kid, algorithms: algorithms))
                } else {
                    keys.append(try VerificationKey(secret: try secret(entry, path: path), kid: entry.kid, algorithms: algorithms))
                }
            } catch let error as ConfigError {
                throw error
            } catch {
                throw ConfigError("\(path): \(error)")
            }
        }
        if let file = auth.jwksFile {
            do {
                keys += try KeySet.load(jwksFile: file).keys
            } catch {
                throw ConfigError("auth.jwks_file: \(error)")
            }
        }
        guard !keys.isEmpty else { throw ConfigError("auth: configure at least one key (auth.keys or auth.jwks_file)") }
        return KeySet(keys)
    }

    /// The secret of the first key that may verify HS256: what `relay token` signs development
    /// tokens with.
    public static func developmentSecret(_ auth: GatewayConfig.AuthConfig) throws -> [UInt8] {
        guard let index = auth.keys.firstIndex(where: { $0.algorithms.contains("HS256") && $0.publicKeyFile == nil }) else {
            throw ConfigError("auth.keys: no key with an HS256 secret to sign development tokens with")
        }
        return try secret(auth.keys[index], path: "auth.keys[\(index)]")
    }

    private static func secret(_ entry: GatewayConfig.KeyConfig, path: String) throws -> [UInt8] {
        if let secret = entry.secret { return Array(secret.utf8) }
        if let variable = entry.secretEnv {
            guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else {
                throw ConfigError("\(path).secret_env: the environment variable \(variable) is not set")
            }
            return Array(value.utf8)
        }
        let file = entry.secretFile!
        do {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            return Array(text.trimmingCharacters(in: .newlines).utf8)
        } catch {
            throw ConfigError("\(path).secret_file: cannot read \(file)")
        }
    }
}

/// The whole config file: the transport's sections and the gateway's.
public struct RelayConfig: Sendable {
    public var server: ServerConfig
    public var gateway: GatewayConfig

    public static func load(path: String) throws -> RelayConfig {
        var reader = try ServerConfig.document(path: path)
        let server = try ServerConfig.read(from: &reader)
        let gateway = try GatewayConfig.read(from: &reader)
        try reader.rejectUnknownKeys()
        return RelayConfig(server: server, gateway: gateway)
    }
}
