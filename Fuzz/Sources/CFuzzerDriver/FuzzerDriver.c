#include "CFuzzerDriver.h"

#include <stddef.h>
#include <stdint.h>

// Both from the executable: the first is the fuzz target's, the second is libFuzzer's
// (-sanitize=fuzzer links it).
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerRunDriver(int *argc, char ***argv,
                        int (*test_one_input)(const uint8_t *data, size_t size));

int fuzzer_driver_main(int argc, char **argv) {
  return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
}
