import Broker
@testable import RedisEngine
import XCTest

final class EnvelopeTests: XCTestCase {
    private func decode(_ text: String) throws -> Envelope { try Envelope.decode(Array(text.utf8)) }

    func testPublicationKeepsTheDataBytesAsSent() throws {
        let envelope = try decode(#"{"v":1,"type":"pub","epoch":"e1","offset":7,"user":"bob","data":{"b": [1, 2.50]}}"#)
        XCTAssertEqual(envelope, .publication(offset: 7, epoch: "e1", user: "bob", data: Array(#"{"b": [1, 2.50]}"#.utf8)))
    }

    func testAFireAndForgetPublicationHasNoPlaceInTheStream() throws {
        XCTAssertEqual(try decode(#"{"v":1,"type":"pub","data":"x"}"#), .publication(offset: nil, epoch: nil, user: nil, data: Array(#""x""#.utf8)))
    }

    func testPresenceStatusAndEphemeral() throws {
        XCTAssertEqual(try decode(#"{"v":1,"type":"join","user":"a","info":{"n":1}}"#), .join(user: "a", info: #"{"n":1}"#, member: nil))
        XCTAssertEqual(try decode(#"{"v":1,"type":"join","member":"n/7","user":"a"}"#), .join(user: "a", info: nil, member: "n/7"))
        XCTAssertEqual(try decode(#"{"v":1,"type":"leave","user":"a"}"#), .leave(user: "a"))
        XCTAssertEqual(try decode(#"{"v":1,"type":"status","online":false}"#), .status(online: false))
        XCTAssertEqual(try decode(#"{"v":1,"type":"ephemeral","node":"n","sender":5,"push":{"push":"typing"}}"#),
                       .ephemeral(node: "n", sender: 5, push: Array(#"{"push":"typing"}"#.utf8)))
    }

    func testControlCommands() throws {
        XCTAssertEqual(try decode(#"{"v":1,"type":"disconnect","user":"a"}"#),
                       .control(.disconnect(user: "a", reason: "disconnected_by_server", reconnectAfter: nil)))
        XCTAssertEqual(try decode(#"{"v":1,"type":"disconnect","user":"a","reason":"ban","reconnect_after_ms":100}"#),
                       .control(.disconnect(user: "a", reason: "ban", reconnectAfter: 100)))
        XCTAssertEqual(try decode(#"{"v":1,"type":"unsubscribe","user":"a","channel":"c:1"}"#), .control(.unsubscribe(user: "a", channel: "c:1")))
    }

    func testWhatRelayEncodesDecodesToTheSame() throws {
        for envelope: Envelope in [
            .ephemeral(node: "node1", sender: UInt64(1) << 48 | 3, push: Array(#"{"push":"typing","user":"é"}"#.utf8)),
            .control(.disconnect(user: "a\"b", reason: "r", reconnectAfter: 0)),
            .control(.disconnect(user: "a", reason: "r", reconnectAfter: nil)),
            .control(.unsubscribe(user: "u", channel: "conversation:1")),
        ] {
            XCTAssertEqual(try Envelope.decode(envelope.encoded()), envelope)
        }
    }

    func testBadEnvelopesSayWhy() {
        let cases: [(String, String)] = [
            ("not json", "not JSON"),
            ("[1]", "not a JSON object"),
            (#"{"type":"pub","data":1}"#, "\"v\" must be 1"),
            (#"{"v":2,"type":"pub","data":1}"#, "\"v\" must be 1"),
            (#"{"v":1}"#, "no \"type\""),
            (#"{"v":1,"type":"pub"}"#, "no \"data\""),
            (#"{"v":1,"type":"pub","data":1,"offset":0,"epoch":"e"}"#, "positive integer"),
            (#"{"v":1,"type":"pub","data":1,"offset":3}"#, "go together"),
            (#"{"v":1,"type":"join"}"#, "no \"user\""),
            (#"{"v":1,"type":"join","user":""}"#, "no \"user\""),
            (#"{"v":1,"type":"status"}"#, "no \"online\""),
            (#"{"v":1,"type":"ephemeral","node":"n","sender":1,"push":3}"#, "\"push\" object"),
            (#"{"v":1,"type":"disconnect","user":"a","reconnect_after_ms":-1}"#, "0 to 3600000"),
            (#"{"v":1,"type":"unsubscribe","user":"a"}"#, "no \"channel\""),
            (#"{"v":1,"type":"shout"}"#, "unknown type shout"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try decode(text), text) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(text): \(error)")
            }
        }
    }

    func testKeysOfOneChannelShareAHashTag() {
        let channel = "conversation:42"
        for key in [RedisKeys.meta(channel), RedisKeys.history(channel), RedisKeys.idempotency(channel, user: "u", key: "k"),
                    RedisKeys.throttle(channel, key: "u"), RedisKeys.publications(channel)] + RedisKeys.presence(channel) {
            XCTAssertTrue(key.contains("{conversation:42}"), key)
        }
        XCTAssertEqual(RedisKeys.name(in: RedisKeys.publications(channel), prefix: RedisKeys.publicationPrefix), channel)
        XCTAssertEqual(RedisKeys.name(in: RedisKeys.status("bob"), prefix: RedisKeys.statusPrefix), "bob")
        XCTAssertNil(RedisKeys.name(in: RedisKeys.status("bob"), prefix: RedisKeys.publicationPrefix))
    }
}
