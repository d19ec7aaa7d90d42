import Auth
import XCTest

/// Correctly signed tokens whose claims are refused, each with its exact code.
final class ClaimFailureTests: XCTestCase {
    func testExpired() throws { assertRejected(try verify("expired"), "expired") }
    func testNotBeforeIn2099() throws { assertRejected(try verify("nbf_2099"), "not_yet_valid") }
    func testIssuedIn2099() throws { assertRejected(try verify("iat_2099"), "issued_in_future") }
    func testWrongIssuer() throws { assertRejected(try verify("wrong_iss"), "wrong_issuer") }
    func testWrongAudience() throws { assertRejected(try verify("wrong_aud"), "wrong_audience") }
    func testAudienceListWithoutTheExpectedOne() throws {
        assertRejected(try verify("aud_list_without_expected"), "wrong_audience")
    }
    func testMissingSubject() throws { assertRejected(try verify("missing_sub"), "missing_subject") }
    func testEmptySubject() throws { assertRejected(try verify("empty_sub"), "missing_subject") }
    func testMissingExpiry() throws { assertRejected(try verify("missing_exp"), "missing_expiry") }

    func testExpiryAsString() throws { assertRejected(try verify("exp_string"), "invalid_claim") }
    /// JSON `true` must not pass for the number 1.
    func testExpiryAsBoolean() throws { assertRejected(try verify("exp_bool"), "invalid_claim") }
    func testSubjectAsNumber() throws { assertRejected(try verify("sub_number"), "invalid_claim") }
    func testAudienceAsNumber() throws { assertRejected(try verify("aud_number"), "invalid_claim") }
    func testChannelsWithANonString() throws { assertRejected(try verify("channels_not_strings"), "invalid_claim") }
    func testChannelsNotAnArray() throws { assertRejected(try verify("channels_not_array"), "invalid_claim") }
    func testChannelNotAString() throws { assertRejected(try verify("channel_not_string"), "invalid_claim") }

    func testInvalidClaimNamesTheClaim() throws {
        XCTAssertEqual(try verify("channels_not_array").failureValue, .invalidClaim(.channels))
        XCTAssertEqual(try verify("exp_bool").failureValue, .invalidClaim(.exp))
    }

    /// A signed payload that is JSON but not an object, or not JSON at all.
    func testPayloadArray() throws { assertRejected(try verify("payload_array"), "malformed") }
    func testPayloadNotJSON() throws { assertRejected(try verify("payload_not_json"), "malformed") }

    func testMissingSubjectAllowedWhenNotRequired() throws {
        var options = Fixture.expectedOptions
        options.requireSubject = false
        let claims = assertAccepted(try verify("missing_sub", options: options))
        XCTAssertEqual(claims?.subject, "")
    }

    func testMissingExpiryAllowedWhenNotRequired() throws {
        var options = Fixture.expectedOptions
        options.requireExpiry = false
        let claims = assertAccepted(try verify("missing_exp", options: options))
        XCTAssertEqual(claims?.expiresAt, .infinity)
    }

    /// A claim failure is only reported once the signature holds: a forged expired token is a
    /// bad signature, not "expired".
    func testSignatureIsCheckedBeforeClaims() throws {
        let expired = Fixture.token("expired").split(separator: ".", omittingEmptySubsequences: false)
        let other = Fixture.token("valid_rs256").split(separator: ".", omittingEmptySubsequences: false)
        let forged = "\(expired[0]).\(expired[1]).\(other[2])"
        assertRejected(try Fixture.verifier().verify(forged, now: Fixture.now), "bad_signature")
    }
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
