// Build-wide switches shared by the public headers.
#pragma once

// Symbols of the runtime library that public headers (templates) call into.
#define GREEN_API __attribute__((visibility("default")))
