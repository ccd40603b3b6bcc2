/// Collects every field problem of a request, then throws them together as one ValidationException.
public struct FieldValidator: Sendable {
    public private(set) var problems: [FieldProblem] = []

    public init() {}

    public mutating func fail(_ field: String, _ message: String) {
        problems.append(FieldProblem(name: field, message: message))
    }

    /// Requires a present value.
    public mutating func required(_ value: (some Any)?, _ field: String) {
        if value == nil { fail(field, "is required") }
    }

    /// Length in Unicode code points, as the model's `min`/`max` on strings.
    public mutating func length(_ value: String?, _ field: String, _ range: ClosedRange<Int>) {
        guard let value else { return }
        let count = value.unicodeScalars.count
        if !range.contains(count) {
            fail(field, "length must be between \(range.lowerBound) and \(range.upperBound) characters, got \(count)")
        }
    }

    public mutating func range(_ value: Int?, _ field: String, _ range: ClosedRange<Int>) {
        guard let value else { return }
        if !range.contains(value) { fail(field, "must be between \(range.lowerBound) and \(range.upperBound), got \(value)") }
    }

    /// Every Unicode scalar of `value` must satisfy `allowed`; `description` names the pattern in the message.
    public mutating func characters(_ value: String?, _ field: String, _ description: String, _ allowed: (Unicode.Scalar) -> Bool) {
        guard let value else { return }
        if !value.unicodeScalars.allSatisfy(allowed) { fail(field, "must match pattern \(description)") }
    }

    public mutating func check(_ condition: Bool, _ field: String, _ message: String) {
        if !condition { fail(field, message) }
    }

    /// Throws a ValidationException listing every problem found, if any.
    public func validate() throws(ParleyError) {
        guard !problems.isEmpty else { return }
        let summary = problems.map { "\($0.name): \($0.message)" }.joined(separator: "; ")
        throw .validation(reason: .fieldValidationFailed, message: summary, fields: problems)
    }
}

/// Character classes of the model's patterns.
public enum CharacterClass {
    public static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII && ResourceID.isAlphanumeric(UInt8(scalar.value))
    }

    /// `[a-zA-Z0-9-_]`: room and logging configuration names.
    public static func isNameCharacter(_ scalar: Unicode.Scalar) -> Bool {
        isAlphanumeric(scalar) || scalar == "-" || scalar == "_"
    }
}

/// Limits shared by rooms, tokens and messages.
public enum RoomRules {
    public static let defaultMaximumMessageLength = 500
    public static let maximumMessageLengthRange = 1...500
    public static let defaultMaximumMessageRatePerSecond = 10
    public static let maximumMessageRateRange = 1...100
    public static let nameLength = 0...128
    public static let maximumLoggingConfigurations = 3
    public static let reviewHandlerURIMaximumLength = 170

    public static func validateName(_ name: String?, _ field: String, into validator: inout FieldValidator) {
        validator.length(name, field, nameLength)
        validator.characters(name, field, "[a-zA-Z0-9-_]*", CharacterClass.isNameCharacter)
    }

    /// The built-in handler that denies or masks a room's blocked terms.
    public static let blockedTermsHandlerURI = "builtin:blocked-terms"

    /// A review handler URI is empty (detach), a Lambda function ARN, an http(s) URL, or a built-in handler.
    public static func isValidReviewHandlerURI(_ uri: String) -> Bool {
        if uri.isEmpty || uri == blockedTermsHandlerURI { return true }
        if uri.hasPrefix("http://") || uri.hasPrefix("https://") {
            let rest = uri.drop(while: { $0 != "/" }).dropFirst(2)
            return !rest.isEmpty && !rest.hasPrefix("/")
                && uri.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 0x20 && $0 != "\u{7F}" }
        }
        // arn:aws:lambda:[a-z0-9-]+:[0-9]{12}:function:.+
        let parts = uri.split(separator: ":", maxSplits: 6, omittingEmptySubsequences: false)
        guard parts.count == 7, parts[0] == "arn", parts[1] == "aws", parts[2] == "lambda", parts[5] == "function" else { return false }
        let regionOK =
            !parts[3].isEmpty && parts[3].unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
        let accountOK = parts[4].count == 12 && parts[4].unicodeScalars.allSatisfy { ("0"..."9").contains($0) }
        return regionOK && accountOK && !parts[6].isEmpty
    }
}

/// Tag limits, shared by every taggable resource.
public enum TagRules {
    public static let maximumCount = 50
    public static let keyLength = 1...128
    public static let valueLength = 0...256

    public static func validate(_ tags: [String: String]?, _ field: String, into validator: inout FieldValidator) {
        guard let tags else { return }
        validator.check(tags.count <= maximumCount, field, "at most \(maximumCount) tags are allowed, got \(tags.count)")
        for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
            validator.length(key, "\(field).key", keyLength)
            validator.length(value, "\(field).\(key)", valueLength)
        }
    }
}

/// Chat token limits.
public enum ChatTokenRules {
    public static let userIDLength = 1...128
    public static let sessionDurationRange = 1...180
    public static let defaultSessionDurationInMinutes = 60
    /// Token attributes: keys and values together, in UTF-8 bytes.
    public static let maximumAttributesBytes = 1024
}

/// Message and event limits.
public enum MessageRules {
    public static let reasonLength = 1...256
    public static let eventNameLength = 1...100
    /// SendEvent attributes: keys and values together, in UTF-8 bytes.
    public static let maximumEventAttributesBytes = 4096
    /// Message attributes: keys and values together, in UTF-8 bytes.
    public static let maximumMessageAttributesBytes = 1024

    /// The size of an attribute map as IVS counts it: every key and value, in UTF-8 bytes.
    public static func attributesSize(_ attributes: [String: String]) -> Int {
        attributes.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
    }
}

/// Logging configuration limits.
public enum LoggingRules {
    public static let bucketNameLength = 3...63
    public static let logGroupNameLength = 1...512
    public static let deliveryStreamNameLength = 1...64

    public static func validate(_ destination: LogDestination, _ field: String, into validator: inout FieldValidator) {
        switch destination {
        case .s3(let bucketName):
            let name = "\(field).s3.bucketName"
            validator.length(bucketName, name, bucketNameLength)
            validator.characters(bucketName, name, "[a-z0-9-.]+") {
                ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "."
            }
        case .cloudWatchLogs(let logGroupName):
            let name = "\(field).cloudWatchLogs.logGroupName"
            validator.length(logGroupName, name, logGroupNameLength)
            validator.characters(logGroupName, name, "[\\.\\-_/#A-Za-z0-9]+") {
                CharacterClass.isAlphanumeric($0) || ".-_/#".unicodeScalars.contains($0)
            }
        case .firehose(let deliveryStreamName):
            let name = "\(field).firehose.deliveryStreamName"
            validator.length(deliveryStreamName, name, deliveryStreamNameLength)
            validator.characters(deliveryStreamName, name, "[a-zA-Z0-9_.-]+") {
                CharacterClass.isAlphanumeric($0) || "_.-".unicodeScalars.contains($0)
            }
        }
    }
}

/// Listing limits.
public enum PageRules {
    public static let maxResultsRange = 1...50
    public static let defaultMaxResults = 50
    public static let nextTokenLength = 0...1024
}
