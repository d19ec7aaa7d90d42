import Broker
import Buffers
import Glibc
import Logging
import Reactor
import XCTest

/// The in-memory engine on three real loops. Each test drives one loop through its task queue and
/// waits for the outcome, so cross-loop routing, ordering and fan-out are exercised for real.
final class MemoryEngineTests: XCTestCase {
    /// Frames are readable text: "kind:channel:detail".
    struct TextEncoding: PushEncoding {
        func frame(_ text: String) -> SharedBytes {
            let bytes = Array(text.utf8)
            return bytes.withUnsafeBytes { SharedBytes(copying: $0) }
        }
        func publication(channel: String, offset: UInt64, data: [UInt8], user: String?) -> Publication {
            let frame = frame("pub:\(channel):\(offset):\(String(decoding: data, as: UTF8.self))")
            return Publication(offset: offset, frame: frame, body: 0..<frame.count)
        }
        func join(channel: String, user: String, info: String?) -> SharedBytes { frame("join:\(channel):\(user)") }
        func leave(channel: String, user: String) -> SharedBytes { frame("leave:\(channel):\(user)") }
        func status(user: String, online: Bool) -> SharedBytes { frame("status:\(user):\(online)") }
        func frame(json: UnsafeRawBufferPointer) -> SharedBytes { SharedBytes(copying: json) }
    }

    /// Records what the engine delivers to one loop.
    final class Recorder: BrokerDelegate, @unchecked Sendable {
        let loop: Int
        let log: Locked<[String]>
        init(loop: Int, log: Locked<[String]>) { self.loop = loop; self.log = log }
        func statusChanged(user: String, frame: SharedBytes) {
            let text = String(decoding: frame.bytes, as: UTF8.self)
            log.withLock { $0.append("\(loop)>\(text)") }
        }
        func deliver(channel: String, frame: SharedBytes, ephemeral: Ephemeral?, acceptedAt: UInt64) {
            let text = String(decoding: frame.bytes, as: UTF8.self)
            log.withLock { $0.append("\(loop)>\(text)") }
        }
        func control(_ command: ControlCommand) { log.withLock { $0.append("\(loop)>control:\(command)") } }
        func streamLost(channel: String) { log.withLock { $0.append("\(loop)>lost:\(channel)") } }
    }

    final class Node: @unchecked Sendable {
        let brokers = Locked<[Int: LoopBound<MemoryBroker>]>([:])
        let deliveries = Locked<[String]>([])
        var handles: [LoopHandle] = []
        var group: LoopGroup!
    }

    var node: Node!
    let options = ChannelOptions(historySize: 3, historyTTL: 60, presence: true, joinLeave: true, idempotencyWindow: 60)

    override func setUpWithError() throws {
        LoopGroup.prepareProcessSignals()
        let node = Node()
        let engine = MemoryEngine(loops: 3, encoder: TextEncoding())
        node.group = LoopGroup(count: 3, logger: Logger(label: "test"))
        node.handles = try node.group.start { loop in
            let broker = engine.makeMemoryBroker(on: loop)
            let recorder = Recorder(loop: loop.index, log: node.deliveries)
            broker.delegate = recorder
            loop.context = [broker, recorder] as [AnyObject] as AnyObject
            node.brokers.withLock { $0[loop.index] = LoopBound(broker, loop: loop.index) }
        }
        engine.activate(node.handles)
        self.node = node
    }

    override func tearDown() {
        node.group.stopAll()
        node.group.waitUntilStopped()
    }

    /// Runs `body` with loop `index`'s broker on that loop and waits for the value it reports.
    func on<T: Sendable>(_ index: Int, _ body: @escaping @Sendable (MemoryBroker, @escaping @Sendable (T) -> Void) -> Void) -> T {
        let result = Locked<T?>(nil)
        let node = self.node!
        node.handles[index].execute { _ in
            let broker = node.brokers.withLock { $0[index]! }.value
            body(broker) { value in result.withLock { $0 = value } }
        }
        let deadline = Clock.now() + 5_000_000_000
        while Clock.now() < deadline {
            if let value = result.withLock({ $0 }) { return value }
            usleep(1000)
        }
        XCTFail("no answer from loop \(index)")
        fatalError("timed out")
    }

