import Broker
import RelayServer

/// The gateway's settings: authentication, namespaces and per-connection limits. Read from the
/// same file as the transport's; every key is documented in config/relay.yaml and docs/CONFIG.md.
public struct GatewayConfig: Sendable, Equatable {
    /// One verification key: a shared secret (HS*) or a public key file (RS*, PS256, ES*, EdDSA).
    public struct KeyConfig: Sendable, Equatable {
        public var kid: String?
        public var algorithms: [String]
        /// The secret itself (development only: prefer secret_file or secret_env in production).
        public var secret: String?
        public var secretFile: String?
        /// The name of an environment variable holding the secret.
        public var secretEnv: String?
        public var publicKeyFile: String?
    }

    public struct AuthConfig: Sendable, Equatable {
        public var keys: [KeyConfig] = []
        public var jwksFile: String?
        public var issuer: String?
        public var audience: String?
        public var leeway = 30.0
        public var maxTokenBytes = 8192
        /// Seconds a new connection has to authenticate; then it is closed with 4001.
        public var timeout = 10.0
        /// Accept `?token=` on the upgrade URL. Off by default: URLs end up in proxy logs.
        public var allowQueryToken = false
        /// How long before `exp` a connection is sent `token_expiring`.
        public var expiryWarning = 60.0
    }

    /// The admin listener: the server API, health and readiness. Off unless `enabled`.
    public struct AdminConfig: Sendable, Equatable {
        public var enabled = false
        public var host = "127.0.0.1"
        public var port = 8081
        public var apiKey: String?
        public var apiKeyEnv: String?
        public var apiKeyFile: String?
    }

    /// Where channels, history, presence and the inbox live.
    public struct EngineConfig: Sendable, Equatable {
        public enum Kind: String, Sendable { case memory, redis }
        public var kind = Kind.memory
        /// `redis://` or `unix://` (with credentials: prefer `redis_url_env`).
        public var redisURL: String?
        public var redisURLEnv: String?
        public var presenceTTL = 30.0
        public var linger = 2.0
        public var connectTimeout = 2.0
        public var replyTimeout = 5.0
        /// Redis Cluster: `redis_url` names one node (a seed), sharded pub/sub.
        public var cluster = false
        /// The bound of the API's events stream, `relay:events` (0: no stream).
        public var eventsMaxEntries = 100_000
    }

    /// Development aids served on the admin listener (config/relay.dev.yaml): never in production.
    public struct DevConfig: Sendable, Equatable {
        /// URL prefix (`/demo/`) → folder: static files, for the demo page and the JS client.
        public var staticFolders: [String: String] = [:]
        /// `GET /dev/token?user=...` signs an HS256 token for whoever asks.
        public var tokens = false
        public var tokenTTL = 3600.0

        public var isEnabled: Bool { tokens || !staticFolders.isEmpty }
    }

    public var auth = AuthConfig()
    public var engine = EngineConfig()
    public var admin = AdminConfig()
    public var dev = DevConfig()
    public var namespaces: [String: NamespacePolicy] = [:]
    public var maxSubscriptionsPerConnection = 100
    public var idempotencyWindow = 300.0
    public var maxHistoryPage = 100
    /// Commands a connection may send per second, and in a burst; typing has its own budget.
    public var commandRate = 20.0
    public var commandBurst = 50.0
    public var typingRate = 2.0
    public var typingBurst = 5.0
    /// Commands all of one user's connections on one loop may send per second, and in a burst.
    public var userCommandRate = 50.0
    public var userCommandBurst = 100.0
    /// Connections one user may hold at once (on every loop together).
    public var maxConnectionsPerUser = 50
    /// The in-memory engine's inbox: client publications waiting for the main API.
    public var inbox = InboxLimits()
    /// Refused commands in a row after which the connection is closed with 4008.
    public var rateLimitStrikes = 20
    /// The most users one `online` command may ask about.
    public var maxOnlineUsers = 100
    /// The most users one connection may watch.
    public var maxWatchedUsers = 1000
    /// The shortest time between two typing starts a connection sends to one channel.
    public var typingInterval = 2.0

