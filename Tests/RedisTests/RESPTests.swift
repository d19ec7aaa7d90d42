import Redis
import TestSupport
import XCTest

final class RESPTests: XCTestCase {
    func testCommandsAreArraysOfBulkStrings() {
        XCTAssertEqual(String(decoding: RESPCommand.encode(["SET", "k", "v"]), as: UTF8.self), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")
        let binary: [UInt8] = [0, 13, 10, 255]
        XCTAssertEqual(RESPCommand.encode([Array("X".utf8), binary]), Array("*2\r\n$1\r\nX\r\n$4\r\n".utf8) + binary + [13, 10])
        XCTAssertEqual(String(decoding: RESPCommand.encode([[UInt8]()]), as: UTF8.self), "*1\r\n$0\r\n\r\n")
    }

    func testEveryReplyType() throws {
        let reader = RESPReader()
        let wire = "+OK\r\n-ERR bad\r\n:-42\r\n$5\r\nhello\r\n$-1\r\n*2\r\n$1\r\na\r\n*1\r\n:1\r\n*0\r\n$0\r\n\r\n"
        try Array(wire.utf8).withUnsafeBytes { try reader.feed($0) }
        var values: [RESPValue] = []
        while let value = try reader.next() { values.append(value) }
        XCTAssertEqual(values, [
            .simple("OK"), .error("ERR bad"), .integer(-42), .bulk(Array("hello".utf8)), .bulk(nil),
            .array([.bulk(Array("a".utf8)), .array([.integer(1)])]), .array([]), .bulk([]),
        ])
    }

    /// Replies split anywhere across reads come out whole and in order.
    func testRepliesSplitAtEveryByte() throws {
        let wire = Array("*3\r\n$7\r\nmessage\r\n$4\r\nroom\r\n$10\r\n{\"x\":\"\r\n\"}\r\n:7\r\n".utf8)
        for split in 1..<wire.count {
            let reader = RESPReader()
            try wire[..<split].withUnsafeBytes { try reader.feed($0) }
            var values: [RESPValue] = []
            while let value = try reader.next() { values.append(value) }
            try wire[split...].withUnsafeBytes { try reader.feed($0) }
            while let value = try reader.next() { values.append(value) }
            XCTAssertEqual(values, [.array([.bulk(Array("message".utf8)), .bulk(Array("room".utf8)), .bulk(Array("{\"x\":\"\r\n\"}".utf8))]), .integer(7)],
                           "split at \(split)")
        }
    }

    func testGarbageIsAProtocolError() throws {
        let reader = RESPReader()
        try Array("?what\r\n".utf8).withUnsafeBytes { try reader.feed($0) }
        XCTAssertThrowsError(try reader.next())
    }

    func testRandomBulkStringsRoundTripThroughTheReader() throws {
        var random = SplitMix64(seed: 7)
        for _ in 0..<200 {
            let payload = (0..<Int(random.next() % 300)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            var wire = Array("$\(payload.count)\r\n".utf8) + payload + [13, 10]
            wire += Array(":1\r\n".utf8)
            let reader = RESPReader()
            try wire.withUnsafeBytes { try reader.feed($0) }
            XCTAssertEqual(try reader.next(), .bulk(payload))
            XCTAssertEqual(try reader.next(), .integer(1))
            XCTAssertNil(try reader.next())
        }
    }
}

final class RedisEndpointTests: XCTestCase {
    func testURLs() throws {
        XCTAssertEqual(try RedisEndpoint(url: "redis://127.0.0.1:6380/2"), RedisEndpoint(address: .tcp(host: "127.0.0.1", port: 6380), database: 2))
        XCTAssertEqual(try RedisEndpoint(url: "redis://cache"), RedisEndpoint(address: .tcp(host: "cache", port: 6379)))
        XCTAssertEqual(try RedisEndpoint(url: "redis://relay:p%40ss:word@cache:7000"),
                       RedisEndpoint(address: .tcp(host: "cache", port: 7000), user: "relay", password: "p@ss:word"))
        XCTAssertEqual(try RedisEndpoint(url: "redis://:p%ss%4@cache").password, "p%ss%4", "a % without two hex digits stays")
        XCTAssertEqual(try RedisEndpoint(url: "redis://:secret@cache"), RedisEndpoint(address: .tcp(host: "cache", port: 6379), password: "secret"))
        XCTAssertEqual(try RedisEndpoint(url: "redis://secret@cache"), RedisEndpoint(address: .tcp(host: "cache", port: 6379), password: "secret"))
        XCTAssertEqual(try RedisEndpoint(url: "redis://[::1]:6390"), RedisEndpoint(address: .tcp(host: "::1", port: 6390)))
        XCTAssertEqual(try RedisEndpoint(url: "unix:///run/redis.sock?db=3&user=u&password=p"),
                       RedisEndpoint(address: .unix(path: "/run/redis.sock"), user: "u", password: "p", database: 3))
        for bad in ["http://x", "redis://", "redis://h:0", "redis://h:x", "redis://h/-1", "unix://relative.sock", "unix:///s?db=x", "unix:///s?color=red"] {
            XCTAssertThrowsError(try RedisEndpoint(url: bad), bad)
        }
    }

    func testRedactedNeverShowsThePassword() throws {
        let endpoint = try RedisEndpoint(url: "redis://relay:hunter2@cache:7000/1")
        XCTAssertEqual(endpoint.redacted, "redis://relay@cache:7000/1")
        XCTAssertFalse(try RedisEndpoint(url: "unix:///s?password=hunter2").redacted.contains("hunter2"))
    }
}
