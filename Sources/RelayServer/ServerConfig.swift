import Foundation
import TLS
import WebSocket
import Yams

/// Transport settings: where Relay listens and how it bounds every connection. Every field is
/// documented, with its default, in config/relay.yaml and docs/CONFIG.md.
public struct ServerConfig: Sendable, Equatable {
    public var host = "0.0.0.0"
    public var port = 8080
    public var backlog = 1024
    /// Event loops (threads); 0 means one per core.
    public var loops = 0
    /// The path that upgrades to WebSocket.
    public var webSocketPath = "/ws"
    /// A plain GET here answers 200 "ok".
    public var healthPath = "/health"
    /// Allowed browser origins; empty allows any (the echo server, tests). `*` allows any too.
    public var allowedOrigins: [String] = []
    public var maxConnections = 100_000
    /// The plain (ws://) listener on `host`:`port`; false when only the TLS listener serves.
    public var plain = true
    /// The TLS (wss://) listener: on when `tls` has certificates.
    public var tls: TLSSettings?
    public var tlsHost = "0.0.0.0"
    public var tlsPort = 8443
    /// permessage-deflate (RFC 7692) as Relay allows it; nil: not offered to clients.
    public var compression: DeflateSettings? = DeflateSettings()
    /// Data messages shorter than this are sent uncompressed.
    public var compressionMinimumSize = 256

    public var maxHandshakeBytes = 8192
    public var maxHeaderCount = 100
    public var maxFrameSize = 65_536
    public var maxMessageSize = 65_536
    /// Per-connection output not yet taken by the socket. Above it the connection stops being
    /// read (its peer gets TCP backpressure) until half of it has drained.
    public var maxOutboundBytes = 1 << 20

    public var handshakeTimeout = 10.0
    public var pingInterval = 25.0
    public var pongTimeout = 10.0
    public var closeTimeout = 5.0
    /// At SIGTERM, connections are closed at random moments spread over this window (each told
    /// when, by the application), so that clients do not all reconnect in the same second.
    public var drainTimeout = 10.0

    public var logLevel = "info"
    /// `json`: one JSON object per line (for log pipelines); `text`: swift-log's plain lines.
    public var logFormat = "json"

    public init() {}

    public var effectiveLoops: Int { loops > 0 ? loops : max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Reads a YAML (or JSON, a subset of YAML) file; missing keys keep their defaults, unknown
    /// keys and wrong values are errors that name the key.
    public static func load(path: String) throws -> ServerConfig {
        var reader = try document(path: path)
        let config = try read(from: &reader)
        try reader.rejectUnknownKeys()
        return config
    }

    public static func document(path: String) throws -> ConfigReader {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError("\(path): cannot read the file (\(error.localizedDescription))")
        }
        return try document(yaml: text, source: path)
    }

    public static func parse(yaml text: String, source: String = "config") throws -> ServerConfig {
        var reader = try document(yaml: text, source: source)
        let config = try read(from: &reader)
        try reader.rejectUnknownKeys()
        return config
    }

