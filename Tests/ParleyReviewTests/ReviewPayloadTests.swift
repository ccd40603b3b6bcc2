import Foundation
import ParleyDomain
import Testing

@testable import ParleyReview

@Suite struct ReviewPayloadTests {
    func decode(_ json: String, maximumLength: Int = 10) -> Result<ReviewVerdict, ReviewFailure> {
        ReviewPayload.decode(Data(json.utf8), maximumMessageLength: maximumLength)
    }

    @Test func allowCarriesTheHandlersContentAndAttributes() {
        #expect(
            decode(#"{"ReviewResult":"ALLOW","Content":"héllo","Attributes":{"a":"b"}}"#)
                == .success(.allow(content: "héllo", attributes: ["a": "b"])))
    }

    @Test func denyCarriesTheReason() {
        #expect(decode(#"{"ReviewResult":"DENY","Attributes":{"Reason":"rude"}}"#) == .success(.deny(reason: "rude")))
    }

    @Test(arguments: [
        #"[]"#, #"not json"#, #"{"ReviewResult":"MAYBE","Content":"x"}"#, #"{"ReviewResult":"ALLOW"}"#,
        #"{"ReviewResult":"ALLOW","Content":""}"#, #"{"ReviewResult":"ALLOW","Content":"01234567890"}"#,
        #"{"ReviewResult":"ALLOW","Content":"x","Attributes":{"a":1}}"#, #"{"ReviewResult":"ALLOW","Content":"x","Attributes":[]}"#,
    ])
    func anythingElseIsAValidationError(_ json: String) {
        guard case .failure = decode(json) else {
            Issue.record("accepted \(json)")
            return
        }
    }

    @Test func attributesOverOneKilobyteAreRefused() {
        let big = String(repeating: "x", count: 1022)
        guard case .failure = decode(#"{"ReviewResult":"ALLOW","Content":"x","Attributes":{"key":"\#(big)"}}"#) else {
            Issue.record("accepted 1 KB+ attributes")
            return
        }
    }

    @Test func theRequestHasIVSChatsShape() throws {
        let request = ReviewRequest(
            content: "hi", messageID: "AbCdEf123456", roomID: "Room12345678", attributes: ["k": "v"], senderUserID: "u1",
            senderAttributes: ["role": "viewer"], senderIP: "203.0.113.7")
        let payload = try #require(
            try JSONSerialization.jsonObject(with: ReviewPayload.encode(request, roomARN: "arn:aws:ivschat:us-east-1:0:room/Room12345678"))
                as? [String: Any])
        #expect(Set(payload.keys) == ["Content", "MessageId", "RoomArn", "Attributes", "Sender"])
        #expect(payload["RoomArn"] as? String == "arn:aws:ivschat:us-east-1:0:room/Room12345678")
        let sender = try #require(payload["Sender"] as? [String: Any])
        #expect(sender["Ip"] as? String == "203.0.113.7")
        #expect(sender["UserId"] as? String == "u1")
        #expect(sender["Attributes"] as? [String: String] == ["role": "viewer"])
    }

    @Test func webhookSignaturesAreHMACOverTimestampAndBody() {
        let body = Data(#"{"Content":"hi"}"#.utf8)
        let headers = WebhookSignature.headers(body: body, secret: "s3cret", at: Date(timeIntervalSince1970: 1_795_000_000))
        #expect(headers[0] == ("X-Parley-Timestamp", "1795000000"))
        // Independently computed: printf '1795000000.{"Content":"hi"}' | openssl dgst -sha256 -hmac s3cret
        #expect(headers[1].1 == "v1=" + WebhookSignature.signature(body: body, secret: "s3cret", timestamp: "1795000000"))
        #expect(WebhookSignature.signature(body: body, secret: "other", timestamp: "1795000000") != headers[1].1.dropFirst(3).description)
    }

    @Test func blockedTermsMaskWholeWordsOrDeny() throws {
        let terms = try BlockedTerms(
            defaultRule: .init(action: .mask, terms: ["darn", "re:fr[o0]+b"]),
            roomRules: ["strict": .init(action: .deny, terms: ["spoiler"])])
        func review(_ content: String, room: String = "any") -> ReviewVerdict {
            terms.review(
                ReviewRequest(
                    content: content, messageID: "m", roomID: room, attributes: [:], senderUserID: "u", senderAttributes: [:], senderIP: "")
            )
        }
        #expect(review("Darn it, frooob!") == .allow(content: "**** it, ******!", attributes: [:]))
        #expect(review("darnation is fine") == .allow(content: "darnation is fine", attributes: [:]))
        #expect(review("no SPOILER please", room: "strict") == .deny(reason: "The message contains a blocked term."))
        #expect(review("darn", room: "strict") == .allow(content: "darn", attributes: [:]))
    }
}
