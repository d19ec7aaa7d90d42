import Foundation
import RelayServer
import XCTest

final class ServerConfigTests: XCTestCase {
    func testEmptyDocumentGivesDefaults() throws {
        let config = try ServerConfig.parse(yaml: "")
        XCTAssertEqual(config.port, 8080)
        XCTAssertEqual(config.webSocketPath, "/ws")
        XCTAssertEqual(config.maxMessageSize, 65536)
        XCTAssertEqual(config.pingInterval, 25)
    }

    func testShippedConfigsParseAndMatchTheDefaults() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        // The shipped files hold the gateway's sections too: read only the transport's here.
        var reader = try ServerConfig.document(path: root.appendingPathComponent("config/relay.yaml").path)
        let shipped = try ServerConfig.read(from: &reader)
        let defaults = ServerConfig()
        XCTAssertEqual(shipped.port, defaults.port)
        XCTAssertEqual(shipped.maxOutboundBytes, defaults.maxOutboundBytes)
        XCTAssertEqual(shipped.handshakeTimeout, defaults.handshakeTimeout)
        XCTAssertEqual(shipped.closeTimeout, defaults.closeTimeout)
        XCTAssertEqual(shipped.maxHeaderCount, defaults.maxHeaderCount)
        XCTAssertEqual(shipped.allowedOrigins, defaults.allowedOrigins)
        var devReader = try ServerConfig.document(path: root.appendingPathComponent("config/relay.dev.yaml").path)
        let dev = try ServerConfig.read(from: &devReader)
        XCTAssertEqual(dev.host, "127.0.0.1")
    }

    func testValuesAreRead() throws {
        let config = try ServerConfig.parse(yaml: """
        listen: {host: 127.0.0.1, port: 0, path: /live, allowed_origins: ["https://a.example"]}
        loops: 3
        limits: {max_frame_size: 1000, max_message_size: 5000}
        timeouts: {ping_interval: 0.5, close: 2}
        log: {level: debug}
        """)
        XCTAssertEqual(config.port, 0)
        XCTAssertEqual(config.webSocketPath, "/live")
        XCTAssertEqual(config.allowedOrigins, ["https://a.example"])
        XCTAssertEqual(config.effectiveLoops, 3)
        XCTAssertEqual(config.maxFrameSize, 1000)
        XCTAssertEqual(config.pingInterval, 0.5)
        XCTAssertEqual(config.logLevel, "debug")
    }

    private func assertRejected(_ yaml: String, mentions key: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ServerConfig.parse(yaml: yaml), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(key), "error \(error) should name \(key)", file: file, line: line)
        }
    }

    func testBadValuesNameTheirKey() {
        assertRejected("listen: {port: 70000}", mentions: "listen.port")
        assertRejected("listen: {port: eighty}", mentions: "listen.port")
        assertRejected("limits: {max_frame_size: big}", mentions: "limits.max_frame_size")
        assertRejected("timeouts: {handshake: -1}", mentions: "timeouts.handshake")
        assertRejected("timeouts: {pingg_interval: 3}", mentions: "timeouts.pingg_interval")
        assertRejected("colour: blue", mentions: "colour")
        assertRejected("listen: 8080", mentions: "listen")
        assertRejected("log: {level: loud}", mentions: "log.level")
        assertRejected("limits: {max_frame_size: 2000, max_message_size: 1000}", mentions: "limits.max_frame_size")
        assertRejected("listen: {path: ws}", mentions: "listen.path")
        assertRejected("listen: {allowed_origins: https://a.example}", mentions: "listen.allowed_origins")
        assertRejected("[1, 2]", mentions: "top level")
        assertRejected("listen: {port: [}", mentions: "YAML")
    }
}

final class EnvironmentOverrideTests: XCTestCase {
    private func read(_ yaml: String, _ environment: [String: String]) throws -> ServerConfig {
        var reader = try ServerConfig.document(yaml: yaml, source: "test", environment: environment)
        let config = try ServerConfig.read(from: &reader)
        try reader.rejectUnknownKeys()
        return config
    }

    func testAVariableOverridesTheFile() throws {
        let config = try read("listen: {port: 8080}\ntimeouts: {ping_interval: 25}",
                              ["RELAY_LISTEN_PORT": "9000", "RELAY_TIMEOUTS_PING_INTERVAL": "2.5", "RELAY_LOOPS": "3",
                               "RELAY_LISTEN_ALLOWED_ORIGINS": "[https://a.example, https://b.example]"])
        XCTAssertEqual(config.port, 9000)
        XCTAssertEqual(config.pingInterval, 2.5)
        XCTAssertEqual(config.loops, 3)
        XCTAssertEqual(config.allowedOrigins, ["https://a.example", "https://b.example"])
    }

    func testAVariableAppliesWhenTheFileLacksTheKey() throws {
        XCTAssertEqual(try read("", ["RELAY_LISTEN_HOST": "127.0.0.2"]).host, "127.0.0.2")
    }

    func testABadVariableIsNamedInTheError() {
        XCTAssertThrowsError(try read("", ["RELAY_LISTEN_PORT": "eighty"])) { error in
            XCTAssertTrue("\(error)".contains("RELAY_LISTEN_PORT"), "\(error)")
        }
        XCTAssertThrowsError(try read("", ["RELAY_LIMITS_MAX_FRAME_SIZE": "1"])) { error in
            XCTAssertTrue("\(error)".contains("RELAY_LIMITS_MAX_FRAME_SIZE"), "\(error)")
        }
    }

    func testStringsFromTheEnvironmentStayText() throws {
        XCTAssertEqual(try read("", ["RELAY_LOG_LEVEL": "debug"]).logLevel, "debug")
        var reader = try ServerConfig.document(yaml: "", source: "test", environment: ["RELAY_SECRET": "123456"])
        XCTAssertEqual(try reader.string("secret", default: ""), "123456", "a secret of digits is not a number")
    }
}
