import Auth
import Foundation
import RelayServer
import WebSocket

/// Development aids on the admin listener, on only when config `dev` asks for them (the dev
/// config that `make run` uses): static files for the demo page and the JS client, and tokens for
/// anyone who asks, so the page works without the main API. In production the API issues every
/// token; Relay only verifies them.
struct DevEndpoints: Sendable {
    /// Prefixes a static folder may not take: the admin listener's own endpoints.
    static let reservedPrefixes = ["/api/", "/dev/", "/health", "/ready", "/metrics"]
    /// What a development user id may be: it lands in channel names (`user:<id>`) and logs.
    private static let userCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
    private static let contentTypes = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "mjs": "text/javascript; charset=utf-8",
        "css": "text/css; charset=utf-8", "json": "application/json", "svg": "image/svg+xml", "png": "image/png",
        "ico": "image/x-icon", "md": "text/plain; charset=utf-8", "ts": "text/plain; charset=utf-8",
    ]
    /// The demo's files are small; a bigger file is not what this is for.
    private static let maxFileBytes = 4 << 20

    let config: GatewayConfig.DevConfig
    /// The first HS256 secret, when `dev.tokens` is on.
    let secret: [UInt8]?

    init(config: GatewayConfig.DevConfig, auth: GatewayConfig.AuthConfig) throws {
        self.config = config
        secret = config.tokens ? try Gateway.developmentSecret(auth) : nil
        for (prefix, folder) in config.staticFolders {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
                throw ConfigError("dev.static.\(prefix): \(folder) is not a folder (paths are relative to the working directory)")
            }
        }
    }

    /// Answers the request if it is one of these endpoints; false leaves it to the server API.
    func handle(_ head: HTTPRequestHead, _ respond: HTTPConnection.Respond) -> Bool {
        let path = String(head.path)
        if path == "/dev/token", config.tokens {
            guard head.method == "GET" else { respond(.methodNotAllowed, HTTPConnection.error(.methodNotAllowed, "use GET")); return true }
            token(Self.queryItems(head.query ?? ""), respond)
            return true
        }
        // The longest prefix wins, so that /demo/js/ may be served from another folder than /demo/.
        guard let (prefix, folder) = config.staticFolders.filter({ path.hasPrefix($0.key) || path + "/" == $0.key })
            .max(by: { $0.key.count < $1.key.count }) else { return false }
        guard head.method == "GET" else { respond(.methodNotAllowed, HTTPConnection.error(.methodNotAllowed, "use GET")); return true }
        serveFile(relative: String(path.dropFirst(min(prefix.count, path.count))), in: folder, respond)
        return true
    }

    private func token(_ query: [String: String], _ respond: HTTPConnection.Respond) {
        guard let user = query["user"], (1...64).contains(user.count), user.allSatisfy(Self.userCharacters.contains) else {
            return respond(.badRequest, HTTPConnection.error(.badRequest, "user: 1 to 64 letters, digits, '-', '_' or '.'"))
        }
        let now = Int(Date().timeIntervalSince1970)
        let expires = now + Int(config.tokenTTL)
        var claims: [String: Any] = ["sub": user, "iat": now, "exp": expires]
        var info: [String: Any] = [:]
        if let name = query["name"], !name.isEmpty { info["name"] = String(name.prefix(64)) }
        if let role = query["role"], !role.isEmpty { info["role"] = String(role.prefix(32)) }
        if !info.isEmpty { claims["info"] = info }
        if let channels = query["channels"], !channels.isEmpty { claims["channels"] = channels.split(separator: ",").map(String.init) }
        guard let secret, let token = try? DevelopmentToken.mint(claims: claims, secret: secret),
              let body = try? JSONSerialization.data(withJSONObject: ["token": token, "user": user, "expires": expires], options: [.sortedKeys])
        else {
            return respond(.serviceUnavailable, HTTPConnection.error(.serviceUnavailable, "cannot sign a token"))
        }
        respond(.ok, Array(body))
    }

    /// Reads the file on the admin loop: a blocking read, acceptable for a development page and
    /// never reached in production (no `dev.static` there).
    private func serveFile(relative: String, in folder: String, _ respond: HTTPConnection.Respond) {
        let name = relative.isEmpty ? "index.html" : relative
        let segments = name.split(separator: "/", omittingEmptySubsequences: false)
        // No way out of the folder, and no hidden files.
        guard !segments.contains(where: { $0.isEmpty || $0.hasPrefix(".") || $0.contains("\\") }) else {
            return respond(.notFound, HTTPConnection.error(.notFound, "no such file"))
        }
        let file = folder + "/" + name
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: file),
              attributes[.type] as? FileAttributeType == .typeRegular,
              (attributes[.size] as? Int ?? .max) <= Self.maxFileBytes,
              let data = FileManager.default.contents(atPath: file)
        else {
            return respond(.notFound, HTTPConnection.error(.notFound, "no such file"))
        }
        let fileExtension = name.split(separator: ".").last.map(String.init) ?? ""
        respond.text(.ok, Array(data), contentType: Self.contentTypes[fileExtension] ?? "application/octet-stream")
    }

    /// `a=1&b=x%20y` → ["a": "1", "b": "x y"]; '+' is a space, as forms send it.
    static func queryItems(_ query: Substring) -> [String: String] {
        var items: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (text: Substring) in String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            guard let key = decode(parts[0]), let value = decode(parts.count > 1 ? parts[1] : "") else { continue }
            items[key] = value
        }
        return items
    }
}
