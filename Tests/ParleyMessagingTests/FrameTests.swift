import Foundation
import ParleyDomain
import ParleyMessaging
import Testing

@Suite("ServerFrame")
struct ServerFrameTests {
    let sendTime = Date(millisecondsSince1970: 1_795_000_000_123)

    func message(content: String = "hello", requestID: String = "req-1", attributes: [String: String] = ["k": "v"]) -> String {
        ServerFrame.message(
            id: "AbCdEf123456", requestID: requestID, attributes: attributes, content: content, sendTime: sendTime,
            senderUserID: "alice", senderAttributes: ["displayName": "Alice"])
    }

    @Test("MESSAGE has exactly SPEC §4's keys, in its order, with Sender's keys in order")
    func messageShape() throws {
        let frame = message()

        // Raw text order.
        #expect(topLevelKeys(frame) == ["Type", "Id", "RequestId", "Attributes", "Content", "SendTime", "Sender"])
        #expect(
            frame
                == #"{"Type":"MESSAGE","Id":"AbCdEf123456","RequestId":"req-1","Attributes":{"k":"v"},"Content":"hello","#
                + #""SendTime":"2026-11-18T11:06:40.123Z","Sender":{"UserId":"alice","Attributes":{"displayName":"Alice"}}}"#)
        // Parsed values.
        let object = try jsonObject(frame)
        #expect(Set(object.keys) == ["Type", "Id", "RequestId", "Attributes", "Content", "SendTime", "Sender"])
        #expect(object["Type"] as? String == "MESSAGE")
        #expect(object["Attributes"] as? [String: String] == ["k": "v"])
        #expect(object["SendTime"] as? String == Timestamp.format(sendTime))
        let sender = try #require(object["Sender"] as? [String: Any])
        #expect(Set(sender.keys) == ["UserId", "Attributes"])
        #expect(sender["UserId"] as? String == "alice")
        #expect(sender["Attributes"] as? [String: String] == ["displayName": "Alice"])
    }

    @Test("an empty RequestId and empty Attributes are still present")
    func emptyValuesPresent() throws {
        let frame = message(requestID: "", attributes: [:])

        let object = try jsonObject(frame)
        #expect(object["RequestId"] as? String == "")
        #expect((object["Attributes"] as? [String: Any])?.isEmpty == true)
        #expect(frame.contains(#""RequestId":"""#))
        #expect(frame.contains(#""Attributes":{}"#))
    }

    @Test("EVENT has exactly SPEC §4's keys, in its order")
    func eventShape() throws {
        let frame = ServerFrame.event(
            id: "EvEnT1234567", requestID: "", name: "aws:DELETE_MESSAGE", attributes: ["Reason": "spam"], sendTime: sendTime)

        #expect(topLevelKeys(frame) == ["Type", "Id", "RequestId", "EventName", "Attributes", "SendTime"])
        #expect(
            frame
                == #"{"Type":"EVENT","Id":"EvEnT1234567","RequestId":"","EventName":"aws:DELETE_MESSAGE","#
                + #""Attributes":{"Reason":"spam"},"SendTime":"2026-11-18T11:06:40.123Z"}"#)
        let object = try jsonObject(frame)
        #expect(Set(object.keys) == ["Type", "Id", "RequestId", "EventName", "Attributes", "SendTime"])
        #expect(object["EventName"] as? String == "aws:DELETE_MESSAGE")
    }

    @Test("ERROR has exactly SPEC §4's keys, in its order, with a numeric ErrorCode")
    func errorShape() throws {
        let frame = ServerFrame.error(id: "ErRoR1234567", requestID: "r9", code: 429, message: "slow down")

        #expect(topLevelKeys(frame) == ["Type", "Id", "RequestId", "ErrorCode", "ErrorMessage"])
        #expect(frame == #"{"Type":"ERROR","Id":"ErRoR1234567","RequestId":"r9","ErrorCode":429,"ErrorMessage":"slow down"}"#)
        let object = try jsonObject(frame)
        #expect(Set(object.keys) == ["Type", "Id", "RequestId", "ErrorCode", "ErrorMessage"])
        #expect(object["ErrorCode"] as? Int == 429)
        #expect(object["ErrorCode"] as? String == nil)
    }

    @Test(
        "strings are escaped so that any text round-trips and the frame holds no raw control or line-separator characters",
        arguments: [
            #"say "hi""#, "back\\slash", "line\nbreak", "cr\rtab\t", "bell\u{07}nul\u{00}unit\u{1F}", "ls\u{2028}ps\u{2029}",
            "emoji 🎉 and é", "</script>", "{\"Type\":\"ERROR\"}",
        ]
    )
    func escaping(_ text: String) throws {
        let frames = [
            message(content: text, requestID: text, attributes: [text: text]),
            ServerFrame.event(id: "EvEnT1234567", requestID: text, name: text, attributes: [text: text], sendTime: sendTime),
            ServerFrame.error(id: "ErRoR1234567", requestID: text, code: 400, message: text),
        ]

        for frame in frames {
            // The raw text: no character JSON or JavaScript would choke on.
            #expect(!frame.unicodeScalars.contains { $0.value < 0x20 || $0 == "\u{2028}" || $0 == "\u{2029}" }, "\(frame)")
            // Parsed back: every string is exactly the original.
            let object = try jsonObject(frame)
            #expect(object["RequestId"] as? String == text)
            if let attributes = object["Attributes"] as? [String: String] { #expect(attributes == [text: text]) }
        }
        #expect(try jsonObject(frames[0])["Content"] as? String == text)
        #expect(try jsonObject(frames[1])["EventName"] as? String == text)
        #expect(try jsonObject(frames[2])["ErrorMessage"] as? String == text)
    }

    @Test("specific escapes are the JSON ones")
    func escapeSequences() {
        let frame = message(content: "\"\\\n\u{01}\u{2028}")

        #expect(frame.contains(#""Content":"\"\\\n\u0001\u2028""#))
    }
}
