import GRDB

/// The schema's history. Migrations are append-only: once shipped, a migration never changes.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        // Times are whole milliseconds since 1970 (INTEGER), so they compare exactly.
        migrator.registerMigration("v1: rooms, logging configurations, tags, access keys, redeemed tokens") { db in
            try db.create(table: "room") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("createTime", .integer).notNull()
                t.column("updateTime", .integer).notNull()
                t.column("maximumMessageRatePerSecond", .integer).notNull()
                t.column("maximumMessageLength", .integer).notNull()
                t.column("reviewHandlerURI", .text)
                t.column("reviewFallbackResult", .text)
            }
            try db.create(index: "room_on_updateTime_id", on: "room", columns: ["updateTime", "id"])
            try db.create(index: "room_on_name", on: "room", columns: ["name"])

            try db.create(table: "loggingConfiguration") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("createTime", .integer).notNull()
                t.column("updateTime", .integer).notNull()
                t.column("destinationType", .text).notNull().check { ["s3", "cloudWatchLogs", "firehose"].contains($0) }
                t.column("destinationName", .text).notNull()
                t.column("state", .text).notNull()
            }
            try db.create(index: "loggingConfiguration_on_updateTime_id", on: "loggingConfiguration", columns: ["updateTime", "id"])

            try db.create(table: "roomLoggingConfiguration") { t in
                t.column("roomId", .text).notNull().references("room", onDelete: .cascade)
                t.column("loggingConfigurationId", .text).notNull().references("loggingConfiguration", onDelete: .restrict)
                t.column("position", .integer).notNull()
                t.primaryKey(["roomId", "loggingConfigurationId"])
            }
            try db.create(
                index: "roomLoggingConfiguration_on_loggingConfigurationId", on: "roomLoggingConfiguration",
                columns: ["loggingConfigurationId"])

            try db.create(table: "roomTag") { t in
                t.column("roomId", .text).notNull().references("room", onDelete: .cascade)
                t.column("key", .text).notNull()
                t.column("value", .text).notNull()
                t.primaryKey(["roomId", "key"])
            }
            try db.create(table: "loggingConfigurationTag") { t in
                t.column("loggingConfigurationId", .text).notNull().references("loggingConfiguration", onDelete: .cascade)
                t.column("key", .text).notNull()
                t.column("value", .text).notNull()
                t.primaryKey(["loggingConfigurationId", "key"])
            }

            try db.create(table: "accessKey") { t in
                t.primaryKey("accessKeyId", .text)
                t.column("sealedSecret", .blob).notNull()
                t.column("createTime", .integer).notNull()
                t.column("revokeTime", .integer)
            }

            try db.create(table: "redeemedChatToken") { t in
                t.primaryKey("tokenId", .text)
                t.column("expiresAt", .integer).notNull().indexed()
            }
        }
        migrator.registerMigration("v2: chat-log outbox, destination failure reasons") { db in
            try db.alter(table: "loggingConfiguration") { t in
                t.add(column: "failureReason", .text)
            }
            try db.create(table: "logOutbox") { t in
                t.autoIncrementedPrimaryKey("sequence")
                t.column("loggingConfigurationId", .text).notNull().references("loggingConfiguration", onDelete: .cascade)
                t.column("roomId", .text).notNull()
                t.column("eventTime", .integer).notNull()
                t.column("line", .text).notNull()
            }
            try db.create(
                index: "logOutbox_on_loggingConfigurationId_sequence", on: "logOutbox", columns: ["loggingConfigurationId", "sequence"])
        }
        migrator.registerMigration("v3: metrics, quotas, alarms, audit log") { db in
            try db.create(table: "metricPoint") { t in
                t.column("metric", .text).notNull()
                t.column("dimensions", .text).notNull()
                t.column("period", .integer).notNull()
                t.column("start", .integer).notNull()
                t.column("sum", .double).notNull()
                t.column("sampleCount", .double).notNull()
                t.column("minimum", .double).notNull()
                t.column("maximum", .double).notNull()
                t.primaryKey(["metric", "dimensions", "period", "start"])
            }
            try db.create(index: "metricPoint_on_period_start", on: "metricPoint", columns: ["period", "start"])
            try db.create(table: "quotaOverride") { t in
                t.primaryKey("quota", .text)
                t.column("value", .integer).notNull()
            }
            try db.create(table: "quotaAlarm") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("quota", .text).notNull()
                t.column("usage", .integer).notNull()
                t.column("limitValue", .integer).notNull()
                t.column("time", .integer).notNull()
            }
            try db.create(table: "auditEntry") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("time", .integer).notNull()
                t.column("actor", .text).notNull()
                t.column("action", .text).notNull()
                t.column("target", .text).notNull()
                t.column("detail", .text).notNull()
                t.column("address", .text).notNull()
            }
        }
        migrator.registerMigration("v4: console users") { db in
            try db.create(table: "consoleUser") { t in
                t.primaryKey("name", .text)
                t.column("passwordHash", .text).notNull()
                t.column("role", .text).notNull()
                t.column("createTime", .integer).notNull()
            }
        }
        migrator.registerMigration("v5: ended console sessions") { db in
            try db.create(table: "endedConsoleSession") { t in
                t.primaryKey("sessionId", .text)
                t.column("expiresAt", .integer).notNull().indexed()
            }
        }
        return migrator
    }
}
