import WebSocket
import XCTest

/// permessage-deflate negotiation (RFC 7692 §5, §7.1): which offer is accepted, what Relay then
/// compresses and decompresses with, and the exact response header.
final class DeflateNegotiationTests: XCTestCase {
    let defaults = DeflateSettings()

    private func agree(_ offers: [String], _ settings: DeflateSettings = DeflateSettings()) -> DeflateAgreement? {
        DeflateNegotiation.agree(offers: offers, settings: settings)
    }

    private func header(_ offer: String, _ settings: DeflateSettings = DeflateSettings()) -> String? {
        agree([offer], settings)?.responseHeader
    }

    // MARK: - Which offer

    func testNoOfferNoAgreement() {
        XCTAssertNil(agree([]))
    }

    func testOtherExtensionsAreIgnored() {
        XCTAssertNil(agree(["x-webkit-deflate-frame"]))
        XCTAssertNil(agree(["permessage-deflatex"]))
        XCTAssertNil(agree(["deflate-frame; max_window_bits=10"]))
        XCTAssertEqual(agree(["x-webkit-deflate-frame", "permessage-deflate; client_no_context_takeover"])?.responseHeader,
                       "permessage-deflate; client_no_context_takeover")
    }

    func testTheFirstAcceptableOfferWins() {
        let offers = ["permessage-deflate; server_max_window_bits=10", "permessage-deflate"]
        XCTAssertEqual(agree(offers)?.responseHeader, "permessage-deflate; server_max_window_bits=10")
        XCTAssertEqual(agree(offers)?.serverWindowBits, 10)
    }

    func testAnOfferFromTheHandshake() throws {
        let text = "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            + "Sec-WebSocket-Extensions: permessage-deflate; foo, permessage-deflate; client_max_window_bits\r\n\r\n"
        var parser = HTTPRequestParser()
        guard case let .complete(head, _) = Array(text.utf8).withUnsafeBytes({ parser.parse($0) }),
              case let .success(request) = Handshake.validate(head) else { return XCTFail("the request is refused") }
        XCTAssertEqual(agree(request.extensionOffers)?.responseHeader, "permessage-deflate; client_max_window_bits=15")
    }

    // MARK: - Each parameter

    func testPlainOffer() throws {
        let agreement = try XCTUnwrap(agree(["permessage-deflate"]))
        XCTAssertEqual(agreement, DeflateAgreement(
            serverNoContextTakeover: true, clientNoContextTakeover: false, serverWindowBits: 15,
            compressionStrategy: .standard, clientWindowBits: 15, responseHeader: "permessage-deflate"
        ))
    }

    func testServerContextTakeoverFollowsTheSettingsUnlessTheClientRefusesIt() throws {
        let keeping = DeflateSettings(serverContextTakeover: true)
        XCTAssertEqual(agree(["permessage-deflate"], keeping)?.serverNoContextTakeover, false)
        let refused = try XCTUnwrap(agree(["permessage-deflate; server_no_context_takeover"], keeping))
        XCTAssertTrue(refused.serverNoContextTakeover)
        XCTAssertEqual(refused.responseHeader, "permessage-deflate; server_no_context_takeover")
        // Relay's default resets anyway, without saying so.
        XCTAssertEqual(agree(["permessage-deflate"])?.serverNoContextTakeover, true)
    }

    func testClientNoContextTakeover() throws {
        let agreement = try XCTUnwrap(agree(["permessage-deflate; client_no_context_takeover"]))
        XCTAssertTrue(agreement.clientNoContextTakeover)
        XCTAssertEqual(agreement.responseHeader, "permessage-deflate; client_no_context_takeover")
        XCTAssertEqual(agree(["permessage-deflate"])?.clientNoContextTakeover, false)
    }

