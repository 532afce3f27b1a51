// The definition of a symbol that the loader's RTLD_NEXT would give, found in
// the loaded objects' own symbol tables (GNU hash), without the loader's lock
// and at about a third of dlsym's cost (290 instructions a symbol against
// 1,000): the preload stub binds all its slots at every exec.
#pragma once

// Starts the search after the object that contains `self` (an address in it),
// up to libc, which was loaded at exec as every object before it. False if the
// objects cannot be found.
int green_next_symbol_init(const void* self);

// `name`'s default-version definition (else an old version's) in the first
// object after `self` that defines it, as the loader would resolve it; NULL if
// no object up to libc does, or only in a form the loader must resolve itself
// (an IFUNC, TLS): the caller then asks dlsym.
void* green_next_symbol(const char* name);
