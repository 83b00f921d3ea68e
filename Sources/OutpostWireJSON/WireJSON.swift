import FoundationEssentials

/// One JSON object per line, in and out, for `outpostctl wire` and the golden vectors.
public enum WireJSON {
  /// `value` as one line of JSON, members sorted by name, absent ones left out.
  public static func line(_ value: some Encodable) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    // Our JSON types hold only integers, strings, booleans and arrays of them: they encode.
    let data = try! encoder.encode(value)
    return String(decoding: data, as: UTF8.self)
  }

  /// Parses one JSON object of type `T`.
  ///
  /// - Throws: ``JSONInputError`` saying which member is missing or has the wrong type.
  public static func parse<T: Decodable>(_: T.Type, from text: String) throws(JSONInputError) -> T {
    do {
      return try JSONDecoder().decode(T.self, from: Data(text.utf8))
    } catch let DecodingError.keyNotFound(key, context) {
      throw JSONInputError(path(context.codingPath + [key]), "missing")
    } catch let DecodingError.typeMismatch(_, context) {
      throw JSONInputError(path(context.codingPath), "wrong type: \(context.debugDescription)")
    } catch let DecodingError.valueNotFound(_, context) {
      throw JSONInputError(path(context.codingPath), "null where a value is needed")
    } catch let DecodingError.dataCorrupted(context) {
      throw JSONInputError(path(context.codingPath), "not valid JSON: \(context.debugDescription)")
    } catch {
      throw JSONInputError("(input)", "\(error)")
    }
  }

  private static func path(_ keys: [any CodingKey]) -> String {
    guard !keys.isEmpty else { return "(top level)" }
    return keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
  }
}
