import ArgumentParser
import CSystem
import Glibc
import JSON

/// `--step`: runs the scenario again and again, raising one of its options each time, until a
/// step misses the target (p99 latency, lost messages, a setup failure, or the swarm itself
/// saturated), and reports the last load that held. Each step is this executable run again
/// without the step options, as a separate process, so no state carries over.
struct StepOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Raise an option step by step: OPTION=START*FACTOR (e.g. rate=1000*2) or OPTION=START+INCREMENT (e.g. connections=5000+5000).", valueName: "option=start*factor"))
    var step: String?
    @Option(help: "With --step: the most steps to run.")
    var steps = 8
    @Option(help: "With --step: a step holds while its p99 latency (end to end, or setup latency for idle and connect) is at most this many milliseconds.")
    var p99Ms = 50.0
    @Option(help: "With --step: a step holds while it lost at most this many messages (of every kind: chat's conversation messages and availability pushes together).")
    var maxLost = 0

    func validate() throws {
        guard let step else { return }
        _ = try StepPlan(parsing: step)
        guard (1...50).contains(steps), p99Ms > 0, maxLost >= 0 else {
            throw ValidationError("--steps must be 1 to 50, --p99-ms positive, --max-lost not negative")
        }
    }

    /// In the coordinator with --step: runs the steps and exits; otherwise returns at once.
    func runIfStepping(scenario: String) throws {
        guard let step else { return }
        let plan = try StepPlan(parsing: step)
        Glibc.exit(Stepper(plan: plan, options: self, scenario: scenario).run())
    }
}

struct StepPlan {
    enum Growth { case factor(Double), increment(Double) }
    let option: String
    let start: Double
    let growth: Growth

    init(parsing text: String) throws {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].allSatisfy({ $0.isLetter || $0 == "-" }) else {
            throw ValidationError("--step: OPTION=START*FACTOR or OPTION=START+INCREMENT, e.g. rate=1000*2")
        }
        option = parts[0]
        let isFactor = parts[1].contains("*")
        let numbers = parts[1].split(separator: isFactor ? "*" : "+").compactMap { Double($0) }
        guard numbers.count == 2, numbers[0] > 0, isFactor ? numbers[1] > 1 : numbers[1] > 0 else {
            throw ValidationError("--step: a positive START and a FACTOR above 1 or a positive INCREMENT, e.g. rate=1000*2")
        }
        start = numbers[0]
        growth = isFactor ? .factor(numbers[1]) : .increment(numbers[1])
    }

    func value(atStep index: Int) -> Double {
        switch growth {
        case .factor(let factor): return (0..<index).reduce(start) { value, _ in value * factor }
        case .increment(let increment): return start + Double(index) * increment
        }
    }
}

private struct Stepper {
    let plan: StepPlan
    let options: StepOptions
    let scenario: String
    private static let ownOptions: Set<String> = ["--step", "--steps", "--p99-ms", "--max-lost"]

