import Auth
import ArgumentParser
import Glibc
import Logging
import Reactor
import TLS

/// Where the connections go and how they are spread over addresses and processes.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "The server's WebSocket URL, ws://HOST:PORT/PATH or wss://HOST[:PORT]/PATH (a loopback address or localhost; wss's port defaults to 443); repeat it for several replicas, which the connections take in turn.")
    var url: [String]
    @Option(help: ArgumentHelp("With wss:// URLs: check the server's certificate against the CA certificates in this PEM file, and that it names the URL's host. Without it the certificate is not checked at all (insecure: meant for a loopback server with a self-signed test certificate).", valueName: "path"))
    var caFile: String?
    @Flag(help: "With wss:// URLs: offer each new connection the session of the last completed handshake with that URL (per worker), to measure resumed handshakes; the report counts those the server resumed.")
    var tlsResume = false
    @Option(help: "Bind connections to these local addresses in turn, e.g. 127.0.0.2-127.0.0.9: each has its own ephemeral ports.")
    var sourceAddresses: String?
    @Option(help: "Connections setting up at once, per worker.")
    var concurrency = 256
    @Option(help: "Worker processes to spread the connections over (a process may open at most 20,000 files).")
    var workers = 1
    @Option(help: "Seconds every connection has to be set up.")
    var setupTimeout = 120.0
    @Option(help: .hidden)
    var workerIndex: Int?

    func validate() throws {
        guard !url.isEmpty else { throw ValidationError("give the server's URL with --url") }
        guard workers >= 1, concurrency >= 1, setupTimeout > 0 else {
            throw ValidationError("--workers, --concurrency and --setup-timeout must be positive")
        }
        if caFile != nil || tlsResume, !url.contains(where: { $0.hasPrefix("wss://") }) {
            throw ValidationError("--ca-file and --tls-resume need a wss:// URL")
        }
    }

    /// This process's share of `total` connections. The coordinator computes worker 0's (the
    /// largest), which checks the options before any worker starts.
    func plan(total: Int, subprotocols: [String] = [], session: RelaySession? = nil) throws -> ConnectionSwarm.Plan {
        let index = workerIndex ?? 0
        let base = total / workers, extra = total % workers
        let first = index * base + min(index, extra)
        let count = base + (index < extra ? 1 : 0)
        let files = FileLimit.raiseToMaximum()
        // The loop, its eventfd, the pipes and the publisher's requests need a few more.
        guard count + 64 <= files else {
            throw ValidationError("\(count) connections in one process need more than its \(files) open files: use --workers \(total / max(1, files - 64) + 1) or more")
        }
        let endpoints = try url.map { try Endpoint(parsing: $0, schemes: ["ws", "wss"]) }
        return ConnectionSwarm.Plan(endpoints: endpoints, tls: try endpoints.map { try tlsContext(for: $0) }, numbers: first..<(first + count),
                                    sources: try sourceAddresses.map { try SourceAddresses(parsing: $0) },
                                    concurrency: concurrency, subprotocols: subprotocols, session: session,
                                    setupTimeout: Clock.nanoseconds(seconds: setupTimeout))
    }

    /// One client context per wss:// URL: the session --tls-resume offers is that server's.
    /// The coordinator makes them too, which checks --ca-file before any worker starts.
    private func tlsContext(for endpoint: Endpoint) throws -> TLSClientContext? {
        guard endpoint.isSecure else { return nil }
        do {
            return try TLSClientContext(verification: caFile.map { .caFile($0) } ?? .insecure, resumeSessions: tlsResume)
        } catch {
            throw ValidationError("TLS: \(error)")
        }
    }

    /// Whether the connections use TLS, for the report.
    var usesTLS: Bool { url.contains { $0.hasPrefix("wss://") } }
}

/// How the swarm signs the token it mints for each connection, as the main API would: an HS*
/// secret, or a PEM private key (RS*, PS256, ES*, EdDSA) whose public key the gateway verifies with.
struct SecretOptions: ParsableArguments {
    @Option(help: "The gateway's HS256 secret.")
    var secret: String?
    @Option(help: "Read the HS256 secret from this environment variable instead.")
    var secretEnv: String?
    @Option(help: ArgumentHelp("Sign tokens with this PEM private key instead (RSA, EC P-256/P-384 or Ed25519, unencrypted).", valueName: "path"))
    var privateKeyFile: String?
    @Option(help: "The JWS algorithm: HS256, HS384, HS512 with a secret; RS256, RS384, RS512, PS256, ES256, ES384, EdDSA with a key.")
    var algorithm: String?

    func resolve() throws -> TokenSigner {
        let named = try algorithm.map { name in
            guard let algorithm = JWTAlgorithm(rawValue: name) else { throw ValidationError("--algorithm: unknown algorithm \(name)") }
            return algorithm
        }
        if let privateKeyFile {
            guard let named else { throw ValidationError("--private-key-file needs --algorithm") }
            guard let pem = FileBytes.read(privateKeyFile) else { throw ValidationError("cannot read \(privateKeyFile)") }
            do {
                return try TokenSigner(algorithm: named, privateKeyPEM: pem)
            } catch {
                throw ValidationError("--private-key-file: \(error)")
            }
        }
        let secret: [UInt8]
        if let text = self.secret {
            secret = Array(text.utf8)
        } else if let secretEnv {
            guard let value = getenv(secretEnv) else { throw ValidationError("the environment variable \(secretEnv) is not set") }
            secret = Array(String(cString: value).utf8)
        } else {
            throw ValidationError("give the gateway's secret with --secret or --secret-env, or a key with --private-key-file")
        }
        do {
            return try TokenSigner(algorithm: named ?? .hs256, secret: secret)
        } catch {
            throw ValidationError("--algorithm: \(error)")
        }
    }
}

/// The measured window: warm-up first, then the duration that counts.
struct TimingOptions: ParsableArguments {
    @Option(help: "Seconds of traffic before measuring.")
    var warmup = 2.0
    @Option(help: "Seconds measured.")
    var duration = 10.0
    @Option(help: "Seconds allowed after the traffic for what is in flight to arrive.")
    var drainTimeout = 10.0

    func validate() throws {
        guard warmup >= 0, duration > 0, drainTimeout >= 0 else {
            throw ValidationError("--warmup and --drain-timeout must not be negative, --duration must be positive")
        }
    }
}

/// The one loop a swarm process runs on. Its log goes to stderr: a worker's stdout is its pipe
/// to the coordinator.
func makeLoop() throws -> EventLoop {
    // A write to a connection the server has reset must fail with EPIPE, not kill the process.
    signal(SIGPIPE, SIG_IGN)
    return try EventLoop(index: 0, logger: Logger(label: "relay-swarm") { StreamLogHandler.standardError(label: $0) })
}

/// Runs this process as a worker of a scenario: never returns.
func runWorker(_ workload: Workload, loop: EventLoop) throws -> Never {
    let link = try WorkerLink(loop: loop, workload: workload)
    link.run()
    exit(1)
}

/// The arguments a worker is started with: the coordinator's own.
var workerArguments: [String] { Array(CommandLine.arguments.dropFirst()) }
