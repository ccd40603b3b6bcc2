import ParleyDomain
import Testing

/// The problems `body` records, or none.
func problems(_ body: (inout FieldValidator) -> Void) -> [FieldProblem] {
    var validator = FieldValidator()
    body(&validator)
    return validator.problems
}

@Suite("FieldValidator")
struct FieldValidatorTests {
    @Test("a validator without problems does not throw")
    func validWhenEmpty() throws {
        var validator = FieldValidator()
        validator.required("present", "name")
        validator.length("abc", "name", 1...3)
        validator.range(5, "rate", 1...10)
        validator.check(true, "flag", "never")

        #expect(validator.problems.isEmpty)
        try validator.validate()
    }

    @Test("every problem is collected, in order, and thrown together as one validation error")
    func collectsEveryProblem() {
        // Setup / act: three different fields fail.
        var validator = FieldValidator()
        validator.required(String?.none, "userId")
        validator.range(0, "maximumMessageRatePerSecond", 1...100)
        validator.check(false, "capabilities", "unknown capability")

        // Verify.
        let expected = [
            FieldProblem(name: "userId", message: "is required"),
            FieldProblem(name: "maximumMessageRatePerSecond", message: "must be between 1 and 100, got 0"),
            FieldProblem(name: "capabilities", message: "unknown capability"),
        ]
        #expect(validator.problems == expected)
        let error = #expect(throws: ParleyError.self) { try validator.validate() }
        guard case .validation(let reason, let message, let fields) = error else {
            Issue.record("expected a validation error, got \(String(describing: error))")
            return
        }
        #expect(reason == .fieldValidationFailed)
        #expect(fields == expected)
        for field in expected { #expect(message.contains(field.name)) }
    }

    @Test("absent optional values are not checked")
    func absentValuesPass() {
        let found = problems {
            $0.length(nil, "name", 1...3)
            $0.range(nil, "rate", 1...10)
            $0.characters(nil, "name", "[a-z]", { _ in false })
        }
        #expect(found.isEmpty)
    }

    @Test("length counts Unicode code points, not bytes or UTF-16 units")
    func lengthInCodePoints() {
        // "🎉🎉🎉" is 3 code points, 12 UTF-8 bytes, 6 UTF-16 units.
        #expect(problems { $0.length("🎉🎉🎉", "content", 1...3) }.isEmpty)
        #expect(problems { $0.length("🎉🎉🎉🎉", "content", 1...3) }.map(\.name) == ["content"])
        // "e" followed by a combining acute accent: one grapheme, two code points.
        #expect(problems { $0.length("e\u{301}", "content", 1...1) }.map(\.name) == ["content"])
        #expect(problems { $0.length("", "content", 1...3) }.map(\.name) == ["content"])
    }

    @Test("range bounds are inclusive")
    func rangeBounds() {
        #expect(problems { $0.range(1, "rate", 1...100) }.isEmpty)
        #expect(problems { $0.range(100, "rate", 1...100) }.isEmpty)
        #expect(problems { $0.range(101, "rate", 1...100) }.count == 1)
    }

    @Test("room names allow [a-zA-Z0-9-_]* up to 128 code points")
    func roomNames() {
        func nameProblems(_ name: String) -> [FieldProblem] {
            problems { RoomRules.validateName(name, "name", into: &$0) }
        }
        #expect(nameProblems("").isEmpty)
        #expect(nameProblems("Lobby_room-01").isEmpty)
        #expect(nameProblems(String(repeating: "a", count: 128)).isEmpty)
        #expect(nameProblems(String(repeating: "a", count: 129)).count == 1)
        #expect(nameProblems("with space").count == 1)
        #expect(nameProblems("café").count == 1)
        #expect(nameProblems("room.name").count == 1)
    }
}

@Suite("RoomRules.isValidReviewHandlerURI")
struct ReviewHandlerURITests {
    @Test(
        "accepts empty (detach), Lambda function ARNs and http(s) URLs",
        arguments: [
            "",
            "arn:aws:lambda:us-west-2:123456789012:function:my-function",
            "arn:aws:lambda:us-west-2:123456789012:function:my-function:prod",
            "arn:aws:lambda:eu-central-1:000000000000:function:x",
            "https://example.com/review",
            "http://localhost:9000",
            "http://127.0.0.1:8081/hook?room=1",
        ]
    )
    func accepts(_ uri: String) {
        #expect(RoomRules.isValidReviewHandlerURI(uri))
    }