    func subscribe(_ index: Int, _ channel: String, since: StreamPosition? = nil, member: PresenceMember? = nil) -> SubscribeResult {
        let options = self.options
        return on(index) { broker, done in
            broker.subscribe(SubscribeRequest(channel: channel, since: since, member: member, options: options)) { done(try! $0.get()) }
        }
    }

    func publish(_ index: Int, _ channel: String, _ data: String, user: String? = "u", key: String? = nil) -> PublishResult {
        let options = self.options
        return on(index) { broker, done in
            broker.publish(PublishRequest(channel: channel, data: Array(data.utf8), user: user, key: key, options: options)) { done(try! $0.get()) }
        }
    }

    /// Waits until the delivery log has settled (no change for 50 ms) and returns it.
    func deliveries() -> [String] {
        var last = -1
        while true {
            usleep(50_000)
            let now = node.deliveries.withLock { $0 }
            if now.count == last { return now }
            last = now.count
        }
    }

    func testAPublicationReachesEverySubscribedLoopOnce() {
        for loop in 0..<3 { _ = subscribe(loop, "room:a") }
        let result = publish(1, "room:a", "hello")
        XCTAssertEqual(result.offset, 1)
        XCTAssertFalse(result.duplicate)
        XCTAssertEqual(deliveries().sorted(), ["0>pub:room:a:1:hello", "1>pub:room:a:1:hello", "2>pub:room:a:1:hello"])
    }

    func testOnlyLoopsWithSubscribersReceive() {
        _ = subscribe(2, "room:b")
        _ = publish(0, "room:b", "x")
        XCTAssertEqual(deliveries(), ["2>pub:room:b:1:x"])
    }

    func testOffsetsIncreaseAndRecoveryReturnsWhatWasMissed() {
        let first = subscribe(0, "room:c")
        XCTAssertEqual(first.position.offset, 0)
        for n in 1...2 { _ = publish(1, "room:c", "m\(n)") }
        let position = StreamPosition(offset: 1, epoch: first.position.epoch)
        let again = subscribe(2, "room:c", since: position)
        XCTAssertTrue(again.recovered)
        XCTAssertEqual(again.publications.map(\.offset), [2])
        XCTAssertEqual(again.position, StreamPosition(offset: 2, epoch: first.position.epoch))
    }

    func testRecoveryFailsWhenHistoryIsTooShortOrTheEpochChanged() {
        let first = subscribe(0, "room:d")
        for n in 1...5 { _ = publish(0, "room:d", "m\(n)") }
        let tooOld = subscribe(1, "room:d", since: StreamPosition(offset: 1, epoch: first.position.epoch))
        XCTAssertFalse(tooOld.recovered, "history keeps 3: offsets 3...5")
        let justInside = subscribe(1, "room:d", since: StreamPosition(offset: 2, epoch: first.position.epoch))
        XCTAssertTrue(justInside.recovered)
        XCTAssertEqual(justInside.publications.map(\.offset), [3, 4, 5])
        let otherEpoch = subscribe(1, "room:d", since: StreamPosition(offset: 5, epoch: "another"))
        XCTAssertFalse(otherEpoch.recovered)
        let future = subscribe(1, "room:d", since: StreamPosition(offset: 9, epoch: first.position.epoch))
        XCTAssertFalse(future.recovered)
    }

    func testAnIdempotencyKeyPublishesOnce() {
        _ = subscribe(0, "room:e")
        let first = publish(1, "room:e", "once", user: "alice", key: "k1")
        let again = publish(2, "room:e", "once", user: "alice", key: "k1")
        let otherUser = publish(2, "room:e", "once", user: "bob", key: "k1")
        XCTAssertEqual(again.offset, first.offset)
        XCTAssertTrue(again.duplicate)
        XCTAssertEqual(otherUser.offset, first.offset + 1, "keys are per user")
        XCTAssertEqual(deliveries().count, 2)
    }

