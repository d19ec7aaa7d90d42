import Logging
import Reactor
import Redis
import XCTest

/// RedisConnection on a real loop against a real redis-server.
final class RedisConnectionTests: XCTestCase {
    override class func setUp() { LoopGroup.prepareProcessSignals() }

    /// Runs `body` on a fresh loop (on this thread) until it calls `done` or `timeout` passes.
    func onLoop(timeout: Double = 10, _ body: (EventLoop, @escaping () -> Void) -> Void) throws {
        let loop = try EventLoop(index: 0, logger: Logger(label: "test"))
        var finished = false
        body(loop) {
            finished = true
            loop.stop()
        }
        let guardTimer = LoopTimer { loop.stop() }
        loop.timers.schedule(guardTimer, after: Clock.nanoseconds(seconds: timeout), now: Clock.now())
        loop.run()
        XCTAssertTrue(finished, "timed out")
    }

    func endpoint(_ server: RedisServerProcess, _ query: String = "") throws -> RedisEndpoint {
        try RedisEndpoint(url: "redis://127.0.0.1:\(server.port)\(query)")
    }

    func testPipelinedCommandsAreAnsweredInOrder() throws {
        let server = try RedisServerProcess()
        var replies: [Int64] = []
        var error: RedisError?
        try onLoop { loop, done in
            let redis = RedisConnection(endpoint: try! endpoint(server), mode: .commands, loop: loop, name: "test")
            redis.onStateChange = { up in
                guard up else { return }
                for _ in 0..<1000 { redis.send(["INCR", "counter"]) { replies.append(try! $0.get().int!) } }
                redis.send(["HSET", "counter", "x", "1"]) { result in
                    if case .failure(let failure) = result { error = failure }
                    redis.close()
                    done()
                }
            }
            redis.start()
        }
        XCTAssertEqual(replies, Array(1...1000))
        guard case .server(let message)? = error else { return XCTFail("expected an error reply, got \(String(describing: error))") }
        XCTAssertTrue(message.hasPrefix("WRONGTYPE"), message)
    }

    func testPasswordACLUserDatabaseAndUnixSocket() throws {
        let server = try RedisServerProcess(arguments: ["--requirepass", "s3cret", "--user", "relay", "on", ">relay-pass", "~*", "&*", "+@all"])
        var answers: [String] = []
        try onLoop { loop, done in
            let urls = ["redis://:s3cret@127.0.0.1:\(server.port)/2", "redis://relay:relay-pass@127.0.0.1:\(server.port)/3",
                        "unix://\(server.socketPath)?password=s3cret&db=4"]
            var remaining = urls.count
            for (index, url) in urls.enumerated() {
                let redis = RedisConnection(endpoint: try! RedisEndpoint(url: url), mode: .commands, loop: loop, name: "c\(index)")
                redis.onStateChange = { up in
                    guard up else { return }
                    redis.send(["SET", "where", "conn\(index)"]) { _ in
                        answers.append(url)
                        redis.close()
                        remaining -= 1
                        if remaining == 0 { done() }
                    }
                }
                redis.start()
            }
        }
        XCTAssertEqual(answers.count, 3)
        XCTAssertEqual(try server.cli("-a", "s3cret", "--no-auth-warning", "-n", "2", "GET", "where"), "conn0")
        XCTAssertEqual(try server.cli("-a", "s3cret", "--no-auth-warning", "-n", "3", "GET", "where"), "conn1")
        XCTAssertEqual(try server.cli("-a", "s3cret", "--no-auth-warning", "-n", "4", "GET", "where"), "conn2")
    }

    func testAWrongPasswordNeverBecomesReadyAndCommandsFailAtOnce() throws {
        let server = try RedisServerProcess(arguments: ["--requirepass", "s3cret"])
        var states: [Bool] = []
        var result: Result<RESPValue, RedisError>?
        try onLoop(timeout: 2) { loop, done in
            let redis = RedisConnection(endpoint: try! endpoint(server).with(password: "wrong"), mode: .commands, loop: loop, name: "test")
            redis.onStateChange = { states.append($0) }
            redis.start()
            redis.send(["PING"]) { result = $0 }
            let check = LoopTimer {
                redis.close()
                done()
            }
            loop.timers.schedule(check, after: 1_000_000_000, now: loop.now)
        }
        XCTAssertEqual(states, [])
        XCTAssertEqual(result.map { if case .failure(.unavailable) = $0 { return true } else { return false } }, true)
    }

