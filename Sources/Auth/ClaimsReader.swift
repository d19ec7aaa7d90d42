import Foundation

/// Reads and checks the claims of a token whose signature has already been verified (the payload
/// is not parsed before that: unauthenticated input gets as little work as possible).
struct ClaimsReader {
    let options: JWTVerifier.Options
    let now: Double

    func read(_ payload: [UInt8]) -> Result<Claims, AuthError> {
        guard let object = try? JSONSerialization.jsonObject(with: Data(payload)),
              let members = object as? [String: Any]
        else { return .failure(.malformed) }
        do {
            return .success(try read(JSONObject(members: members)))
        } catch {
            return .failure(error)
        }
    }

    private func read(_ claims: JSONObject) throws(AuthError) -> Claims {
        // Times first, in RFC 7519 order; each allows `leeway` seconds of clock skew.
        let expiresAt = try claims.number(.exp)
        if expiresAt == nil, options.requireExpiry { throw .missingExpiry }
        if let expiresAt, now > expiresAt + options.leeway { throw .expired }
        let notBefore = try claims.number(.nbf)
        if let notBefore, now + options.leeway < notBefore { throw .notYetValid }
        let issuedAt = try claims.number(.iat)
        if let issuedAt, issuedAt > now + options.leeway { throw .issuedInFuture }

        let issuer = try claims.string(.iss)
        if let expected = options.issuer, issuer != expected { throw .wrongIssuer }

        // RFC 7519 §4.1.3: one string, or an array of strings.
        let audience = try claims.stringOrStrings(.aud) ?? []
        if let expected = options.audience, !audience.contains(expected) { throw .wrongAudience }

        let subject = try claims.string(.sub) ?? ""
        if subject.isEmpty, options.requireSubject { throw .missingSubject }

        return Claims(
            subject: subject,
            expiresAt: expiresAt ?? .infinity,
            notBefore: notBefore,
            issuedAt: issuedAt,
            issuer: issuer,
            audience: audience,
            channels: try claims.strings(.channels) ?? [],
            info: try claims.json(.info),
            channel: try claims.string(.channel)
        )
    }
}

/// Typed access to the members of a claims object. Absent and `null` are the same (nil); present
/// with the wrong JSON type is `invalidClaim`.
private struct JSONObject {
    let members: [String: Any]

    private func value(_ name: ClaimName) -> Any? {
        guard let value = members[name.rawValue], !(value is NSNull) else { return nil }
        return value
    }

    /// A JSON number. Foundation hands back JSON `true`/`false` as NSNumber too, and Swift would
    /// happily cast them to 1 and 0, so booleans are told apart by their class.
    func number(_ name: ClaimName) throws(AuthError) -> Double? {
        guard let value = value(name) else { return nil }
        guard let number = value as? NSNumber, !JSONObject.isBoolean(number) else { throw .invalidClaim(name) }
        let double = number.doubleValue
        guard double.isFinite else { throw .invalidClaim(name) }
        return double
    }

    func string(_ name: ClaimName) throws(AuthError) -> String? {
        guard let value = value(name) else { return nil }
        guard let string = value as? String else { throw .invalidClaim(name) }
        return string
    }

    func strings(_ name: ClaimName) throws(AuthError) -> [String]? {
        guard let value = value(name) else { return nil }
        guard let array = value as? [Any] else { throw .invalidClaim(name) }
        var strings: [String] = []
        strings.reserveCapacity(array.count)
        for element in array {
            guard let string = element as? String else { throw .invalidClaim(name) }
            strings.append(string)
        }
        return strings
    }

    /// One string, taken as a list of one, or an array of strings.
    func stringOrStrings(_ name: ClaimName) throws(AuthError) -> [String]? {
        if let single = value(name) as? String { return [single] }
        return try strings(name)
    }

    /// Any JSON value, re-serialized compactly with sorted keys.
    func json(_ name: ClaimName) throws(AuthError) -> String? {
        guard let value = value(name) else { return nil }
        guard let data = try? JSONSerialization.data(
            withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        else { throw .invalidClaim(name) }
        return String(decoding: data, as: UTF8.self)
    }

    private static let booleanClass = ObjectIdentifier(type(of: NSNumber(value: true)))

    private static func isBoolean(_ number: NSNumber) -> Bool {
        ObjectIdentifier(type(of: number)) == booleanClass
    }
}