    func testJoinAndLeaveOncePerUserWhateverTheirConnections() {
        _ = subscribe(0, "room:f")
        let phone = PresenceMember(user: "alice", connection: 1, info: nil)
        let laptop = PresenceMember(user: "alice", connection: 2, info: nil)
        _ = subscribe(1, "room:f", member: phone)
        _ = subscribe(2, "room:f", member: laptop)
        let present: [PresenceEntry] = on(0) { broker, done in broker.presence(channel: "room:f", options: ChannelOptions()) { done(try! $0.get()) } }
        XCTAssertEqual(present, [PresenceEntry(user: "alice", connections: 2, info: nil)])
        let options = self.options
        let unsubscribed: Bool = on(1) { broker, done in
            broker.unsubscribe(channel: "room:f", member: phone, lastOnLoop: true, options: options)
            done(true)
        }
        XCTAssertTrue(unsubscribed)
        let _: Bool = on(2) { broker, done in
            broker.unsubscribe(channel: "room:f", member: laptop, lastOnLoop: true, options: options)
            done(true)
        }
        let log = deliveries()
        XCTAssertEqual(log.filter { $0.contains("join:") }.count, 2, "one join, seen by loops 0 and 1: \(log)")
        XCTAssertEqual(log.filter { $0.hasPrefix("0>leave:room:f:alice") }.count, 1, "one leave, after the last connection: \(log)")
    }

    func testOneTransitionPerUserWhateverTheirConnections() {
        let before: [String: Bool] = on(2) { broker, done in
            broker.online(users: ["alice", "bob"], watch: true) { done(try! $0.get()) }
        }
        XCTAssertEqual(before, ["alice": false, "bob": false])
        let _: Bool = on(0) { broker, done in broker.userConnected("alice", connection: 1) { _ in }; done(true) }
        let _: Bool = on(1) { broker, done in broker.userConnected("alice", connection: 1) { _ in }; done(true) }
        XCTAssertEqual(deliveries(), ["2>status:alice:true"], "one online transition for two connections")
        let now: [String: Bool] = on(0) { broker, done in
            broker.online(users: ["alice", "bob"], watch: false) { done(try! $0.get()) }
        }
        XCTAssertEqual(now, ["alice": true, "bob": false])
        let _: Bool = on(0) { broker, done in broker.userDisconnected("alice", connection: 1, cause: .lost); done(true) }
        XCTAssertEqual(deliveries(), ["2>status:alice:true"], "still online on loop 1")
        let _: Bool = on(1) { broker, done in broker.userDisconnected("alice", connection: 1, cause: .lost); done(true) }
        XCTAssertEqual(deliveries(), ["2>status:alice:true", "2>status:alice:false"])
        let _: Bool = on(2) { broker, done in broker.unwatch(users: ["alice", "bob"]); done(true) }
        let _: Bool = on(1) { broker, done in broker.userConnected("alice", connection: 1) { _ in }; done(true) }
        XCTAssertEqual(deliveries().count, 2, "no transitions once unwatched")
    }

    /// A transition between two owners' answers to one `online` must be in the answer: the
    /// watcher is not yet among those pushed to, so it would otherwise miss it for good.
    func testATransitionWhileAnswersAreGatheredIsInTheAnswer() {
        let probe = MemoryEngine(loops: 3, encoder: TextEncoding())
        func user(ownedBy loop: Int) -> String {
            (0...).lazy.map { "user\($0)" }.first { probe.owner(of: "\u{1}user:" + $0) == loop }!
        }
        let near = user(ownedBy: 2), far = user(ownedBy: 0)
        // Hold loop 0 so the far owner answers late.
        node.handles[0].execute { _ in usleep(300_000) }
        let answer: [String: Bool] = on(2) { broker, done in
            broker.online(users: [near, far], watch: true) { done(try! $0.get()) }
            broker.userConnected(near, connection: 1) { _ in }  // near's owner is this loop: it answered already
        }
        XCTAssertEqual(answer, [near: true, far: false])
    }