    func testServerMaxWindowBits() throws {
        let agreement = try XCTUnwrap(agree(["permessage-deflate; server_max_window_bits=12"]))
        XCTAssertEqual(agreement.serverWindowBits, 12)
        XCTAssertEqual(agreement.compressionStrategy, .standard)
        XCTAssertEqual(agreement.responseHeader, "permessage-deflate; server_max_window_bits=12")
        // Relay never compresses with more than its settings allow, and answers what it uses.
        let small = DeflateSettings(serverMaxWindowBits: 10)
        XCTAssertEqual(header("permessage-deflate; server_max_window_bits=12", small), "permessage-deflate; server_max_window_bits=10")
        XCTAssertEqual(agree(["permessage-deflate; server_max_window_bits=12"], small)?.serverWindowBits, 10)
        // Not offered: Relay's own window, unannounced (the client inflates with 15).
        XCTAssertEqual(agree(["permessage-deflate"], small)?.serverWindowBits, 10)
        XCTAssertEqual(header("permessage-deflate", small), "permessage-deflate")
    }

    func testServerMaxWindowBits8CompressesRunLengthOnlyWithZlibs9() throws {
        let agreement = try XCTUnwrap(agree(["permessage-deflate; server_max_window_bits=8"]))
        XCTAssertEqual(agreement.serverWindowBits, 9)
        XCTAssertEqual(agreement.compressionStrategy, .runLengthOnly)
        XCTAssertEqual(agreement.responseHeader, "permessage-deflate; server_max_window_bits=8")
        XCTAssertEqual(agree(["permessage-deflate; server_max_window_bits=9"])?.compressionStrategy, .standard)
    }

    func testClientMaxWindowBitsWithoutAValueIsAnsweredWithTheSettingsLimit() throws {
        XCTAssertEqual(header("permessage-deflate; client_max_window_bits"), "permessage-deflate; client_max_window_bits=15")
        let limited = DeflateSettings(clientMaxWindowBits: 10)
        let agreement = try XCTUnwrap(agree(["permessage-deflate; client_max_window_bits"], limited))
        XCTAssertEqual(agreement.responseHeader, "permessage-deflate; client_max_window_bits=10")
        XCTAssertEqual(agreement.clientWindowBits, 10)
    }

    func testClientMaxWindowBitsWithAValue() {
        let limited = DeflateSettings(clientMaxWindowBits: 10)
        XCTAssertEqual(header("permessage-deflate; client_max_window_bits=12", limited), "permessage-deflate; client_max_window_bits=10")
        XCTAssertEqual(header("permessage-deflate; client_max_window_bits=9", limited), "permessage-deflate; client_max_window_bits=9")
        XCTAssertEqual(agree(["permessage-deflate; client_max_window_bits=9"], limited)?.clientWindowBits, 9)
        // 8 is answered as offered, but inflated with 9: zlib-based peers compress with 9.
        XCTAssertEqual(header("permessage-deflate; client_max_window_bits=8"), "permessage-deflate; client_max_window_bits=8")
        XCTAssertEqual(agree(["permessage-deflate; client_max_window_bits=8"])?.clientWindowBits, 9)
    }

    func testAClientThatSetsNoLimitCannotBeLimited() {
        let limited = DeflateSettings(clientMaxWindowBits: 10)
        XCTAssertEqual(agree(["permessage-deflate"], limited)?.clientWindowBits, 15)
        XCTAssertEqual(header("permessage-deflate", limited), "permessage-deflate")
    }

    func testAllParametersCombined() throws {
        let offer = "permessage-deflate; client_max_window_bits=11; server_max_window_bits=12; "
            + "client_no_context_takeover; server_no_context_takeover"
        let agreement = try XCTUnwrap(agree([offer], DeflateSettings(serverContextTakeover: true)))
        XCTAssertEqual(agreement, DeflateAgreement(
            serverNoContextTakeover: true, clientNoContextTakeover: true, serverWindowBits: 12,
            compressionStrategy: .standard, clientWindowBits: 11,
            responseHeader: "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                + "server_max_window_bits=12; client_max_window_bits=11"
        ))
    }

    // MARK: - Syntax

