import ParleyDomain
import Testing

/// A deterministic generator (SplitMix64), so that ids drawn from it can be compared.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func isAlphanumericASCII(_ character: Character) -> Bool {
    character.isASCII && (character.isLetter || character.isNumber)
}

@Suite("ResourceID")
struct ResourceIDTests {
    @Test("generated ids are 12 characters of [a-zA-Z0-9] and do not repeat")
    func generatedIDsHaveTheShape() {
        let ids = (0..<500).map { _ in ResourceID.generate() }

        for id in ids {
            #expect(id.count == 12)
            #expect(id.allSatisfy(isAlphanumericASCII), "\(id)")
            #expect(ResourceID.isValid(id))
        }
        #expect(Set(ids).count == ids.count)
    }

    @Test("the same seed draws the same id, another seed another id")
    func generationFollowsTheGenerator() {
        var first = SeededGenerator(state: 42)
        var second = SeededGenerator(state: 42)
        var other = SeededGenerator(state: 43)

        let id = ResourceID.generate(using: &first)

        #expect(ResourceID.isValid(id))
        #expect(ResourceID.generate(using: &second) == id)
        #expect(ResourceID.generate(using: &other) != id)
    }

    @Test(
        "isValid rejects anything but exactly 12 ASCII letters and digits",
        arguments: [
            "", "abc", "abcdefghijk", "abcdefghijklm", "abcdefghij-k", "abcdefghij_k", "abcdefghij k", "abcdefghijké", "ａbcdefghijkl",
        ]
    )
    func isValidRejects(_ candidate: String) {
        #expect(!ResourceID.isValid(candidate))
    }

    @Test("isValid accepts mixed case and digits")
    func isValidAccepts() {
        #expect(ResourceID.isValid("aZ09bY18cX27"))
    }
}

@Suite("ResourceNamespace and ResourceARN")
struct ResourceARNTests {
    let namespace = ResourceNamespace(region: "eu-west-1", accountID: "123456789012")

    @Test("the namespace mints ARNs of each kind that parse back to their parts", arguments: ResourceKind.allCases)
    func roundTrip(_ kind: ResourceKind) throws {
        let arn = namespace.arn(kind, id: "AbCdEf123456")

        #expect(arn == "arn:aws:ivschat:eu-west-1:123456789012:\(kind.rawValue)/AbCdEf123456")
        let parsed = try #require(ResourceARN(arn))
        #expect(parsed.region == "eu-west-1")
        #expect(parsed.accountID == "123456789012")
        #expect(parsed.kind == kind)
        #expect(parsed.id == "AbCdEf123456")
    }

    @Test("resource kinds name their error resource types")
    func errorResourceTypes() {
        #expect(ResourceKind.room.errorResourceType == "ROOM")
        #expect(ResourceKind.loggingConfiguration.errorResourceType == "LOGGING_CONFIGURATION")
    }

    @Test("the model's id pattern allows hyphens")
    func idWithHyphen() throws {
        let parsed = try #require(ResourceARN("arn:aws:ivschat:us-east-1:000000000000:room/abc-123"))
        #expect(parsed.id == "abc-123")
    }

    @Test("an ARN of exactly 128 characters parses, 129 does not")
    func lengthLimit() {
        let prefix = "arn:aws:ivschat:us-east-1:000000000000:room/"
        let longest = prefix + String(repeating: "a", count: 128 - prefix.count)
        #expect(longest.count == 128)

        #expect(ResourceARN(longest) != nil)
        #expect(ResourceARN(longest + "a") == nil)
    }

    @Test(
        "malformed ARNs are rejected",
        arguments: [
            "",
            "room/abcdefghijkl",
            "abcdefghijkl",
            "arn:aws-cn:ivschat:us-east-1:000000000000:room/abcdefghijkl",
            "arn:aws:ivs:us-east-1:000000000000:room/abcdefghijkl",
            "ARN:aws:ivschat:us-east-1:000000000000:room/abcdefghijkl",
            "arn:aws:ivschat::000000000000:room/abcdefghijkl",
            "arn:aws:ivschat:US-EAST-1:000000000000:room/abcdefghijkl",
            "arn:aws:ivschat:us_east_1:000000000000:room/abcdefghijkl",
            "arn:aws:ivschat:us-east-1::room/abcdefghijkl",
            "arn:aws:ivschat:us-east-1:00000000000a:room/abcdefghijkl",
            "arn:aws:ivschat:us-east-1:000000000000:channel/abcdefghijkl",
            "arn:aws:ivschat:us-east-1:000000000000:Room/abcdefghijkl",
            "arn:aws:ivschat:us-east-1:000000000000:room",
            "arn:aws:ivschat:us-east-1:000000000000:room/",
            "arn:aws:ivschat:us-east-1:000000000000:room/abc_def",
            "arn:aws:ivschat:us-east-1:000000000000:room/abc/def",
            "arn:aws:ivschat:us-east-1:000000000000:room/abc:def",
            "arn:aws:ivschat:us-east-1:000000000000:room/abc def",
            "arn:aws:ivschat:us-east-1:000000000000:room/abcdéfghijkl",
            "arn:aws:ivschat:us-east-1:000000000000:logging-configuration",
            "arn:aws:ivschat:us-east-1:000000000000",
        ]
    )
    func rejects(_ text: String) {
        #expect(ResourceARN(text) == nil)
    }
}
