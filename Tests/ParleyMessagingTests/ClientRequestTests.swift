import ParleyMessaging
import Testing

@Suite("ClientRequest.decode")
struct ClientRequestTests {
    /// The error `text` is refused with.
    func refusal(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> ClientRequestError? {
        #expect(throws: ClientRequestError.self, sourceLocation: sourceLocation) { try ClientRequest.decode(text) }
    }

    @Test("decodes the three actions")
    func actions() throws {
        #expect(
            try ClientRequest.decode(#"{"Action":"SEND_MESSAGE","RequestId":"r1","Content":"hi","Attributes":{"a":"b"}}"#)
                == .sendMessage(requestID: "r1", content: "hi", attributes: ["a": "b"]))
        #expect(
            try ClientRequest.decode(#"{"Action":"DELETE_MESSAGE","RequestId":"r2","Id":"AbCdEf123456","Reason":"spam"}"#)
                == .deleteMessage(requestID: "r2", id: "AbCdEf123456", reason: "spam"))
        #expect(
            try ClientRequest.decode(#"{"Action":"DISCONNECT_USER","RequestId":"r3","UserId":"bob","Reason":"rude"}"#)
                == .disconnectUser(requestID: "r3", userID: "bob", reason: "rude"))
    }

    @Test("RequestId, Attributes and Reason are optional")
    func optionalMembers() throws {
        #expect(
            try ClientRequest.decode(#"{"Action":"SEND_MESSAGE","Content":"hi"}"#)
                == .sendMessage(requestID: "", content: "hi", attributes: [:]))
        #expect(
            try ClientRequest.decode(#"{"Action":"DELETE_MESSAGE","Id":"AbCdEf123456"}"#)
                == .deleteMessage(requestID: "", id: "AbCdEf123456", reason: ""))
        #expect(
            try ClientRequest.decode(#"{"Action":"DISCONNECT_USER","UserId":"bob","RequestId":null}"#)
                == .disconnectUser(requestID: "", userID: "bob", reason: ""))
    }

    @Test(
        "keys match case-insensitively",
        arguments: [
            #"{"action":"SEND_MESSAGE","requestid":"r","content":"hi","attributes":{"a":"b"}}"#,
            #"{"ACTION":"SEND_MESSAGE","REQUESTID":"r","CONTENT":"hi","ATTRIBUTES":{"a":"b"}}"#,
            #"{"aCtIoN":"SEND_MESSAGE","RequestID":"r","conTent":"hi","AttriButes":{"a":"b"}}"#,
        ]
    )
    func caseInsensitiveKeys(_ text: String) throws {
        #expect(try ClientRequest.decode(text) == .sendMessage(requestID: "r", content: "hi", attributes: ["a": "b"]))
    }

    /// Found by Fuzz/FuzzClientFrames: the dictionary's iteration order, which differs between runs, used to pick the value.
    @Test("a member spelled several ways reads IVS Chat's spelling, else the first in byte order, every time")
    func duplicateSpellings() throws {
        let canonical = #"{"Action":"DISCONNECT_USER","USERID":"a","UserId":"b","userid":"c","REQUESTID":"x","requestid":"y"}"#
        let otherwise = #"{"Action":"DISCONNECT_USER","userid":"c","USERID":"a","uSERID":"d"}"#

        for _ in 0..<20 {
            #expect(try ClientRequest.decode(canonical) == .disconnectUser(requestID: "x", userID: "b", reason: ""))
            #expect(try ClientRequest.decode(otherwise) == .disconnectUser(requestID: "", userID: "a", reason: ""))
        }
    }

    @Test("attribute keys keep their case")
    func attributeKeysKeepCase() throws {
        #expect(
            try ClientRequest.decode(#"{"Action":"SEND_MESSAGE","Content":"hi","Attributes":{"CamelKey":"V"}}"#)
                == .sendMessage(requestID: "", content: "hi", attributes: ["CamelKey": "V"]))
    }

    @Test("unknown keys are ignored")
    func unknownKeysIgnored() throws {
        let text = #"{"Action":"SEND_MESSAGE","Content":"hi","Extra":{"nested":[1,2,3]},"Version":2,"Id":"ignored"}"#

        #expect(try ClientRequest.decode(text) == .sendMessage(requestID: "", content: "hi", attributes: [:]))
    }

    @Test(
        "a missing required member is 400, echoing the RequestId",
        arguments: [
            #"{"Action":"SEND_MESSAGE","RequestId":"echo-me"}"#,
            #"{"Action":"SEND_MESSAGE","RequestId":"echo-me","Content":null}"#,
            #"{"Action":"DELETE_MESSAGE","RequestId":"echo-me","Reason":"x"}"#,
            #"{"Action":"DISCONNECT_USER","RequestId":"echo-me","Reason":"x"}"#,
            #"{"RequestId":"echo-me","Content":"hi"}"#,
        ]
    )
    func missingMember(_ text: String) {
        let error = refusal(text)

        #expect(error?.code == 400)
        #expect(error?.requestID == "echo-me")
    }

    @Test("an unknown Action is 400, echoing the RequestId", arguments: ["SEND_EVENT", "", "PING", "send_message "])
    func unknownAction(_ action: String) {
        let error = refusal(requestFrame(["Action": action, "RequestId": "echo-me", "Content": "hi"]))

        #expect(error?.code == 400)
        #expect(error?.requestID == "echo-me")
    }

    @Test(
        "a frame that is not a JSON object is 400 with an empty RequestId",
        arguments: ["", "not json", "[]", "[{}]", "\"hi\"", "42", "null", "{"])
    func notAnObject(_ text: String) {
        let error = refusal(text)

        #expect(error?.code == 400)
        #expect(error?.requestID == "")
    }

    @Test(
        "Attributes must be an object of strings: 400, echoing the RequestId",
        arguments: [
            #""Attributes":{"a":1}"#, #""Attributes":{"a":true}"#, #""Attributes":{"a":null}"#, #""Attributes":{"a":{"b":"c"}}"#,
            #""Attributes":{"a":["b"]}"#, #""Attributes":{"ok":"fine","a":2.5}"#, #""Attributes":"a=b""#, #""Attributes":["a"]"#,
        ]
    )
    func attributesMustBeStrings(_ member: String) {
        let error = refusal(#"{"Action":"SEND_MESSAGE","RequestId":"echo-me","Content":"hi","# + member + "}")

        #expect(error?.code == 400)
        #expect(error?.requestID == "echo-me")
    }

    @Test(
        "members of the wrong type are 400",
        arguments: [
            #"{"Action":"SEND_MESSAGE","RequestId":"echo-me","Content":5}"#,
            #"{"Action":"SEND_MESSAGE","RequestId":"echo-me","Content":["hi"]}"#,
            #"{"Action":"DELETE_MESSAGE","RequestId":"echo-me","Id":123456789012}"#,
            #"{"Action":"DISCONNECT_USER","RequestId":"echo-me","UserId":"bob","Reason":false}"#,
            #"{"Action":1,"RequestId":"echo-me"}"#,
        ]
    )
    func wrongTypes(_ text: String) {
        let error = refusal(text)

        #expect(error?.code == 400)
        #expect(error?.requestID == "echo-me")
    }

    @Test("a RequestId that is not a string is 400")
    func requestIDNotString() {
        #expect(refusal(#"{"Action":"SEND_MESSAGE","RequestId":7,"Content":"hi"}"#)?.code == 400)
    }
}