    /// Parses a YAML (or JSON) document into the reader its sections are read from.
    public static func document(yaml text: String, source: String,
                                environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ConfigReader {
        let document: Any?
        do {
            document = try Yams.load(yaml: text)
        } catch {
            throw ConfigError("\(source): not valid YAML: \(error)")
        }
        guard let root = (document ?? [String: Any]()) as? [String: Any] else {
            throw ConfigError("\(source): the top level must be a mapping")
        }
        return ConfigReader(path: "", values: root, environment: environment.filter { $0.key.hasPrefix("RELAY_") })
    }

    /// Reads the transport's sections (listen, loops, limits, timeouts, log); the caller checks
    /// for unknown keys once every part of the config has read its own.
    public static func read(from reader: inout ConfigReader) throws -> ServerConfig {
        var config = ServerConfig()

        var listen = try reader.section("listen")
        config.host = try listen.string("host", default: config.host)
        config.port = try listen.int("port", default: config.port, range: 0...65535)
        config.backlog = try listen.int("backlog", default: config.backlog, range: 1...65535)
        config.webSocketPath = try listen.string("path", default: config.webSocketPath)
        config.healthPath = try listen.string("health_path", default: config.healthPath)
        config.allowedOrigins = try listen.strings("allowed_origins", default: config.allowedOrigins)
        config.maxConnections = try listen.int("max_connections", default: config.maxConnections, range: 1...10_000_000)
        config.plain = try listen.bool("plain", default: config.plain)
        try listen.rejectUnknownKeys()

        var tls = try reader.section("tls")
        config.tlsHost = try tls.string("host", default: config.host)
        config.tlsPort = try tls.int("port", default: config.tlsPort, range: 0...65535)
        let certificates = try tls.sections("certificates").map { entry in
            var entry = entry
            let certificate = TLSSettings.Certificate(certificateFile: try entry.string("cert_file", default: ""),
                                                      keyFile: try entry.string("key_file", default: ""))
            guard !certificate.certificateFile.isEmpty, !certificate.keyFile.isEmpty else {
                throw ConfigError("\(entry.path): cert_file and key_file are both needed")
            }
            try entry.rejectUnknownKeys()
            return certificate
        }
        var settings = TLSSettings(certificates: certificates)
        let version = try tls.string("min_version", default: settings.minimumVersion.rawValue)
        guard let minimum = TLSSettings.ProtocolVersion(rawValue: version) else {
            throw ConfigError("\(tls.keyPath("min_version")): \(version) is not one of 1.2, 1.3")
        }
        settings.minimumVersion = minimum
        settings.ciphers = try tls.string("ciphers", default: settings.ciphers)
        settings.ciphersuites = try tls.string("ciphersuites", default: settings.ciphersuites)
        settings.sessionTimeout = try tls.int("session_timeout", default: settings.sessionTimeout, range: 0...604_800)
        // OpenSSL reads a cache size of 0 as "no limit": not offered.
        settings.sessionCacheSize = try tls.int("session_cache_size", default: settings.sessionCacheSize, range: 1...10_000_000)
        try tls.rejectUnknownKeys()
        config.tls = certificates.isEmpty ? nil : settings
        guard config.plain || config.tls != nil else {
            throw ConfigError("listen.plain is false and tls has no certificates: there would be nothing to listen on")
        }

        config.loops = try reader.int("loops", default: config.loops, range: 0...1024)

        var limits = try reader.section("limits")
        config.maxHandshakeBytes = try limits.int("max_handshake_bytes", default: config.maxHandshakeBytes, range: 1024...65536)
        config.maxHeaderCount = try limits.int("max_headers", default: config.maxHeaderCount, range: 8...1000)
        config.maxFrameSize = try limits.int("max_frame_size", default: config.maxFrameSize, range: 125...(1 << 30))
        config.maxMessageSize = try limits.int("max_message_size", default: config.maxMessageSize, range: 125...(1 << 30))
        config.maxOutboundBytes = try limits.int("max_outbound_bytes", default: config.maxOutboundBytes, range: 4096...(1 << 30))
        try limits.rejectUnknownKeys()

        var timeouts = try reader.section("timeouts")
        config.handshakeTimeout = try timeouts.seconds("handshake", default: config.handshakeTimeout, range: 0.1...3600)
        config.pingInterval = try timeouts.seconds("ping_interval", default: config.pingInterval, range: 0.1...3600)
        config.pongTimeout = try timeouts.seconds("pong_timeout", default: config.pongTimeout, range: 0.1...3600)
        config.closeTimeout = try timeouts.seconds("close", default: config.closeTimeout, range: 0.1...3600)
        // Keepalive pauses while a connection waits for its drain moment: keep the window short.
        config.drainTimeout = try timeouts.seconds("drain", default: config.drainTimeout, range: 0...300)
        try timeouts.rejectUnknownKeys()

        var compression = try reader.section("compression")
        let defaults = DeflateSettings()
        let enabled = try compression.bool("enabled", default: true)
        config.compressionMinimumSize = try compression.int("min_size", default: config.compressionMinimumSize, range: 0...(1 << 30))
        let deflate = DeflateSettings(
            compressionLevel: try compression.int("level", default: defaults.compressionLevel, range: DeflateSettings.compressionLevelRange),
            serverMaxWindowBits: try compression.int("window_bits", default: defaults.serverMaxWindowBits, range: DeflateSettings.windowBitsRange),
            memLevel: try compression.int("mem_level", default: defaults.memLevel, range: DeflateSettings.memLevelRange),
            clientMaxWindowBits: try compression.int("client_max_window_bits", default: defaults.clientMaxWindowBits,
                                                     range: DeflateSettings.windowBitsRange),
            serverContextTakeover: try compression.bool("context_takeover", default: defaults.serverContextTakeover))
        try compression.rejectUnknownKeys()
        config.compression = enabled ? deflate : nil

        var log = try reader.section("log")
        config.logLevel = try log.string("level", default: config.logLevel)
        config.logFormat = try log.string("format", default: config.logFormat)
        guard ["json", "text"].contains(config.logFormat) else {
            throw ConfigError("\(log.keyPath("format")): \(config.logFormat) is not one of json, text")
        }
        try log.rejectUnknownKeys()
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(config.logLevel) else {
            throw ConfigError("log.level: \(config.logLevel) is not one of trace, debug, info, notice, warning, error, critical")
        }
        guard config.maxFrameSize <= config.maxMessageSize else {
            throw ConfigError("limits.max_frame_size: \(config.maxFrameSize) is larger than limits.max_message_size (\(config.maxMessageSize))")
        }
        guard config.webSocketPath.hasPrefix("/"), config.healthPath.hasPrefix("/") else {
            throw ConfigError("listen.path and listen.health_path must start with /")
        }
        return config
    }
}
