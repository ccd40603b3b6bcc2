import Foundation

/// A metric's identity: its name and dimensions (sorted by name), e.g. `Deliveries` with `Action=SendMessage`.
public struct MetricSeries: Sendable, Hashable, Codable {
    public var name: String
    public var dimensions: [MetricDimension]

    public init(_ name: String, _ dimensions: [MetricDimension] = []) {
        self.name = name
        self.dimensions = dimensions.sorted { $0.name < $1.name }
    }

    /// `Name=Value,Name=Value`, the stored form of the dimensions.
    public var dimensionKey: String { dimensions.map { "\($0.name)=\($0.value)" }.joined(separator: ",") }
}

public struct MetricDimension: Sendable, Hashable, Codable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// Sum, count, minimum and maximum of the samples in one period: every CloudWatch statistic derives from them.
public struct MetricAggregate: Sendable, Equatable {
    public var sum: Double
    public var sampleCount: Double
    public var minimum: Double
    public var maximum: Double

    public init(sample: Double) {
        sum = sample
        sampleCount = 1
        minimum = sample
        maximum = sample
    }

    public init(sum: Double, sampleCount: Double, minimum: Double, maximum: Double) {
        self.sum = sum
        self.sampleCount = sampleCount
        self.minimum = minimum
        self.maximum = maximum
    }

    public mutating func merge(_ other: MetricAggregate) {
        sum += other.sum
        sampleCount += other.sampleCount
        minimum = min(minimum, other.minimum)
        maximum = max(maximum, other.maximum)
    }

    public func value(of statistic: MetricStatistic) -> Double {
        switch statistic {
        case .sum: sum
        case .sampleCount: sampleCount
        case .average: sampleCount == 0 ? 0 : sum / sampleCount
        case .minimum: minimum
        case .maximum: maximum
        }
    }
}

public enum MetricStatistic: String, Sendable, CaseIterable, Codable {
    case sum = "Sum"
    case average = "Average"
    case maximum = "Maximum"
    case minimum = "Minimum"
    case sampleCount = "SampleCount"
}

/// A stored point: one series over one period starting at `start`.
public struct MetricPoint: Sendable, Equatable {
    public var series: MetricSeries
    /// Seconds: 60, 300 or 3600.
    public var period: Int
    public var start: Date
    public var aggregate: MetricAggregate

    public init(series: MetricSeries, period: Int, start: Date, aggregate: MetricAggregate) {
        self.series = series
        self.period = period
        self.start = start
        self.aggregate = aggregate
    }
}

/// The stored resolutions and how long each is kept (the seed's retention).
public enum MetricResolution {
    public static let retention: [(period: Int, keep: TimeInterval)] = [
        (60, 15 * 86_400), (300, 63 * 86_400), (3_600, 455 * 86_400),
    ]
}