    public init() {}

    public static func read(from reader: inout ConfigReader) throws -> GatewayConfig {
        var config = GatewayConfig()
        var auth = try reader.section("auth")
        config.auth.keys = try auth.sections("keys").map { entry in
            var entry = entry
            let key = KeyConfig(
                kid: try entry.optionalString("kid"),
                algorithms: try entry.strings("algorithms", default: []),
                secret: try entry.optionalString("secret"),
                secretFile: try entry.optionalString("secret_file"),
                secretEnv: try entry.optionalString("secret_env"),
                publicKeyFile: try entry.optionalString("public_key_file"))
            try entry.rejectUnknownKeys()
            let sources = [key.secret, key.secretFile, key.secretEnv, key.publicKeyFile].compactMap { $0 }
            guard sources.count == 1 else {
                throw ConfigError("\(entry.path): give exactly one of secret, secret_file, secret_env, public_key_file")
            }
            guard !key.algorithms.isEmpty else { throw ConfigError("\(entry.keyPath("algorithms")): list the algorithms this key verifies") }
            return key
        }
        config.auth.jwksFile = try auth.optionalString("jwks_file")
        config.auth.issuer = try auth.optionalString("issuer")
        config.auth.audience = try auth.optionalString("audience")
        config.auth.leeway = try auth.seconds("leeway", default: config.auth.leeway, range: 0...3600)
        config.auth.maxTokenBytes = try auth.int("max_token_bytes", default: config.auth.maxTokenBytes, range: 256...65536)
        config.auth.timeout = try auth.seconds("timeout", default: config.auth.timeout, range: 0.1...3600)
        config.auth.allowQueryToken = try auth.bool("allow_query_token", default: false)
        config.auth.expiryWarning = try auth.seconds("expiry_warning", default: config.auth.expiryWarning, range: 0...86_400)
        try auth.rejectUnknownKeys()

        var engine = try reader.section("engine")
        let kind = try engine.string("type", default: "memory")
        guard let engineKind = EngineConfig.Kind(rawValue: kind) else { throw ConfigError("\(engine.keyPath("type")): memory or redis") }
        config.engine.kind = engineKind
        config.engine.redisURL = try engine.optionalString("redis_url")
        config.engine.redisURLEnv = try engine.optionalString("redis_url_env")
        config.engine.presenceTTL = try engine.seconds("presence_ttl", default: config.engine.presenceTTL, range: 3...3600)
        config.engine.linger = try engine.seconds("linger", default: config.engine.linger, range: 0...600)
        config.engine.connectTimeout = try engine.seconds("connect_timeout", default: config.engine.connectTimeout, range: 0.1...60)
        config.engine.replyTimeout = try engine.seconds("reply_timeout", default: config.engine.replyTimeout, range: 0.1...60)
        config.engine.cluster = try engine.bool("cluster", default: false)
        config.engine.eventsMaxEntries = try engine.int("events_max_entries", default: config.engine.eventsMaxEntries, range: 0...100_000_000)
        try engine.rejectUnknownKeys()
        if engineKind == .redis, [config.engine.redisURL, config.engine.redisURLEnv].compactMap({ $0 }).count != 1 {
            throw ConfigError("engine: with type redis, give exactly one of redis_url, redis_url_env")
        }

        var admin = try reader.section("admin")
        config.admin.enabled = try admin.bool("enabled", default: false)
        config.admin.host = try admin.string("host", default: config.admin.host)
        config.admin.port = try admin.int("port", default: config.admin.port, range: 0...65535)
        config.admin.apiKey = try admin.optionalString("api_key")
        config.admin.apiKeyEnv = try admin.optionalString("api_key_env")
        config.admin.apiKeyFile = try admin.optionalString("api_key_file")
        try admin.rejectUnknownKeys()
        if config.admin.enabled, [config.admin.apiKey, config.admin.apiKeyEnv, config.admin.apiKeyFile].compactMap({ $0 }).count != 1 {
            throw ConfigError("admin: give exactly one of api_key, api_key_env, api_key_file")
        }

        var dev = try reader.section("dev")
        config.dev.tokens = try dev.bool("tokens", default: false)
        config.dev.tokenTTL = try dev.seconds("token_ttl", default: config.dev.tokenTTL, range: 10...86_400)
        var folders = try dev.section("static")
        for prefix in folders.keys {
            guard prefix.hasPrefix("/"), prefix.hasSuffix("/"), prefix.count > 1, !DevEndpoints.reservedPrefixes.contains(where: prefix.hasPrefix) else {
                throw ConfigError("\(folders.keyPath(prefix)): a URL prefix like /demo/ (starting and ending with /, not /api/ or /dev/)")
            }
            let folder = try folders.string(prefix, default: "")
            guard !folder.isEmpty else { throw ConfigError("\(folders.keyPath(prefix)): the folder to serve") }
            config.dev.staticFolders[prefix] = folder
        }
        try folders.rejectUnknownKeys()
        try dev.rejectUnknownKeys()
        if config.dev.isEnabled, !config.admin.enabled {
            throw ConfigError("dev: serves on the admin listener: enable admin")
        }

        var namespaces = try reader.section("namespaces")
        for name in namespaces.keys {
            var section = try namespaces.section(name)
            guard !name.isEmpty, !name.contains(":") else { throw ConfigError("\(section.path): a namespace name has no colon") }
            config.namespaces[name] = try NamespacePolicy.read(&section)
        }
        try namespaces.rejectUnknownKeys()

        var gateway = try reader.section("gateway")
        config.maxSubscriptionsPerConnection = try gateway.int("max_subscriptions", default: config.maxSubscriptionsPerConnection, range: 1...100_000)
        config.idempotencyWindow = try gateway.seconds("idempotency_window", default: config.idempotencyWindow, range: 0...86_400)
        config.maxHistoryPage = try gateway.int("max_history_page", default: config.maxHistoryPage, range: 1...10_000)
        var rates = try gateway.section("rate_limits")
        config.commandRate = try rates.seconds("commands_per_second", default: config.commandRate, range: 0.1...100_000)
        config.commandBurst = try rates.seconds("command_burst", default: config.commandBurst, range: 1...100_000)
        config.typingRate = try rates.seconds("typing_per_second", default: config.typingRate, range: 0.1...1000)
        config.typingBurst = try rates.seconds("typing_burst", default: config.typingBurst, range: 1...1000)
        config.userCommandRate = try rates.seconds("user_commands_per_second", default: config.userCommandRate, range: 0.1...100_000)
        config.userCommandBurst = try rates.seconds("user_command_burst", default: config.userCommandBurst, range: 1...100_000)
        config.rateLimitStrikes = try rates.int("strikes", default: config.rateLimitStrikes, range: 1...100_000)
        try rates.rejectUnknownKeys()
        config.maxOnlineUsers = try gateway.int("max_online_users", default: config.maxOnlineUsers, range: 1...10_000)
        config.maxWatchedUsers = try gateway.int("max_watched_users", default: config.maxWatchedUsers, range: 0...100_000)
        config.maxConnectionsPerUser = try gateway.int("max_connections_per_user", default: config.maxConnectionsPerUser, range: 1...1_000_000)
        var inbox = try gateway.section("inbox")
        config.inbox.maxEntries = try inbox.int("max_entries", default: config.inbox.maxEntries, range: 1...100_000_000)
        config.inbox.maxBytes = try inbox.int("max_bytes", default: config.inbox.maxBytes, range: 1024...(1 << 40))
        try inbox.rejectUnknownKeys()
        config.typingInterval = try gateway.seconds("typing_interval", default: config.typingInterval, range: 0...60)
        try gateway.rejectUnknownKeys()
        return config
    }
}
