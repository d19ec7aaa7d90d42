import Auth
import Foundation
import XCTest

/// One verifier, and so one set of OpenSSL keys, shared by many threads at once.
final class ConcurrencyTests: XCTestCase {
    func testSharedVerifierAcrossThreads() throws {
        let verifier = try Fixture.verifier()
        let cases: [(name: String, code: String?)] = [
            ("valid_hs256", nil), ("valid_rs256", nil), ("valid_ps256", nil), ("valid_es256", nil),
            ("valid_es384", nil), ("valid_eddsa", nil), ("tampered_signature", "bad_signature"),
            ("tampered_signature_es256", "bad_signature"), ("expired", "expired"),
        ]
        let tokens = cases.map { Fixture.token($0.name) }
        let mismatches = Mismatches()
        DispatchQueue.concurrentPerform(iterations: 400) { iteration in
            let index = iteration % cases.count
            let code: String?
            switch verifier.verify(tokens[index], now: Fixture.now) {
            case .success: code = nil
            case .failure(let error): code = error.code
            }
            if code != cases[index].code { mismatches.add(cases[index].name) }
        }
        XCTAssertEqual(mismatches.names, [])
    }
}

private final class Mismatches: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []

    func add(_ name: String) { lock.withLock { list.append(name) } }
    var names: [String] { lock.withLock { list } }
}
