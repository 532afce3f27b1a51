// What the stdio output hooks (stdio_output_hooks.cpp) lend the close hooks.
#pragma once

#include <stdio.h>

namespace shim {

// Before glibc flushes `f` (fclose, pclose): parks the greenlet, if it may,
// until the descriptor has room for the output the stream holds. False when
// that wait failed as glibc's write would have (errno and the stream's error
// flag are set).
bool room_to_flush(FILE* f);

}  // namespace shim