    func testSubscriberModeDeliversMessagesAndResubscribesAfterARestart() throws {
        let server = try RedisServerProcess()
        var messages: [String] = []
        var ups = 0, downs = 0
        try onLoop(timeout: 20) { loop, done in
            let publisher = RedisConnection(endpoint: try! endpoint(server), mode: .commands, loop: loop, name: "pub")
            let subscriber = RedisConnection(endpoint: try! endpoint(server), mode: .subscriber, loop: loop, name: "sub")
            var publishTimer: LoopTimer!
            publishTimer = LoopTimer {
                publisher.send(["PUBLISH", "room", "m\(ups)"])
                loop.timers.schedule(publishTimer, after: 50_000_000, now: loop.now)
            }
            subscriber.onStateChange = { up in
                if up {
                    ups += 1
                    subscriber.send(["SUBSCRIBE", "room"])
                } else {
                    downs += 1
                }
            }
            subscriber.onPush = { value in
                guard let parts = value.array, parts.first?.string == "message" else { return }
                let text = parts[2].string!
                if messages.last != text { messages.append(text) }
                if text == "m1", messages.count == 1 {
                    // The first one came: restart Redis under the connections.
                    server.stop()
                    try! server.start()
                }
                if text == "m2" {
                    publisher.close()
                    subscriber.close()
                    done()
                }
            }
            publisher.start()
            subscriber.start()
            loop.timers.schedule(publishTimer, after: 50_000_000, now: loop.now)
        }
        XCTAssertEqual(messages, ["m1", "m2"])
        XCTAssertEqual(downs, 1)
        XCTAssertEqual(ups, 2)
    }

    /// A Redis that stops answering (DEBUG SLEEP) must not stall the loop: timers keep firing,
    /// the command fails as unavailable after the reply timeout, and the connection comes back.
    func testASlowRedisNeverBlocksTheLoop() throws {
        let server = try RedisServerProcess(arguments: ["--enable-debug-command", "yes"])
        var ticks = 0
        var slowResult: Result<RESPValue, RedisError>?
        var reentrant: Result<RESPValue, RedisError>?
        var upsAfter = 0
        try onLoop(timeout: 15) { loop, done in
            var settings = RedisConnection.Settings()
            settings.replyTimeout = 0.5
            let redis = RedisConnection(endpoint: try! endpoint(server), mode: .commands, loop: loop, name: "test", settings: settings)
            var tick: LoopTimer!
            tick = LoopTimer {
                ticks += 1
                loop.timers.schedule(tick, after: 100_000_000, now: loop.now)
            }
            loop.timers.schedule(tick, after: 100_000_000, now: loop.now)
            var first = true
            redis.onStateChange = { up in
                guard up else { return }
                if first {
                    first = false
                    redis.send(["DEBUG", "SLEEP", "3"]) { result in
                        slowResult = result
                        // Sending from a failed command's completion is refused, not written into
                        // the socket that just went away.
                        redis.send(["PING"]) { reentrant = $0 }
                    }
                } else {
                    upsAfter += 1
                    redis.send(["PING"]) { _ in
                        redis.close()
                        done()
                    }
                }
            }
            redis.start()
        }
        XCTAssertEqual(slowResult.map { if case .failure(.unavailable) = $0 { return true } else { return false } }, true)
        XCTAssertEqual(reentrant.map { if case .failure(.unavailable) = $0 { return true } else { return false } }, true)
        XCTAssertEqual(upsAfter, 1)
        XCTAssertGreaterThan(ticks, 20, "the loop kept running while Redis slept")
    }

    /// A subscriber has nothing pending: its keepalive PING is what notices a Redis that stopped
    /// answering (here: busy in DEBUG SLEEP), and it comes back when Redis does.
    func testASubscriberNoticesARedisThatStoppedAnswering() throws {
        let server = try RedisServerProcess(arguments: ["--enable-debug-command", "yes"])
        var states: [Bool] = []
        try onLoop(timeout: 15) { loop, done in
            var settings = RedisConnection.Settings()
            settings.replyTimeout = 0.5
            let subscriber = RedisConnection(endpoint: try! endpoint(server), mode: .subscriber, loop: loop, name: "sub", settings: settings)
            let commands = RedisConnection(endpoint: try! endpoint(server), mode: .commands, loop: loop, name: "cmd")
            subscriber.onStateChange = { up in
                states.append(up)
                if up, states.count == 1 {
                    subscriber.send(["SUBSCRIBE", "room"])
                    commands.send(["DEBUG", "SLEEP", "2"])
                }
                if up, states.count == 3 {
                    subscriber.close()
                    commands.close()
                    done()
                }
            }
            commands.onStateChange = { up in if up { subscriber.start() } }
            commands.start()
        }
        XCTAssertEqual(states, [true, false, true])
    }
}

extension RedisEndpoint {
    func with(password: String) -> RedisEndpoint {
        var copy = self
        copy.password = password
        return copy
    }
}
