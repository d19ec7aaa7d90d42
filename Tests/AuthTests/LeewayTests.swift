import Auth
import XCTest

/// Clock-skew allowance at its edges; `now` is always passed explicitly.
final class LeewayTests: XCTestCase {
    private func options(leeway: Double) -> JWTVerifier.Options {
        var options = Fixture.expectedOptions
        options.leeway = leeway
        return options
    }

    func testDefaultLeewayIs30Seconds() {
        XCTAssertEqual(JWTVerifier.Options().leeway, 30)
        XCTAssertEqual(JWTVerifier.Options().maxTokenBytes, 8192)
        XCTAssertTrue(JWTVerifier.Options().requireSubject)
        XCTAssertTrue(JWTVerifier.Options().requireExpiry)
    }

    /// exp = now - 10.
    func testExpiredTenSecondsAgo() throws {
        XCTAssertNotNil(assertAccepted(try verify("expired_10s_ago", options: options(leeway: 30))))
        assertRejected(try verify("expired_10s_ago", options: options(leeway: 5)), "expired")
        assertRejected(try verify("expired_10s_ago", options: options(leeway: 0)), "expired")
    }

    /// Refused only once now > exp + leeway.
    func testExpiryBoundary() throws {
        let exp = Fixture.now - 10
        XCTAssertNotNil(assertAccepted(try verify("expired_10s_ago", now: exp + 5, options: options(leeway: 5))))
        assertRejected(try verify("expired_10s_ago", now: exp + 5.001, options: options(leeway: 5)), "expired")
        XCTAssertNotNil(assertAccepted(try verify("expired_10s_ago", now: exp, options: options(leeway: 0))))
        assertRejected(try verify("expired_10s_ago", now: exp + 0.001, options: options(leeway: 0)), "expired")
    }

    /// nbf = now + 10; refused only while now + leeway < nbf.
    func testNotBeforeBoundary() throws {
        XCTAssertNotNil(assertAccepted(try verify("nbf_in_10s", options: options(leeway: 30))))
        assertRejected(try verify("nbf_in_10s", options: options(leeway: 5)), "not_yet_valid")
        let nbf = Fixture.now + 10
        XCTAssertNotNil(assertAccepted(try verify("nbf_in_10s", now: nbf - 5, options: options(leeway: 5))))
        assertRejected(try verify("nbf_in_10s", now: nbf - 5.001, options: options(leeway: 5)), "not_yet_valid")
    }

    /// iat = token's now - 60; refused only once iat > now + leeway.
    func testIssuedAtBoundary() throws {
        let iat = Fixture.now - 60
        XCTAssertNotNil(assertAccepted(try verify("valid_rs256", now: iat - 30, options: options(leeway: 30))))
        assertRejected(try verify("valid_rs256", now: iat - 30.001, options: options(leeway: 30)), "issued_in_future")
        assertRejected(try verify("valid_rs256", now: iat - 10, options: options(leeway: 5)), "issued_in_future")
    }

    /// The 2001 token is not rescued by any ordinary leeway, and the 2100 tokens stay valid
    /// until then.
    func testFarTimes() throws {
        assertRejected(try verify("expired", options: options(leeway: 3600)), "expired")
        XCTAssertNotNil(assertAccepted(try verify("valid_es256", now: 4_102_444_800)))
        assertRejected(try verify("valid_es256", now: 4_102_444_800 + 31), "expired")
    }
}