    func testQuotedValues() {
        XCTAssertEqual(header("permessage-deflate; server_max_window_bits=\"10\""), "permessage-deflate; server_max_window_bits=10")
        XCTAssertEqual(header("permessage-deflate; client_max_window_bits=\"1\\1\""), "permessage-deflate; client_max_window_bits=11")
        XCTAssertNil(header("permessage-deflate; server_max_window_bits=\"08\""))
        XCTAssertNil(header("permessage-deflate; server_max_window_bits=\"\""))
        XCTAssertNil(header("permessage-deflate; server_max_window_bits=\"10"), "no closing quote")
        XCTAssertNil(header("permessage-deflate; server_max_window_bits=\"1 0\""), "not a token once unquoted")
    }

    func testWhitespaceAndCase() {
        XCTAssertEqual(header("permessage-deflate ;\tclient_max_window_bits = 10 ; server_no_context_takeover"),
                       "permessage-deflate; server_no_context_takeover; client_max_window_bits=10")
        XCTAssertEqual(header("PerMessage-Deflate; Client_No_Context_Takeover"), "permessage-deflate; client_no_context_takeover")
    }

    func testInvalidWindowBitsAreDeclined() {
        for value in ["7", "16", "08", "0", "", "+9", "9a", "0x9", "100", "-9", "١٠"] {
            XCTAssertNil(header("permessage-deflate; server_max_window_bits=\(value)"), "server_max_window_bits=\(value)")
            XCTAssertNil(header("permessage-deflate; client_max_window_bits=\(value)"), "client_max_window_bits=\(value)")
        }
        XCTAssertNil(header("permessage-deflate; server_max_window_bits"), "server_max_window_bits needs a value")
    }

    func testValuesOnParametersThatTakeNoneAreDeclined() {
        XCTAssertNil(header("permessage-deflate; server_no_context_takeover=1"))
        XCTAssertNil(header("permessage-deflate; client_no_context_takeover=\"true\""))
        XCTAssertNil(header("permessage-deflate; client_no_context_takeover="))
    }

    func testMalformedOffersAreDeclined() {
        for offer in ["permessage-deflate; foo", "permessage-deflate; foo=1", "permessage-deflate;", "permessage-deflate;;",
                      "permessage-deflate client_no_context_takeover", "permessage-deflate; =10", "; permessage-deflate"] {
            XCTAssertNil(header(offer), offer)
        }
    }

    func testRepeatedParametersDeclineTheOfferAndTheNextIsTaken() {
        for repeated in ["server_no_context_takeover", "client_no_context_takeover", "client_max_window_bits",
                         "server_max_window_bits=10; server_max_window_bits=10", "client_max_window_bits; client_max_window_bits=9"] {
            let offer = repeated.contains(";") ? "permessage-deflate; \(repeated)" : "permessage-deflate; \(repeated); \(repeated)"
            XCTAssertNil(header(offer), offer)
            XCTAssertEqual(agree([offer, "permessage-deflate; server_max_window_bits=11"])?.responseHeader,
                           "permessage-deflate; server_max_window_bits=11", offer)
        }
    }

    func testEveryOfferDeclinedMeansNoAgreement() {
        XCTAssertNil(agree(["permessage-deflate; server_max_window_bits=7", "permessage-deflate; x", "foo"]))
    }

    // MARK: - Settings

    func testTheAgreementBuildsItsCoders() throws {
        let agreement = try XCTUnwrap(agree(["permessage-deflate; server_max_window_bits=8; client_max_window_bits=10"]))
        let deflater = try XCTUnwrap(agreement.makeDeflater(defaults))
        XCTAssertEqual(deflater.windowBits, 9)
        XCTAssertEqual(deflater.strategy, .runLengthOnly)
        XCTAssertEqual(try XCTUnwrap(agreement.makeInflater()).windowBits, 10)
    }

    func testMemoryCostFollowsZlibsFormula() {
        XCTAssertEqual(MessageDeflater.memoryCost(windowBits: 15, memLevel: 8), 128 * 1024 + 128 * 1024 + 6 * 1024)
        XCTAssertEqual(MessageDeflater.memoryCost(windowBits: 9, memLevel: 1), 2048 + 1024 + 6 * 1024)
        XCTAssertEqual(MessageInflater.memoryCost(windowBits: 15), 32 * 1024 + 7 * 1024)
    }
}
