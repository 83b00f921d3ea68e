/// The commands a client sends to gpsd.
public enum GPSDCommand {
  /// `?WATCH={"enable":true,"json":true};` and a newline: send it once after connecting to
  /// gpsd's socket. gpsd has already sent `VERSION`; it answers with `DEVICES` and `WATCH`, then
  /// streams `DEVICE`, `TPV` and `SKY` reports of every receiver as they come.
  public static let watch = "?WATCH={\"enable\":true,\"json\":true};\n"

  /// ``watch`` as the bytes to write to the socket.
  public static var watchBytes: [UInt8] { Array(watch.utf8) }
}
