import OutpostAgent

@main
enum Outpostd {
  static func main() {}
}
