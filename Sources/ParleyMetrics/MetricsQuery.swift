import Foundation
import ParleyDomain

/// GetMetricData, as CloudWatch shapes it: queries of a metric, its dimensions, a statistic and a period over a time range.
public struct MetricDataQuery: Codable, Sendable {
    public struct Metric: Codable, Sendable {
        public var Namespace: String?
        public var MetricName: String
        public var Dimensions: [Dimension]?

        public init(Namespace: String?, MetricName: String, Dimensions: [Dimension]?) {
            self.Namespace = Namespace
            self.MetricName = MetricName
            self.Dimensions = Dimensions
        }
    }
    public struct Dimension: Codable, Sendable {
        public var Name: String
        public var Value: String

        public init(Name: String, Value: String) {
            self.Name = Name
            self.Value = Value
        }
    }
    public struct MetricStat: Codable, Sendable {
        public var Metric: Metric
        public var Period: Int
        public var Stat: String

        public init(Metric: Metric, Period: Int, Stat: String) {
            self.Metric = Metric
            self.Period = Period
            self.Stat = Stat
        }
    }
    public var Id: String
    public var MetricStat: MetricStat
    public var Label: String?

    public init(Id: String, MetricStat: MetricStat, Label: String?) {
        self.Id = Id
        self.MetricStat = MetricStat
        self.Label = Label
    }
}

public struct GetMetricDataInput: Codable, Sendable {
    public var MetricDataQueries: [MetricDataQuery]
    public var StartTime: Date
    public var EndTime: Date

    public init(MetricDataQueries: [MetricDataQuery], StartTime: Date, EndTime: Date) {
        self.MetricDataQueries = MetricDataQueries
        self.StartTime = StartTime
        self.EndTime = EndTime
    }
}

public struct MetricDataResult: Codable, Sendable, Equatable {
    public var Id: String
    public var Label: String
    public var Timestamps: [Date]
    public var Values: [Double]
    public var StatusCode: String
}

public struct GetMetricDataOutput: Codable, Sendable {
    public var MetricDataResults: [MetricDataResult]
}

/// Answers metric queries from the stored points, choosing the finest resolution that is still kept for the range.
public struct MetricsQuery: Sendable {
    let store: any ParleyStore
    let clock: any WallClock

    public init(store: any ParleyStore, clock: any WallClock) {
        self.store = store
        self.clock = clock
    }

    public func run(_ input: GetMetricDataInput) async throws -> GetMetricDataOutput {
        var validator = FieldValidator()
        validator.check(input.StartTime < input.EndTime, "StartTime", "must be before EndTime")
        validator.check(!input.MetricDataQueries.isEmpty && input.MetricDataQueries.count <= 500, "MetricDataQueries", "1 to 500 queries")
        for (index, query) in input.MetricDataQueries.enumerated() {
            let period = query.MetricStat.Period
            validator.check(period >= 60 && period % 60 == 0, "MetricDataQueries[\(index)].MetricStat.Period", "must be a multiple of 60")
            validator.check(
                MetricStatistic(rawValue: query.MetricStat.Stat) != nil, "MetricDataQueries[\(index)].MetricStat.Stat",
                "must be one of Sum, Average, Maximum, Minimum, SampleCount")
            validator.check(
                MetricName.all.contains(query.MetricStat.Metric.MetricName), "MetricDataQueries[\(index)].MetricStat.Metric.MetricName",
                "unknown metric")
        }
        try validator.validate()
        var results: [MetricDataResult] = []
        for query in input.MetricDataQueries {
            results.append(try await answer(query, from: input.StartTime, to: input.EndTime))
        }
        return GetMetricDataOutput(MetricDataResults: results)
    }

    private func answer(_ query: MetricDataQuery, from: Date, to: Date) async throws -> MetricDataResult {
        let stat = query.MetricStat
        let series = MetricSeries(stat.Metric.MetricName, (stat.Metric.Dimensions ?? []).map { MetricDimension($0.Name, $0.Value) })
        let age = clock.now().timeIntervalSince(from)
        let resolution =
            MetricResolution.retention.first { stat.Period % $0.period == 0 && age <= $0.keep }?.period
            ?? MetricResolution.retention.last!.period
        let points = try await store.metricPoints(series, period: resolution, from: from, to: to)
        var buckets: [Int64: MetricAggregate] = [:]
        // As CloudWatch does, periods are counted from StartTime and results come newest first.
        let periodMilliseconds = Int64(stat.Period) * 1000
        let origin = from.millisecondsSince1970
        for point in points {
            let bucket = origin + (point.start.millisecondsSince1970 - origin) / periodMilliseconds * periodMilliseconds
            if buckets[bucket] == nil { buckets[bucket] = point.aggregate } else { buckets[bucket]!.merge(point.aggregate) }
        }
        let statistic = MetricStatistic(rawValue: stat.Stat)!
        let ordered = buckets.keys.sorted(by: >)
        return MetricDataResult(
            Id: query.Id, Label: query.Label ?? stat.Metric.MetricName, Timestamps: ordered.map { Date(millisecondsSince1970: $0) },
            Values: ordered.map { buckets[$0]!.value(of: statistic) }, StatusCode: "Complete")
    }
}
