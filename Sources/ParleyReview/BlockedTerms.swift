import Foundation
import ParleyDomain

/// The built-in `builtin:blocked-terms` handler: per-room lists of words or regular expressions that
/// deny a message or mask the offending text. Loaded from a JSON settings file:
/// ```json
/// {"default": {"action": "mask", "terms": ["darn", "re:fr[o0]+b"]},
///  "rooms": {"AbCdEf123456": {"action": "deny", "terms": ["spoiler"]}}}
/// ```
/// Plain terms match whole words, case-insensitively; `re:` terms are regular expressions.
public struct BlockedTerms: Sendable {
    public enum Action: String, Sendable, Codable {
        case deny
        case mask
    }

    public struct Rule: Sendable, Codable {
        public var action: Action
        public var terms: [String]

        public init(action: Action, terms: [String]) {
            self.action = action
            self.terms = terms
        }
    }

    struct CompiledRule: @unchecked Sendable {
        // NSRegularExpression is immutable once built, so sharing it across tasks is safe.
        var action: Action
        var patterns: [NSRegularExpression]
    }

    private let defaultRule: CompiledRule?
    private let roomRules: [String: CompiledRule]

    public init(defaultRule: Rule? = nil, roomRules: [String: Rule] = [:]) throws {
        self.defaultRule = try defaultRule.map(Self.compile)
        self.roomRules = try roomRules.mapValues(Self.compile)
    }

    /// Reads the settings file described above.
    public static func load(contentsOf url: URL) throws -> BlockedTerms {
        struct File: Codable {
            var `default`: Rule?
            var rooms: [String: Rule]?
        }
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
        return try BlockedTerms(defaultRule: file.default, roomRules: file.rooms ?? [:])
    }

    private static func compile(_ rule: Rule) throws -> CompiledRule {
        let patterns = try rule.terms.map { term in
            if term.hasPrefix("re:") {
                return try NSRegularExpression(pattern: String(term.dropFirst(3)), options: [.caseInsensitive])
            }
            return try NSRegularExpression(
                pattern: "\\b" + NSRegularExpression.escapedPattern(for: term) + "\\b", options: [.caseInsensitive])
        }
        return CompiledRule(action: rule.action, patterns: patterns)
    }

    func review(_ request: ReviewRequest) -> ReviewVerdict {
        guard let rule = roomRules[request.roomID] ?? defaultRule else {
            return .allow(content: request.content, attributes: request.attributes)
        }
        var content = request.content
        var matched = false
        for pattern in rule.patterns {
            let range = NSRange(content.startIndex..., in: content)
            let matches = pattern.matches(in: content, range: range)
            guard !matches.isEmpty else { continue }
            matched = true
            if rule.action == .deny { break }
            for match in matches.reversed() {
                guard let found = Range(match.range, in: content) else { continue }
                content.replaceSubrange(found, with: String(repeating: "*", count: content[found].count))
            }
        }
        guard matched else { return .allow(content: request.content, attributes: request.attributes) }
        switch rule.action {
        case .deny: return .deny(reason: "The message contains a blocked term.")
        case .mask: return .allow(content: content, attributes: request.attributes)
        }
    }
}
