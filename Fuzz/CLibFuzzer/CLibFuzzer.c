// Declarations only: see include/CLibFuzzer.h. libFuzzer itself comes from the toolchain under `-sanitize=fuzzer`.
#include "CLibFuzzer.h"
