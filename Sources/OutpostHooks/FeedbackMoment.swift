/// A moment in an alarm's life that the herder is told about, through the hooks an integrator
/// configures for it (an LED, a buzzer, a status file).
///
/// The raw values are the names used in the configuration and in `OUTPOST_MOMENT`.
public enum FeedbackMoment: String, Sendable, Hashable, CaseIterable {
  /// The box wrote the alarm to its journal (durably: it survives power loss from now on).
  case recorded
  /// The station stored the alarm and acknowledged it.
  case delivered
  /// An officer at the post acknowledged the incident.
  case acknowledged
  /// The alarm was cancelled on the box.
  case cancelled
}