    func run() -> Int32 {
        var held: (value: Double, report: JSONValue?)?
        var miss = "every step held"
        var steps = JSONWriter()
        steps.beginArray()
        for index in 0..<options.steps {
            let value = plan.value(atStep: index)
            let text = Format.decimal(value, places: 3)
            printError("relay-swarm \(scenario): step \(index + 1), --\(plan.option) \(text)")
            let (status, output) = Self.runChild(arguments: arguments(value: text))
            let report = output.split(separator: "\n").last.flatMap { try? JSONParser.parse(Array($0.utf8)) }
            let verdict = judge(status: status, report: report)
            steps.beginObject()
            steps.key("value"); steps.double(value)
            steps.key("held"); steps.bool(verdict.held)
            steps.key("p99_ms"); if let p99 = verdict.p99Ms { steps.double(p99) } else { steps.null() }
            steps.key("lost"); steps.int(verdict.lost)
            steps.key("reason"); steps.string(verdict.reason)
            steps.endObject()
            printError("relay-swarm \(scenario): step \(index + 1): \(verdict.held ? "held" : "missed"): \(verdict.reason)")
            guard verdict.held else {
                miss = "--\(plan.option) \(text): \(verdict.reason)"
                break
            }
            held = (value, report)
        }
        steps.endArray()
        printError("relay-swarm \(scenario) --step: "
                   + (held.map { "the last load that held: --\(plan.option) \(Format.decimal($0.value, places: 3))" } ?? "no step held") + "; \(miss)")
        var json = JSONWriter()
        json.beginObject()
        json.key("scenario"); json.string("step")
        json.key("of"); json.string(scenario)
        json.key("option"); json.string(plan.option)
        json.key("p99_ms_target"); json.double(options.p99Ms)
        json.key("max_lost"); json.int(options.maxLost)
        json.key("held"); if let held { json.double(held.value) } else { json.null() }
        json.key("missed"); json.string(miss)
        json.key("steps"); steps.bytes.withUnsafeBytes { json.raw($0) }
        json.key("last_held_report"); if let report = held?.report { json.value(report) } else { json.null() }
        json.endObject()
        _ = writeAll(1, json.bytes + [0x0A])
        return held == nil ? 1 : 0
    }

    private struct Verdict {
        var held: Bool
        var reason: String
        var p99Ms: Double?
        var lost = 0
    }

    private func judge(status: Int32, report: JSONValue?) -> Verdict {
        guard status == 0, let report else {
            return Verdict(held: false, reason: "the run failed (exit status \(status))")
        }
        let latency = report["latency_us"] ?? report["setup_latency_us"]
        let p99 = latency?["p99"]?.double.map { $0 / 1000 }
        // Every kind of loss counts: chat reports its availability pushes' apart (availability_lost).
        let lost = (report.object ?? []).reduce(0) { sum, member in
            member.key == "lost" || member.key.hasSuffix("_lost") ? sum + Int(member.value.int64 ?? 0) : sum
        }
        let measured = "p99 \(p99.map { Format.decimal($0, places: 2) } ?? "?") ms, lost \(lost)"
        var verdict = Verdict(held: false, reason: measured, p99Ms: p99, lost: lost)
        if report["client_bound"]?.bool == true {
            verdict.reason += ": the swarm saturated its core (client-bound), so the limit is the client's: add --workers or a core"
        } else if let p99, p99 > options.p99Ms {
            verdict.reason += ": p99 over the \(Format.decimal(options.p99Ms, places: 2)) ms target"
        } else if lost > options.maxLost {
            verdict.reason += ": more than \(options.maxLost) lost"
        } else {
            verdict.held = true
        }
        return verdict
    }

    /// This process's arguments without the step options and the stepped option, then the
    /// stepped option with its value for this step.
    private func arguments(value: String) -> [String] {
        let stepped = "--\(plan.option)"
        var result: [String] = []
        var arguments = workerArguments[...]
        while let argument = arguments.popFirst() {
            let name = argument.split(separator: "=", maxSplits: 1).first.map(String.init) ?? argument
            guard Self.ownOptions.contains(name) || name == stepped else { result.append(argument); continue }
            if !argument.contains("=") { _ = arguments.popFirst() }
        }
        return result + [stepped, value]
    }

    /// Runs this executable with `arguments`, its stderr ours; returns its exit status and stdout.
    private static func runChild(arguments: [String]) -> (Int32, String) {
        var output: [Int32] = [0, 0]
        guard pipe(&output) == 0 else { return (-1, "") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_addclose(&actions, output[0])
        let argv = ([CommandLine.arguments[0]] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, "/proc/self/exe", &actions, nil, argv, environ)
        close(output[1])
        defer { close(output[0]) }
        guard spawned == 0 else { return (-1, "") }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(output[0], $0.baseAddress!, $0.count) }
            if count < 0, csystem_errno() == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[0..<count]
        }
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0, csystem_errno() == EINTR {}
        let exitStatus = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return (exitStatus, String(decoding: bytes, as: UTF8.self))
    }
}
