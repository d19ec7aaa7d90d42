import ArgumentParser
import Glibc
import Gateway
import Logging
import Reactor
import RelayServer
import TLS

/// The whole config file; a wrong key or value stops Relay with a message that names it.
func loadRelayConfig(_ path: String) throws -> RelayConfig {
    do {
        return try RelayConfig.load(path: path)
    } catch let error as ConfigError {
        throw ValidationError("config: \(error)")
    }
}

func makeLogger(_ config: ServerConfig) -> Logger {
    let level = Logger.Level(rawValue: config.logLevel) ?? .info
    let json = config.logFormat == "json"
    LoggingSystem.bootstrap { label in
        if json {
            var handler = JSONLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
    return Logger(label: "relay")
}

func runServer(_ config: ServerConfig, logger: Logger,
               makeApplication: @escaping @Sendable (EventLoop) throws -> WebSocketApplication,
               beforeAccepting: ([LoopHandle]) -> Void = { _ in }, onHangup: (@Sendable (Server) -> Void)? = nil,
               announce: String? = nil) throws {
    let server: Server
    do {
        server = try Server(config: config, logger: logger)
    } catch let error as SystemError {
        throw ValidationError("cannot listen: \(error)")
    } catch let error as TLSError {
        throw ValidationError("tls: \(error)")
    }
    try server.run(makeApplication: makeApplication, beforeAccepting: beforeAccepting, onHangup: onHangup) {
        // Tests and scripts wait for this line; it carries the real port when 0 was asked for.
        if let port = server.port {
            print("relay listening on ws://\(config.host):\(port)\(config.webSocketPath) (\(config.effectiveLoops) loops)")
        }
        if let port = server.tlsPort {
            print("relay listening on wss://\(config.tlsHost):\(port)\(config.webSocketPath) (\(config.effectiveLoops) loops)")
        }
        if let announce { print(announce) }
        fflush(nil)
    }
    logger.notice("stopped")
}
