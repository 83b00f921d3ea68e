#ifndef C_FUZZER_DRIVER_H
#define C_FUZZER_DRIVER_H

/// Runs libFuzzer's driver on this process's arguments with the executable's
/// `LLVMFuzzerTestOneInput`, and returns its exit status.
///
/// SwiftPM links every Swift executable target with `main` defined as `<target>_main` (so that
/// tests can link the target), which hides libFuzzer's own `main`; each fuzz target therefore
/// defines `<target>_main` and calls this.
int fuzzer_driver_main(int argc, char **argv);

#endif
