import Foundation

/// The protected header of a JWS: which algorithm, and which key.
struct JOSEHeader {
    let algorithm: JWTAlgorithm
    let kid: String?

    static func parse(_ bytes: [UInt8]) -> Result<JOSEHeader, AuthError> {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)),
              let members = object as? [String: Any],
              let name = members["alg"] as? String
        else { return .failure(.malformed) }
        // `kid` and `typ` are optional but must be strings when present.
        let kid = members["kid"]
        guard kid == nil || kid is String, members["typ"] == nil || members["typ"] is String else {
            return .failure(.malformed)
        }
        // RFC 7515 §4.1.11: a JWS naming critical extensions we do not implement (such as
        // RFC 7797's unencoded payload) must be refused, and we implement none.
        guard members["crit"] == nil else { return .failure(.malformed) }
        // Case-sensitive match: "none", "None", "HS256 " and "hs256" all miss.
        guard let algorithm = JWTAlgorithm(rawValue: name) else { return .failure(.unsupportedAlgorithm) }
        return .success(JOSEHeader(algorithm: algorithm, kid: kid as? String))
    }
}