    func testHistoryPages() {
        for n in 1...5 { _ = publish(0, "room:g", "m\(n)") }
        let page: [UInt64] = on(1) { broker, done in
            broker.history(channel: "room:g", limit: 2, before: 5) { done(try! $0.get().publications.map(\.offset)) }
        }
        XCTAssertEqual(page, [3, 4])
        let latest: [UInt64] = on(2) { broker, done in
            broker.history(channel: "room:g", limit: 10, before: nil) { done(try! $0.get().publications.map(\.offset)) }
        }
        XCTAssertEqual(latest, [3, 4, 5])
        let beforeOldest: [UInt64] = on(2) { broker, done in
            broker.history(channel: "room:g", limit: 10, before: 3) { done(try! $0.get().publications.map(\.offset)) }
        }
        XCTAssertEqual(beforeOldest, [], "nothing kept is older than the oldest kept")
        let pastNewest: [UInt64] = on(2) { broker, done in
            broker.history(channel: "room:g", limit: 2, before: 99) { done(try! $0.get().publications.map(\.offset)) }
        }
        XCTAssertEqual(pastNewest, [4, 5])
    }

    func testConnectionsAreCountedPerUserAcrossLoops() {
        let counts: [Int] = (0..<3).map { index in
            on(index) { broker, done in broker.userConnected("carol", connection: 1) { done(try! $0.get()) } }
        }
        XCTAssertEqual(counts, [1, 2, 3])
        let _: Bool = on(1) { broker, done in broker.userDisconnected("carol", connection: 1, cause: .lost); done(true) }
        let next: Int = on(2) { broker, done in broker.userConnected("carol", connection: 1) { done(try! $0.get()) } }
        XCTAssertEqual(next, 3)
    }

    /// One key is throttled across loops (a user typing from two devices); a zero interval (stop)
    /// always passes and lifts the throttle.
    func testAThrottledBroadcastGoesOncePerIntervalAcrossLoops() {
        for loop in 0..<3 { _ = subscribe(loop, "room:h") }
        func typing(_ index: Int, _ text: String, interval: Double) -> Bool {
            on(index) { broker, done in
                let frame = Array(text.utf8).withUnsafeBytes { SharedBytes(copying: $0) }
                broker.broadcast(channel: "room:h", frame: frame, sender: 0, throttle: Throttle(key: "alice", interval: interval)) {
                    done(try! $0.get())
                }
            }
        }
        XCTAssertTrue(typing(0, "start-1", interval: 60))
        XCTAssertFalse(typing(1, "start-2", interval: 60), "same key from another loop within the interval")
        XCTAssertTrue(typing(2, "stop", interval: 0))
        XCTAssertTrue(typing(1, "start-3", interval: 60), "a stop lifts the throttle")
        let sent = deliveries().map { $0.split(separator: ">")[1] }
        XCTAssertEqual(Set(sent), ["start-1", "stop", "start-3"])
        XCTAssertEqual(sent.count, 9, "each sent frame reached the three loops")
    }
}

final class MemoryEngineOwnershipTests: XCTestCase {
    /// Dictionaries treat canonically equivalent strings as one key; the owner must agree, or a
    /// subscribe and an unsubscribe spelled differently would reach different loops.
    func testEquivalentSpellingsHaveOneOwner() {
        struct NoEncoding: PushEncoding {
            func publication(channel: String, offset: UInt64, data: [UInt8], user: String?) -> Publication { fatalError() }
            func join(channel: String, user: String, info: String?) -> SharedBytes { fatalError() }
            func leave(channel: String, user: String) -> SharedBytes { fatalError() }
            func status(user: String, online: Bool) -> SharedBytes { fatalError() }
            func frame(json: UnsafeRawBufferPointer) -> SharedBytes { fatalError() }
        }
        let engine = MemoryEngine(loops: 7, encoder: NoEncoding())
        for n in 0..<200 {
            let composed = "room:caf\u{E9}-\(n)", decomposed = "room:cafe\u{301}-\(n)"
            XCTAssertEqual(composed, decomposed)
            XCTAssertEqual(engine.owner(of: composed), engine.owner(of: decomposed))
        }
    }
}
