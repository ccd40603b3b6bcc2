#ifndef PARLEY_CLIBFUZZER_H
#define PARLEY_CLIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt, linked by `-sanitize=fuzzer`): runs the fuzzing loop on `callback` with the command
/// line's options. The fuzz targets call it from their own `main`, because SwiftPM links every executable target's
/// `main` to `<module>_main`, which would otherwise leave libFuzzer's `main` out.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