    @Test(
        "rejects anything else",
        arguments: [
            "lambda",
            "arn:aws:lambda:us-west-2:123456789012:function:",
            "arn:aws:lambda:us-west-2:12345678901:function:f",
            "arn:aws:lambda:us-west-2:1234567890123:function:f",
            "arn:aws:lambda:US-WEST-2:123456789012:function:f",
            "arn:aws:lambda::123456789012:function:f",
            "arn:aws:lambda:us-west-2:123456789012:layer:f",
            "arn:aws:s3:us-west-2:123456789012:function:f",
            "arn:aws-cn:lambda:us-west-2:123456789012:function:f",
            "https://",
            "http://",
            "https:///path",
            "https://exa mple.com/",
            "https://例え.jp/",
            "https://example.com/\u{7F}",
            "ftp://example.com/",
            "example.com",
        ]
    )
    func rejects(_ uri: String) {
        #expect(!RoomRules.isValidReviewHandlerURI(uri))
    }
}

@Suite("TagRules")
struct TagRulesTests {
    func tagProblems(_ tags: [String: String]?) -> [FieldProblem] {
        problems { TagRules.validate(tags, "tags", into: &$0) }
    }

    func tags(count: Int) -> [String: String] {
        Dictionary(uniqueKeysWithValues: (0..<count).map { ("key\($0)", "value\($0)") })
    }

    @Test("no tags, and up to 50 tags, are valid")
    func validCounts() {
        #expect(tagProblems(nil).isEmpty)
        #expect(tagProblems([:]).isEmpty)
        #expect(tagProblems(tags(count: 50)).isEmpty)
    }

    @Test("51 tags are refused")
    func tooMany() {
        #expect(tagProblems(tags(count: 51)).map(\.name) == ["tags"])
    }

    @Test("keys are 1 to 128 code points, values 0 to 256")
    func keyAndValueLengths() {
        #expect(tagProblems([String(repeating: "k", count: 128): String(repeating: "v", count: 256)]).isEmpty)
        #expect(tagProblems(["k": ""]).isEmpty)
        #expect(tagProblems(["": "v"]).map(\.name) == ["tags.key"])
        #expect(tagProblems([String(repeating: "k", count: 129): "v"]).map(\.name) == ["tags.key"])
        #expect(tagProblems(["k": String(repeating: "v", count: 257)]).map(\.name) == ["tags.k"])
    }
}

@Suite("LoggingRules")
struct LoggingRulesTests {
    func destinationProblems(_ destination: LogDestination) -> [FieldProblem] {
        problems { LoggingRules.validate(destination, "destinationConfiguration", into: &$0) }
    }

    @Test(
        "valid destinations pass",
        arguments: [
            LogDestination.s3(bucketName: "my-chat.logs-1"),
            .s3(bucketName: "abc"),
            .s3(bucketName: String(repeating: "b", count: 63)),
            .cloudWatchLogs(logGroupName: "/aws/ivs#chat_logs-1.x"),
            .cloudWatchLogs(logGroupName: String(repeating: "g", count: 512)),
            .firehose(deliveryStreamName: "Stream_1.a-b"),
            .firehose(deliveryStreamName: String(repeating: "f", count: 64)),
        ]
    )
    func valid(_ destination: LogDestination) {
        #expect(destinationProblems(destination).isEmpty)
    }

    @Test(
        "invalid destinations fail on their own field",
        arguments: [
            (LogDestination.s3(bucketName: "ab"), "destinationConfiguration.s3.bucketName"),
            (.s3(bucketName: String(repeating: "b", count: 64)), "destinationConfiguration.s3.bucketName"),
            (.s3(bucketName: "My_Bucket"), "destinationConfiguration.s3.bucketName"),
            (.cloudWatchLogs(logGroupName: ""), "destinationConfiguration.cloudWatchLogs.logGroupName"),
            (.cloudWatchLogs(logGroupName: "has space"), "destinationConfiguration.cloudWatchLogs.logGroupName"),
            (.cloudWatchLogs(logGroupName: String(repeating: "g", count: 513)), "destinationConfiguration.cloudWatchLogs.logGroupName"),
            (.firehose(deliveryStreamName: ""), "destinationConfiguration.firehose.deliveryStreamName"),
            (.firehose(deliveryStreamName: "a/b"), "destinationConfiguration.firehose.deliveryStreamName"),
            (.firehose(deliveryStreamName: String(repeating: "f", count: 65)), "destinationConfiguration.firehose.deliveryStreamName"),
        ]
    )
    func invalid(_ destination: LogDestination, field: String) {
        let found = destinationProblems(destination)
        #expect(!found.isEmpty)
        #expect(found.allSatisfy { $0.name == field })
    }
}

@Suite("MessageRules")
struct MessageRulesTests {
    @Test("attributesSize counts every key and value in UTF-8 bytes")
    func attributesSize() {
        #expect(MessageRules.attributesSize([:]) == 0)
        #expect(MessageRules.attributesSize(["a": "bc"]) == 3)
        // "é" is 2 bytes, "🎉" 4 bytes.
        #expect(MessageRules.attributesSize(["a": "bc", "é": "🎉"]) == 9)
    }

    @Test("the message attribute limit is 1 KB")
    func limit() {
        #expect(MessageRules.maximumMessageAttributesBytes == 1024)
        #expect(ChatTokenRules.maximumAttributesBytes == 1024)
    }
}
