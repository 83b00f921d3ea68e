import OutpostConfig
import OutpostTestKit
import Testing

@Suite("TOML")
struct TOMLTests {
  @Test("The shipped agent configuration reads, every key where the file puts it")
  func shippedConfiguration() throws {
    // <repository>/Tests/OutpostConfigTests/TOMLTests.swift
    let parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    let repository = parts.dropLast(3).joined(separator: "/")
    let text = try FileBytes.readText(repository + "/Config/agent.toml")
    let document = try TOML.parse(text)
    guard case .table(let journal)? = document["journal"] else {
      Issue.record("no [journal] table in Config/agent.toml")
      return
    }
    #expect(journal["path"] != nil)
  }

  @Test("Values of every kind, tables, dotted keys, arrays of tables and inline tables")
  func everyKind() throws {
    let document = try TOML.parse(
      #"""
      # A comment
      title = "Outpost \"box\" \u00E9\t"   # trailing comment
      literal = 'C:\no\escapes'
      multi = """
      first
      second \
        joined"""
      raw = '''
      keeps \n as is'''
      answer = 42
      big = 9_223_372_036_854_775_807
      small = -9_223_372_036_854_775_808
      hex = 0xDEAD_beef
      octal = 0o755
      binary = 0b1010
      ratio = 6.25e-1
      negative = -0.5
      infinite = -inf
      yes = true
      no = false
      list = [ 1, 2,
        3, # three
      ]
      nested = [[1, 2], ["a"]]
      point = { lat = 47.9, lon = 106.9, name = "yurt" }
      site.name = "Dorj"
      site.gacha = "Bayan"

      [journal]
      path = "/var/lib/outpost/journal"
      size = 16_777_216

      [[sources.button]]
      device = "/dev/input/by-id/usb-help-event-kbd"
      key = "KEY_F1"

      [[sources.button]]
      device = "gpiochip0"
      line = 17

      [sources.gps]
      nmea = "/dev/ttyUSB0"
      """#)
    #expect(document["title"] == .string("Outpost \"box\" é\t"))
    #expect(document["literal"] == .string(#"C:\no\escapes"#))
    #expect(document["multi"] == .string("first\nsecond joined"))
    #expect(document["raw"] == .string(#"keeps \n as is"#))
    #expect(document["answer"] == .integer(42))
    #expect(document["big"] == .integer(.max))
    #expect(document["small"] == .integer(.min))
    #expect(document["hex"] == .integer(0xDEAD_BEEF))
    #expect(document["octal"] == .integer(0o755))
    #expect(document["binary"] == .integer(10))
    #expect(document["ratio"] == .float(0.625))
    #expect(document["negative"] == .float(-0.5))
    #expect(document["infinite"] == .float(-.infinity))
    #expect(document["yes"] == .boolean(true))
    #expect(document["no"] == .boolean(false))
    #expect(document["list"] == .array([.integer(1), .integer(2), .integer(3)]))
    #expect(
      document["nested"] == .array([.array([.integer(1), .integer(2)]), .array([.string("a")])]))
    guard case .table(let point)? = document["point"], case .table(let site)? = document["site"],
      case .table(let journal)? = document["journal"],
      case .table(let sources)? = document["sources"],
      case .array(let buttons)? = sources["button"], case .table(let gps)? = sources["gps"]
    else {
      Issue.record("tables missing: \(document.keys)")
      return
    }
    #expect(point.keys == ["lat", "lon", "name"])
    #expect(site["gacha"] == .string("Bayan"))
    #expect(journal["size"] == .integer(16_777_216))
    #expect(journal.entry("size")?.line == 31)
    #expect(buttons.count == 2)
    guard case .table(let second) = buttons[1] else {
      Issue.record("not a table")
      return
    }
    #expect(second["line"] == .integer(17))
    #expect(second.entry("line")?.line == 39)
    #expect(gps["nmea"] == .string("/dev/ttyUSB0"))
  }

  @Test("Errors name the line, the column and what was wrong")
  func errors() {
    func error(_ text: String) -> String {
      do {
        _ = try TOML.parse(text)
        return "no error"
      } catch {
        return error.description
      }
    }
    #expect(error("a = 1\na = 2") == "line 2, column 1: key a is defined twice")
    #expect(error("[t]\nx = 1\n[t]") == "line 3, column 1: table [t] is defined twice")
    #expect(error("x = \"open") == "line 1, column 10: the string is not closed before the end")
    #expect(error("x = 1 2") == "line 1, column 7: expected the end of the line, found \"2\"")
    #expect(error("x = 08") == "line 1, column 5: \"08\" is not a valid number")
    #expect(error("x = 1__0") == "line 1, column 5: \"1__0\" is not a valid number")
    #expect(
      error("x = 9223372036854775808")
        == "line 1, column 5: \"9223372036854775808\" is not a valid number")
    #expect(
      error("when = 2026-11-22")
        == "line 1, column 8: dates and times are not used in this configuration (\"2026-11-22\")")
    #expect(
      error("x = [1, 2")
        == "line 1, column 10: expected , or ] in the array, found the end of the file")
    #expect(error("x = \"\\q\"") == "line 1, column 7: unknown escape \\q")
    #expect(error("x = 1\n[x]") == "line 2, column 1: [x] names a key that already has a value")
    #expect(
      error("p = { a = 1 }\n[p]") == "line 2, column 1: [p] names a key that already has a value")
    #expect(error("= 1") == "line 1, column 1: expected a key, found \"=\"")
    #expect(error("x") == "line 1, column 2: expected = after the key x")
    #expect(
      error("x = tru")
        == "line 1, column 5: expected a value (true, false, a number, a string, [ or {)")
  }
}
