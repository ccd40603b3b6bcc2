import Foundation
import Hummingbird
import ParleyDomain

extension ConsoleController {
    func addLoggingRoutes(to router: RouterGroup<ParleyRequestContext>) {
        router.get("logging") { request, context in try await loggingIndex(request, context) }
        router.get("logging/new") { _, context in
            _ = try context.session(atLeast: .admin)
            return views.page("logging/form", loggingForm(try chrome("New logging configuration", context, section: "logging"), nil))
        }
        router.post("logging") { request, context in try await saveLogging(request, context, id: nil) }
        router.get("logging/:id/edit") { _, context in
            _ = try context.session(atLeast: .admin)
            let configuration = try await controlPlane.getLoggingConfiguration(IdentifierInput(identifier: loggingARN(context)))
            return views.page(
                "logging/form", loggingForm(try chrome("Edit logging configuration", context, section: "logging"), configuration))
        }
        router.post("logging/:id") { request, context in try await saveLogging(request, context, id: try loggingID(context)) }
        router.post("logging/:id/delete") { _, context in
            _ = try context.session(atLeast: .admin)
            do {
                try await controlPlane.deleteLoggingConfiguration(IdentifierInput(identifier: loggingARN(context)))
            } catch ParleyError.conflict(_, _, let message) {
                return Response.redirect(to: .loggingConfigurations, notice: message)
            }
            try await audit(context, "DeleteLoggingConfiguration", try loggingID(context))
            return Response.redirect(to: .loggingConfigurations, notice: "Logging configuration deleted.")
        }
    }

    private func loggingID(_ context: ParleyRequestContext) throws -> String {
        guard let id = context.parameters.get("id"), ResourceID.isValid(id) else {
            throw ConsoleError.notFound("No such logging configuration.")
        }
        return id
    }

    private func loggingARN(_ context: ParleyRequestContext) throws -> String {
        controlPlane.namespace.arn(.loggingConfiguration, id: try loggingID(context))
    }

    private func loggingIndex(_ request: Request, _ context: ParleyRequestContext) async throws -> Response {
        let query = FormData.query(of: request)
        let page = try await controlPlane.listLoggingConfigurations(
            ListLoggingConfigurationsInput(nextToken: query.text("next"), maxResults: 25))
        let figures = loggingStatistics.snapshot()
        let rows = page.items.map { configuration -> LoggingRow in
            let (type, destination): (String, String) =
                switch configuration.destination {
                case .s3(let bucket): ("S3", bucket)
                case .cloudWatchLogs(let group): ("CloudWatch Logs", group)
                case .firehose(let stream): ("Firehose", stream)
                }
            let stats = figures[configuration.id]
            return LoggingRow(
                id: configuration.id, name: configuration.name.isEmpty ? configuration.id : configuration.name,
                arn: controlPlane.namespace.arn(.loggingConfiguration, id: configuration.id), type: type, destination: destination,
                state: configuration.state.rawValue, failed: configuration.state == .createFailed || configuration.state == .updateFailed,
                failureReason: configuration.failureReason, url: ConsoleURL.editLoggingConfiguration(configuration.id).path,
                editURL: ConsoleURL.editLoggingConfiguration(configuration.id).path,
                deleteURL: ConsoleURL.deleteLoggingConfiguration(configuration.id).path, delivered: stats?.deliveredRecords ?? 0,
                errors: stats?.destinationErrors ?? 0, lastError: stats?.lastError)
        }
        let model = LoggingIndexModel(
            page: try chrome("Logging configurations", context, section: "logging", request: request), configurations: rows,
            nextURL: page.nextToken.map { ConsoleURL.loggingConfigurations.path + "?next=" + $0 },
            newURL: ConsoleURL.newLoggingConfiguration.path,
            outboxBytes: try await store.logOutboxSize(), droppedRecords: loggingStatistics.droppedRecords, s3Directory: s3Directory)
        return views.page("logging/index", model)
    }

    private func loggingForm(_ page: PageChrome, _ configuration: LoggingConfiguration?) -> LoggingFormModel {
        var model = LoggingFormModel(
            page: page, isNew: configuration == nil,
            action: configuration.map { ConsoleURL.loggingConfiguration($0.id).path } ?? ConsoleURL.loggingConfigurations.path,
            cancelURL: ConsoleURL.loggingConfigurations.path, name: configuration?.name ?? "", typeS3: true, typeCloudWatchLogs: false,
            typeFirehose: false, bucketName: "", logGroupName: "", deliveryStreamName: "", state: configuration?.state.rawValue,
            failureReason: configuration?.failureReason, s3Directory: s3Directory)
        switch configuration?.destination {
        case .s3(let bucket): model.bucketName = bucket
        case .cloudWatchLogs(let group):
            (model.typeS3, model.typeCloudWatchLogs, model.logGroupName) = (false, true, group)
        case .firehose(let stream):
            (model.typeS3, model.typeFirehose, model.deliveryStreamName) = (false, true, stream)
        case nil: break
        }
        return model
    }

    private func saveLogging(_ request: Request, _ context: ParleyRequestContext, id: String?) async throws -> Response {
        _ = try context.session(atLeast: .admin)
        let form = try await FormData.body(of: request)
        var model = loggingForm(
            try chrome(id == nil ? "New logging configuration" : "Edit logging configuration", context, section: "logging"), nil)
        model.isNew = id == nil
        model.action = id.map { ConsoleURL.loggingConfiguration($0).path } ?? ConsoleURL.loggingConfigurations.path
        model.name = form["name"] ?? ""
        let type = form["type"] ?? "s3"
        (model.typeS3, model.typeCloudWatchLogs, model.typeFirehose) = (type == "s3", type == "cloudWatchLogs", type == "firehose")
        model.bucketName = form["bucketName"] ?? ""
        model.logGroupName = form["logGroupName"] ?? ""
        model.deliveryStreamName = form["deliveryStreamName"] ?? ""
        let destination =
            switch type {
            case "cloudWatchLogs": DestinationConfigurationInput(logGroupName: model.logGroupName)
            case "firehose": DestinationConfigurationInput(deliveryStreamName: model.deliveryStreamName)
            default: DestinationConfigurationInput(s3BucketName: model.bucketName)
            }
        do {
            let saved: LoggingConfiguration
            if let id {
                saved = try await controlPlane.updateLoggingConfiguration(
                    UpdateLoggingConfigurationInput(
                        identifier: controlPlane.namespace.arn(.loggingConfiguration, id: id), name: model.name,
                        destinationConfiguration: destination))
                try await audit(context, "UpdateLoggingConfiguration", id)
            } else {
                saved = try await controlPlane.createLoggingConfiguration(
                    CreateLoggingConfigurationInput(name: model.name, destinationConfiguration: destination))
                try await audit(context, "CreateLoggingConfiguration", saved.id, model.name)
            }
            let notice =
                saved.failureReason.map { "Saved, but the destination check failed: \($0)" } ?? "Saved; the destination is ready."
            return Response.redirect(to: .loggingConfigurations, notice: notice)
        } catch ParleyError.validation(_, let message, let fields) {
            for field in fields {
                if field.name == "name" { model.nameError = field.message } else { model.destinationError = field.message }
            }
            if fields.isEmpty { model.formError = message }
            return views.page("logging/form", model, status: .badRequest)
        } catch let error as ParleyError {
            model.formError = error.message
            return views.page("logging/form", model, status: .badRequest)
        }
    }
}
