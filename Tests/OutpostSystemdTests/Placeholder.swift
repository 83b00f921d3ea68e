import Testing

@Test func placeholderOutpostSystemdTests() {}
